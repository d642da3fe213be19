"""Render the model module (mcugen_model.h / .c) from the lowered layers.

Deterministic: the same model gives byte-identical files (no timestamps, no
dict-order or path dependence).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..detection import DetectionHead, describe
from ..ir import Graph, Tensor
from ..plan import ALIGNMENT, MemoryPlan
from ..resources import templates_dir
from ..target import PORTABLE
from .kernels import KERNELS
from .lowering import C_TYPES, ConstArray, LayerCall, c_float, c_int, lower_graph

_DTYPE_CODES = {"int8": "MCUGEN_DTYPE_INT8", "uint8": "MCUGEN_DTYPE_UINT8", "float32": "MCUGEN_DTYPE_FLOAT32",
                "int16": "MCUGEN_DTYPE_INT16", "int32": "MCUGEN_DTYPE_INT32"}
_VALUES_PER_LINE = 24


@dataclass(frozen=True)
class EdgeInfo:
    """One model input or output as the header describes it."""

    name: str
    dtype_code: str
    ctype: str
    shape: tuple[int, ...]
    nbytes: int
    scale: str
    zero_point: int
    arena_offset: int


@dataclass
class ModelModule:
    files: dict[str, str]  # file name -> text
    headers: list[str]  # runtime kernel headers the model uses
    layers: list[LayerCall]
    arrays: list[ConstArray]
    arena_bytes: int
    weights_bytes: int
    model_sha256: str
    variant: str = PORTABLE
    detection: DetectionHead | None = None


def edge_info(t: Tensor, plan: MemoryPlan) -> EdgeInfo:
    scale = c_float(t.quant.scale[0]) if t.quant else "0.0f"
    zp = t.quant.zero_point[0] if t.quant else 0
    return EdgeInfo(t.label(), _DTYPE_CODES[t.dtype], C_TYPES[t.dtype], t.shape, t.nbytes, scale, zp,
                    plan.tensor_offsets[t.index])


def _format_values(array: ConstArray) -> list[str]:
    values = array.values
    if array.group > 1:
        items = ["{%s}" % ", ".join(c_int(int(v)) for v in values[i : i + array.group])
                 for i in range(0, len(values), array.group)]
        per_line = max(1, _VALUES_PER_LINE // (array.group * 4))
    elif values.dtype.kind == "f":
        items = [c_float(float(v)) for v in values]
        per_line = 8
    elif array.ctype == "uint32_t":  # packed int8 words: four taps each, readable as bytes
        items = ["0x%08x" % v for v in values.astype(np.int64).tolist()]
        per_line = 8
    else:
        items = [str(v) for v in values.astype(np.int64).tolist()]
        if array.ctype == "int32_t":
            items = [v if v != str(-(1 << 31)) else "INT32_MIN" for v in items]
        per_line = _VALUES_PER_LINE if array.ctype in ("int8_t", "uint8_t") else 12
    return [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]


DETECT_HEADER = "mcugen_detect.h"


@dataclass(frozen=True)
class DetectionCode:
    """The detection head as mcugen_model.c holds it: its tables (in flash with the
    weights), its working buffers (RAM, outside the arena: they outlive an inference),
    one const parameter struct and the call mcugen_model_boxes() makes."""

    comment: str
    arrays: list[ConstArray]
    buffers: list[tuple[str, str, int]]  # (C type, name, count)
    params_type: str
    params: list[tuple[str, str]]  # (field, C value)
    call: str
    max_boxes: int


def _output_pointer(ctype: str, index: int) -> str:
    return f"(const {ctype} *)mcugen_model_output({index})"


_YOLO_LAYOUT_CODES = {"v5": "MCUGEN_YOLO_LAYOUT_V5", "v8": "MCUGEN_YOLO_LAYOUT_V8"}


def _flat_yolo_code(head: DetectionHead) -> DetectionCode:
    """YOLOv5/v8's flat outputs: one dequantization table, the candidates buffer for NMS."""
    arrays = [ConstArray("mcugen_detect_value_of_q", "float", head.score_table(),
                         f"YOLO {head.layout}: each int8 value's value, (q - zero point) * scale in float32")]
    buffers = [("mcugen_detect_candidate_t", "mcugen_detect_candidates", head.max_candidates)]
    x_divisor, y_divisor = head.coordinate_divisors
    params = [("layout", _YOLO_LAYOUT_CODES[head.layout]), ("num_candidates", f"{head.num_candidates}u"),
              ("num_classes", str(head.num_classes)), ("threshold_q", str(head.threshold_q())),
              ("score_threshold", c_float(head.score_threshold)), ("value_of_q", "mcugen_detect_value_of_q"),
              ("x_divisor", c_float(x_divisor)), ("y_divisor", c_float(y_divisor)),
              ("iou_threshold", c_float(head.iou_threshold)), ("max_candidates", str(head.max_candidates))]
    call = (f"mcugen_detect_yolo_flat(&mcugen_detect_params, "
            f"{_output_pointer('int8_t', head.output_indices[0])}, mcugen_detect_candidates, boxes, max_boxes)")
    return DetectionCode(describe(head), arrays, buffers, "mcugen_yolo_flat_params_t", params, call, head.max_boxes)


def detection_code(head: DetectionHead) -> DetectionCode:
    """Every constant the head's C needs, computed here at generate time."""
    if head.kind == "fomo":
        height, width = head.grid
        arrays = [ConstArray("mcugen_detect_score_of_q", "float", head.score_table(),
                             "FOMO: each int8 class score's value, (q - zero point) * scale in float32")]
        buffers = [("uint8_t", "mcugen_detect_visited", height * width),
                   ("uint16_t", "mcugen_detect_stack", height * width)]
        params = [("grid_height", str(height)), ("grid_width", str(width)), ("num_classes", str(head.num_classes)),
                  ("threshold_q", str(head.threshold_q())), ("score_of_q", "mcugen_detect_score_of_q")]
        call = (f"mcugen_detect_fomo(&mcugen_detect_params, {_output_pointer('int8_t', head.output_indices[0])}, "
                "&mcugen_detect_work, boxes, max_boxes)")
        return DetectionCode(describe(head), arrays, buffers, "mcugen_fomo_params_t", params, call, head.max_boxes)
    if head.is_flat_yolo:
        return _flat_yolo_code(head)
    if head.kind == "yolo":
        height, width = head.grid
        arrays = [ConstArray("mcugen_detect_sigmoid_of_q", "float", head.sigmoid_table(),
                             "YOLO: sigmoid of each int8 value, from float64 rounded to float32"),
                  ConstArray("mcugen_detect_exp_of_q", "float", head.exp_table(),
                             "YOLO: exp of each int8 value, from float64 rounded to float32, kept finite"),
                  ConstArray("mcugen_detect_anchor_half_sizes", "float", head.anchor_half_sizes(),
                             "YOLO: each anchor's half width and half height, in grid cells")]
        buffers = [("mcugen_detect_candidate_t", "mcugen_detect_candidates", head.max_candidates)]
        params = [("grid_height", str(height)), ("grid_width", str(width)), ("num_anchors", str(head.num_anchors)),
                  ("num_classes", str(head.num_classes)), ("threshold_q", str(head.threshold_q())),
                  ("sigmoid_of_q", "mcugen_detect_sigmoid_of_q"), ("exp_of_q", "mcugen_detect_exp_of_q"),
                  ("anchor_half_sizes", "mcugen_detect_anchor_half_sizes"),
                  ("iou_threshold", c_float(head.iou_threshold)), ("max_candidates", str(head.max_candidates))]
        call = (f"mcugen_detect_yolo(&mcugen_detect_params, {_output_pointer('int8_t', head.output_indices[0])}, "
                "mcugen_detect_candidates, boxes, max_boxes)")
        return DetectionCode(describe(head), arrays, buffers, "mcugen_yolo_params_t", params, call, head.max_boxes)
    params = [("max_detections", str(head.max_detections)), ("score_threshold", c_float(head.score_threshold))]
    rects, classes, scores, count = (_output_pointer("float", i) for i in head.output_indices)
    call = (f"mcugen_detect_ssd(&mcugen_detect_params,\n        {rects},\n        {classes},\n        {scores},"
            f"\n        {count},\n        boxes, max_boxes)")
    return DetectionCode(describe(head), [], [], "mcugen_ssd_params_t", params, call, head.max_boxes)


def c_comment(text: str) -> str:
    return text.replace("*/", "* /")


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["c_comment"] = c_comment
    env.filters["format_values"] = _format_values
    return env


def render_model_module(graph: Graph, plan: MemoryPlan, model_bytes: bytes, model_name: str,
                        variant: str = PORTABLE, config_header: str | None = None,
                        detection: DetectionHead | None = None) -> ModelModule:
    """config_header: a header mcugen_model.c includes first (a library export's place for
    the user's placement macros, for build systems that cannot pass -D flags).
    detection: the head mcugen_model_boxes() runs after an inference (None: it returns 0)."""
    layers, ctx = lower_graph(graph, plan, variant)
    graph = plan.graph  # in the order the program runs
    structs = list({layer.params_name: layer for layer in layers if layer.kernel}.values())
    sha = hashlib.sha256(model_bytes).hexdigest()
    headers = sorted({layer.header for layer in layers if layer.header})
    detect = detection_code(detection) if detection is not None else None
    arrays = list(ctx.arrays)
    if detect is not None:
        headers = sorted({*headers, DETECT_HEADER})
        arrays += detect.arrays  # flash, like the weights: the fit check and the build count them
    weights_bytes = sum(a.nbytes for a in arrays)
    env = template_environment()
    values = dict(
        version=__version__,
        model_name=model_name,
        model_sha256=sha,
        description=graph.description,
        arena_bytes=max(plan.arena_bytes, ALIGNMENT),
        planned_arena_bytes=plan.arena_bytes,
        alignment=ALIGNMENT,
        inputs=[edge_info(t, plan) for t in graph.input_tensors()],
        outputs=[edge_info(t, plan) for t in graph.output_tensors()],
        layers=layers,
        structs=structs,
        layer_ops=[op.op for op in graph.operators],
        arrays=arrays,
        headers=headers,
        detect=detect,
        weights_bytes=weights_bytes,
        variant=variant,
        config_header=config_header,
        kernel_variants=sorted({layer.spec.variant for layer in layers if layer.spec}),
    )
    files = {
        "mcugen_model.h": env.get_template("model/mcugen_model.h.j2").render(**values),
        "mcugen_model.c": env.get_template("model/mcugen_model.c.j2").render(**values),
    }
    return ModelModule(files, headers, layers, arrays, plan.arena_bytes, weights_bytes, sha, variant, detection)


def runtime_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "runtime"


def runtime_files(headers: list[str]) -> dict[str, str]:
    """The portable C runtime a model needs, copied as is: the shared header plus
    each kernel's header and source (mcugen_model.c includes exactly these)."""
    names = ["mcugen_common.h"]
    needs = {h for spec in KERNELS.values() if spec.header in headers for h in spec.needs}
    names += sorted(needs)
    for header in headers:
        names += [header, header[: -len(".h")] + ".c"]
    root = runtime_dir()
    files = {name: (root / name).read_text() for name in names if (root / name).exists()}
    # Header-only helper shared by several kernels (softmax, logistic): copied when one includes it.
    if any('#include "fixedpoint.h"' in text for text in files.values()):
        files["fixedpoint.h"] = (root / "fixedpoint.h").read_text()
    return files
