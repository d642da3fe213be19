"""The output shape each op must have, given its inputs and options.

TFLite Micro takes the shapes written in the model on trust: a convolution whose
output tensor is larger than its input allows runs off the end of its buffers. The
verifier (mcugen.model_verify) compares every output with what these rules give,
so a model whose shapes disagree is refused before anything is planned.

Each rule returns the shape, or a string saying why the operands cannot be right
(a rank TFLite's kernel refuses too), or None when it cannot tell (a non-constant
parameter, say): the lowering then decides with its own message.
"""

from __future__ import annotations

from .ir import Graph, Operator, Tensor

Shape = tuple[int, ...]
Rule = Shape | str | None


def _input(graph: Graph, op: Operator, pos: int) -> Tensor | None:
    if pos >= len(op.inputs) or op.inputs[pos] < 0:
        return None
    return graph.tensor(op.inputs[pos])


def c_div(a: int, b: int) -> int:
    """C's integer division, which truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def tflm_out_size(padding: str, image: int, filter_size: int, stride: int, dilation: int) -> int | None:
    """TFLM's ComputeOutSizeChecked (GetWindowedOutputSize); None where it fails."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        value = c_div(image + stride - 1, stride)
    else:
        value = c_div(image + stride - effective, stride)
    return None if value < 0 else value


def _options_int(op: Operator, *names: str) -> list[int]:
    return [int(op.options.get(name, 1)) for name in names]


def _window_output(op: Operator, inp: Tensor, window: tuple[int, int], strides: tuple[int, int],
                   dilations: tuple[int, int]) -> tuple[int, int] | None:
    """Rows and columns a window of ``window`` makes of a 4-D input."""
    padding = op.options.get("padding")
    if padding not in ("SAME", "VALID") or min(strides + dilations + window) < 1:
        return None
    rows = tflm_out_size(padding, inp.shape[1], window[0], strides[0], dilations[0])
    cols = tflm_out_size(padding, inp.shape[2], window[1], strides[1], dilations[1])
    return None if rows is None or cols is None else (rows, cols)


def _rank(t: Tensor, rank: int, role: str) -> str | None:
    return None if len(t.shape) == rank else f"its {role} must be {rank}-D, not {list(t.shape)}"


def _conv_window(graph: Graph, op: Operator) -> tuple[Tensor, Tensor, tuple[int, int]] | str | None:
    inp, filt = _input(graph, op, 0), _input(graph, op, 1)
    if inp is None or filt is None:
        return None
    wrong = _rank(inp, 4, "input") or _rank(filt, 4, "filter")
    if wrong:
        return wrong
    sh, sw, dh, dw = _options_int(op, "stride_h", "stride_w", "dilation_hfactor", "dilation_wfactor")
    rows_cols = _window_output(op, inp, (filt.shape[1], filt.shape[2]), (sh, sw), (dh, dw))
    return None if rows_cols is None else (inp, filt, rows_cols)


def conv_2d(graph: Graph, op: Operator) -> Rule:
    """filter [out_c, kh, kw, in_c / groups]"""
    found = _conv_window(graph, op)
    if found is None or isinstance(found, str):
        return found
    inp, filt, (rows, cols) = found
    if inp.shape[3] % filt.shape[3]:
        return f"its filter takes {filt.shape[3]} input channels, which do not divide the input's {inp.shape[3]}"
    groups = inp.shape[3] // filt.shape[3]
    if filt.shape[0] % groups:
        return f"its {filt.shape[0]} filters do not split into {groups} groups (input channels / filter channels)"
    return (inp.shape[0], rows, cols, filt.shape[0])


def depthwise_conv_2d(graph: Graph, op: Operator) -> Rule:
    """filter [1, kh, kw, in_c * depth_multiplier]"""
    found = _conv_window(graph, op)
    if found is None or isinstance(found, str):
        return found
    inp, filt, (rows, cols) = found
    if filt.shape[3] % inp.shape[3]:
        return f"its filter has {filt.shape[3]} channels, not a multiple of the input's {inp.shape[3]}"
    return (inp.shape[0], rows, cols, filt.shape[3])


def pool_2d(graph: Graph, op: Operator) -> Rule:
    inp = _input(graph, op, 0)
    if inp is None:
        return None
    if len(inp.shape) != 4:
        return _rank(inp, 4, "input")
    fh, fw, sh, sw = _options_int(op, "filter_height", "filter_width", "stride_h", "stride_w")
    rows_cols = _window_output(op, inp, (fh, fw), (sh, sw), (1, 1))
    return None if rows_cols is None else (inp.shape[0], *rows_cols, inp.shape[3])


def fully_connected(graph: Graph, op: Operator) -> Rule:
    inp, weights = _input(graph, op, 0), _input(graph, op, 1)
    if inp is None or weights is None:
        return None
    if len(weights.shape) != 2:
        return _rank(weights, 2, "weights")
    units, depth = weights.shape
    if inp.num_elements % depth:
        return f"its input {list(inp.shape)} is not a whole number of rows of {depth}"
    if op.options.get("keep_num_dims", False):
        return inp.shape[:-1] + (units,) if inp.shape and inp.shape[-1] == depth else None
    return (inp.num_elements // depth, units)


def same_as_input(graph: Graph, op: Operator) -> Shape | None:
    inp = _input(graph, op, 0)
    return None if inp is None else inp.shape


def broadcast(graph: Graph, op: Operator) -> Shape | None:
    """Elementwise binary ops: NumPy broadcasting of the two inputs."""
    a, b = _input(graph, op, 0), _input(graph, op, 1)
    if a is None or b is None:
        return None
    rank = max(len(a.shape), len(b.shape))
    dims = []
    for x, y in zip((1,) * (rank - len(a.shape)) + a.shape, (1,) * (rank - len(b.shape)) + b.shape):
        if x != y and 1 not in (x, y):
            return None
        dims.append(max(x, y))
    return tuple(dims)


def concatenation(graph: Graph, op: Operator) -> Shape | None:
    ins = [graph.tensor(t) for t in op.inputs if t >= 0]
    if not ins:
        return None
    rank = len(ins[0].shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank or any(len(t.shape) != rank for t in ins):
        return None
    for t in ins[1:]:
        if any(t.shape[d] != ins[0].shape[d] for d in range(rank) if d != axis):
            return None
    return ins[0].shape[:axis] + (sum(t.shape[axis] for t in ins),) + ins[0].shape[axis + 1:]


def pad(graph: Graph, op: Operator) -> Shape | None:
    inp, paddings = _input(graph, op, 0), _input(graph, op, 1)
    if inp is None or paddings is None or paddings.data is None:
        return None
    if paddings.data.shape != (len(inp.shape), 2) or (paddings.data < 0).any():
        return None
    return tuple(int(d + before + after) for d, (before, after) in zip(inp.shape, paddings.data.tolist()))


def same_elements(graph: Graph, op: Operator) -> int | None:
    """RESHAPE, SQUEEZE, EXPAND_DIMS: the output holds the input's elements (a count, not a shape)."""
    inp = _input(graph, op, 0)
    return None if inp is None else inp.num_elements


def detection_postprocess_boxes(op: Operator) -> int:
    """Detections TFLite Micro's TFLite_Detection_PostProcess writes at most: one per
    kept box with regular NMS, `max_classes_per_detection` (at most num_classes) per
    box with the fast NMS."""
    o = op.options
    if o["use_regular_nms"]:
        return max(0, o["max_detections"])
    return max(0, o["max_detections"]) * max(0, min(o["max_classes_per_detection"], o["num_classes"]))


def detection_postprocess(graph: Graph, op: Operator) -> str | None:
    """Why the operands of TFLite_Detection_PostProcess cannot be right, or None.
    TFLite Micro checks the ranks only, then indexes every input by the box count and
    writes its outputs without looking at their sizes."""
    boxes, scores, anchors = (_input(graph, op, pos) for pos in range(3))
    if boxes is None or scores is None or anchors is None:
        return "it needs box encodings, class scores and anchors"
    if len(boxes.shape) != 3 or boxes.shape[0] != 1 or boxes.shape[2] < 4:
        return f"its box encodings must be [1, boxes, 4 or more], not {list(boxes.shape)}"
    num_boxes = boxes.shape[1]
    if len(scores.shape) != 3 or scores.shape[:2] != (1, num_boxes):
        return f"its class scores must be [1, {num_boxes}, classes], not {list(scores.shape)}"
    if anchors.shape != (num_boxes, 4):
        return f"its anchors must be [{num_boxes}, 4], not {list(anchors.shape)}"
    o = op.options
    if o["num_classes"] < 1 or scores.shape[2] - o["num_classes"] not in (0, 1):
        return (f"num_classes = {o['num_classes']} does not match its {scores.shape[2]} score columns "
                "(num_classes, or one more for a background class)")
    if o["max_detections"] < 0:
        return f"max_detections = {o['max_detections']} is negative"
    if not 0.0 < o["nms_iou_threshold"] <= 1.0:
        return f"nms_iou_threshold = {o['nms_iou_threshold']} is not in (0, 1]"
    if o["use_regular_nms"] and o["detections_per_class"] < 1:
        return f"detections_per_class = {o['detections_per_class']} is not positive"
    if not o["use_regular_nms"] and o["max_classes_per_detection"] < 1:
        return f"max_classes_per_detection = {o['max_classes_per_detection']} is not positive"
    if len(op.outputs) != 4:
        return "it has four outputs: boxes, classes, scores, number of detections"
    out_boxes, out_classes, out_scores, out_count = (graph.tensor(t) for t in op.outputs)
    written = detection_postprocess_boxes(op)
    slots = out_boxes.shape[1] if len(out_boxes.shape) == 3 else -1
    if out_boxes.shape != (1, slots, 4) or slots < written:
        return (f"its output boxes must be [1, {written} or more, 4] for the detections it writes, "
                f"not {list(out_boxes.shape)}")
    for role, t in (("classes", out_classes), ("scores", out_scores)):
        if t.shape != (1, slots):
            return f"its output {role} must be [1, {slots}], as its boxes, not {list(t.shape)}"
    if out_count.num_elements != 1 or len(out_count.shape) > 1:
        return f"its output number of detections must be [1], not {list(out_count.shape)}"
    for t in (out_boxes, out_classes, out_scores, out_count):
        if t.dtype != "float32":
            return f"its output {t.label()} is {t.dtype}; the op writes float32"
    return None
