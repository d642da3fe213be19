"""TFLite_Detection_PostProcess (SSD detectors' box decoding and non-max suppression),
as TFLite Micro's detection_postprocess.cc computes it, float32 in and out.

Its working memory (decoded boxes, per-box scores, the sort's index buffers) is kernel
scratch in the arena, laid out here once and sized from the layer alone: the chooser
gives the plan the size (for every kernel variant: there is one kernel), the lowering
gives the kernel the offsets. Options TFLite Micro itself gets wrong are refused."""

from __future__ import annotations

from dataclasses import dataclass

from ...ir import Graph, Operator
from ...op_shapes import detection_postprocess_boxes
from ...ops import DETECTION_POSTPROCESS
from ...target import PORTABLE
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_float, c_int, chooses, lowers, shape_text

_ALIGN = 16  # every buffer of the scratch block starts on a 16-byte boundary
# The kernel's buffers, in the order mcugen_detection_scratch_t declares them.
_BUFFERS = ("decoded_boxes", "box_scores", "candidates", "sort_buffer", "active", "selected", "class_order",
            "merged_indices", "merged_scores")


@dataclass(frozen=True)
class DetectionScratch:
    offsets: dict[str, int]  # buffer -> byte offset in the scratch block
    total_bytes: int


def detection_scratch(graph: Graph, op: Operator) -> DetectionScratch:
    """The kernel's buffers (detection_postprocess.h) for this layer's sizes: every box's
    corners and score, the candidates and the merge sort's second half, the active
    flags; what one suppression keeps; fast NMS's class order, regular NMS's merge."""
    o = op.options
    num_boxes = graph.tensor(op.inputs[0]).shape[1]
    regular = bool(o["use_regular_nms"])
    kept = min(num_boxes, max(0, o["detections_per_class"] if regular else o["max_detections"]))
    merged = max(0, o["max_detections"]) + kept if regular else 0
    sizes = {
        "decoded_boxes": 16 * num_boxes,
        "box_scores": 4 * num_boxes,
        "candidates": 4 * num_boxes,
        "sort_buffer": 4 * num_boxes,
        "active": num_boxes,
        "selected": 4 * kept,
        "class_order": 0 if regular else 4 * o["num_classes"],
        "merged_indices": 4 * merged,
        "merged_scores": 4 * merged,
    }
    offsets, at = {}, 0
    for name in _BUFFERS:
        offsets[name] = at
        at += (sizes[name] + _ALIGN - 1) // _ALIGN * _ALIGN
    return DetectionScratch(offsets, at)


@chooses(DETECTION_POSTPROCESS, portable=True)
def choose_detection_postprocess(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """One kernel for every variant; its scratch is its working memory."""
    if op.op != DETECTION_POSTPROCESS or len(op.inputs) < 3 or op.inputs[0] < 0:
        return KernelChoice()
    return KernelChoice(PORTABLE, detection_scratch(graph, op).total_bytes)


@lowers(DETECTION_POSTPROCESS)
def lower_detection_postprocess(ctx: LoweringContext, op: Operator) -> LayerCall:
    o = op.options
    boxes, scores, anchors = (ctx.input(op, pos) for pos in range(3))
    outs = [ctx.output(op, pos) for pos in range(4)]
    if any(t is None or t.dtype != "float32" for t in (boxes, scores, anchors)):
        raise ctx.unsupported(op, "mcugen compiles it on float32 boxes, scores and anchors, as TFLite Micro does")
    if not anchors.is_constant:  # type: ignore[union-attr]
        raise ctx.unsupported(op, "its anchors are computed at run time; mcugen bakes them in as a constant")
    per_box = min(o["max_classes_per_detection"], o["num_classes"])
    if not o["use_regular_nms"] and per_box > 1:
        # TFLM's fast NMS advances its output slot inside the loop over a box's
        # classes and again by the class count: with two or more it writes over
        # slots it filled and past the end of its outputs (measured: the scores
        # output then holds box corners).
        raise ctx.unsupported(op, f"max_classes_per_detection = {o['max_classes_per_detection']} with the fast NMS: "
                                  "TensorFlow Lite Micro's kernel writes past its outputs then",
                              "export with max_classes_per_detection=1, or use_regular_nms=true")
    if (anchors.data[:, 2:] <= 0).any():  # type: ignore[union-attr]
        raise ctx.unsupported(op, "an anchor has a height or width that is not positive, which makes TFLite Micro "
                                  "fail every inference (its boxes would be empty)")
    num_boxes = boxes.shape[1]  # type: ignore[union-attr]
    score_stride = scores.shape[2]  # type: ignore[union-attr]
    scratch = detection_scratch(ctx.graph, op)
    layout = ", ".join(f".{name} = {c_int(offset)}" for name, offset in scratch.offsets.items())
    scale = "{.y = %s, .x = %s, .h = %s, .w = %s}" % tuple(c_float(o[k]) for k in
                                                             ("y_scale", "x_scale", "h_scale", "w_scale"))
    params = [
        ("num_boxes", c_int(num_boxes)),
        ("box_stride", c_int(boxes.shape[2])),  # type: ignore[union-attr]
        ("num_classes", c_int(o["num_classes"])),
        ("score_stride", c_int(score_stride)),
        ("label_offset", c_int(score_stride - o["num_classes"])),
        ("max_detections", c_int(o["max_detections"])),
        ("classes_per_detection", c_int(per_box)),
        ("detections_per_class", c_int(o["detections_per_class"])),
        ("use_regular_nms", c_int(int(o["use_regular_nms"]))),
        ("output_slots", c_int(outs[0].shape[1])),
        ("score_threshold", c_float(o["nms_score_threshold"])),
        ("iou_threshold", c_float(o["nms_iou_threshold"])),
        ("scale", scale),
        ("scratch", "{%s}" % layout),
    ]
    args = [ctx.ptr(boxes, const=True), ctx.ptr(scores, const=True),  # type: ignore[arg-type]
            ctx.const_tensor(anchors)] + [ctx.ptr(t) for t in outs] + [ctx.scratch("uint8_t")]  # type: ignore[arg-type]
    nms = "regular" if o["use_regular_nms"] else "fast"
    comment = (f"TFLite_Detection_PostProcess {num_boxes} boxes x {o['num_classes']} classes "
               f"({score_stride} score columns), {nms} NMS, up to {detection_postprocess_boxes(op)} detections, "
               f"score >= {o['nms_score_threshold']:.6g}, IoU > {o['nms_iou_threshold']:.6g} -> boxes "
               f"{shape_text(outs[0])}, {scratch.total_bytes} B scratch")
    return LayerCall.of(KERNELS["mcugen_detection_postprocess_f32"], op.index, op.op, comment, params, args)
