"""Detection heads: a detector's raw output tensors -> boxes, in Python and (as emitted
tables and parameter structs) in the generated C, with the same float32 results.

Three heads, chosen with `mcugen generate --detect`:

    fomo  Edge Impulse's FOMO: a [1,H,W,1+C] int8 heat map (softmax over background and
          C classes). Per class, the cells whose score reaches the threshold are grouped
          into 8-connected blobs; each blob is one box: its cells' bounding rectangle, its
          score the best cell's (Edge Impulse's SDK keeps the maximum too; its running
          merge of touching rectangles joins what 8-connectivity joins, except where its
          rectangles grow past the blob). No NMS: blobs of a class never share a cell.
    yolo  one of three layouts (`--yolo-layout`), then greedy per-class NMS:
          grid  YOLOv2-style, as OpenMV decodes yolo_lc_192 (ST's st_yolo_lc_v1): a
                [1,S,S,A*(5+C)] int8 tensor, per cell and anchor (tx, ty, tw, th,
                objectness, C class logits). centre = (cell + sigmoid(t)) / S, size =
                anchor * exp(t) / S (anchors in grid cells), score = sigmoid(objectness),
                class = the largest logit (softmax does not change which).
          v5    Ultralytics YOLOv5's export: [1,N,5+C], per candidate (cx, cy, w, h,
                objectness, C class scores), already decoded (sigmoid applied). As its
                non_max_suppression: a candidate needs objectness >= the threshold, then
                score = objectness * best class score >= the threshold.
          v8    Ultralytics YOLOv8/YOLO11's export: [1,4+C,N] (transposed, no objectness):
                (cx, cy, w, h, C class scores); score = the best class score.
          Which flat layout a [1,A,B] output has: N candidates outnumber the values each
          has (thousands against 5+C in real exports), so A > B is v5 and B > A is v8;
          A == B is refused (give --yolo-layout). A rank-4 output is the grid.
          Flat boxes are in fractions of the image when the output's range stays within
          0..2 (Ultralytics' TFLite exports divide xywh by the image size, so one int8
          scale serves boxes and scores); beyond that (an ONNX export's pixels) they are
          divided by the model input's width and height.
    ssd   a model ending in TFLITE_Detection_PostProcess: its float32 boxes (ymin, xmin,
          ymax, xmax), classes, scores and count become boxes above the threshold.

Exactness: every transcendental is a 256-entry float32 table indexed by the int8 value,
computed here at generate time; thresholds are compared in the int8 domain (the v5
product, the one score made of two values, in float32); the C is compiled without
contraction (mcugen_detect.c) and does the same float32 operations in the same order as
decode() below, which uses numpy float32 scalars for each one.
Boxes come best score first; equal scores keep the order the candidates were made in
(fomo: class, then cell in row-major order; grid: cell in row-major order, then anchor;
v5/v8: candidate index), in C as here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from .errors import McugenError
from .ir import Graph, Tensor

KINDS = ("ssd", "fomo", "yolo")
CHOICES = ("auto", "none", *KINDS)
SSD_OP = "CUSTOM:TFLite_Detection_PostProcess"
DEFAULT_SCORE_THRESHOLD = 0.5
DEFAULT_IOU_THRESHOLD = 0.5
DEFAULT_MAX_BOXES = 10
LIMIT_MAX_BOXES = 1000
# YOLO keeps at most this many candidates (best first) for NMS: a bounded buffer in RAM.
DEFAULT_MAX_CANDIDATES = 256
_YOLO_FIELDS = 5  # tx, ty, tw, th, objectness before the class logits
YOLO_LAYOUTS = ("grid", "v5", "v8")
# Values before the class scores in one flat candidate: cx, cy, w, h (and v5's objectness).
_FLAT_FIELDS = {"v5": 5, "v8": 4}
_FLAT_SHAPES = {"v5": "[1,N,5+C]", "v8": "[1,4+C,N]"}
# A flat output whose largest value is above this holds its boxes in input pixels, not
# in fractions of the image (whose xywh, like the scores, stay within about 0..1).
_NORMALISED_LIMIT = 2.0

F32 = np.float32
_ZERO = F32(0.0)
_ONE = F32(1.0)


class DetectionError(McugenError):
    """The detection head asked for does not fit the model, or its options are out of range."""


@dataclass(frozen=True)
class Box:
    """One detection: what every head returns."""

    class_id: int  # index into the model's classes, background excluded
    score: float  # 0..1
    x: float  # top-left corner and size, as fractions (0..1) of the model's input image
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class DetectRequest:
    """The user's choice (`mcugen generate --detect ...`); None takes the default."""

    kind: str = "auto"
    score_threshold: float | None = None
    iou_threshold: float | None = None
    max_boxes: int | None = None
    anchors: tuple[float, ...] | None = None  # yolo grid: w,h pairs in grid cells
    yolo_layout: str | None = None  # yolo: "grid", "v5" or "v8"; None: from the output's shape


@dataclass(frozen=True)
class DetectionHead:
    """How a model's outputs become boxes. Everything the C needs is derived from these fields."""

    kind: str  # "ssd" | "fomo" | "yolo"
    num_classes: int
    score_threshold: float
    iou_threshold: float
    max_boxes: int
    output_indices: tuple[int, ...]  # model outputs read (ssd: boxes, classes, scores, count)
    grid: tuple[int, int] = (0, 0)  # fomo/yolo: output rows, columns
    anchors: tuple[float, ...] = ()  # yolo: w,h pairs in grid cells
    scale: float = 0.0  # fomo/yolo: the output's quantization
    zero_point: int = 0
    max_candidates: int = 0  # yolo: candidates kept for NMS
    max_detections: int = 0  # ssd: the op's rows
    # yolo: "grid" (the default, so a head recorded before the flat layouts reads as one), "v5", "v8"
    layout: str = "grid"
    num_candidates: int = 0  # yolo v5/v8: N, the output's candidates
    # yolo v5/v8: what box x and y are divided by to be fractions of the image: 1 when the
    # output's boxes are normalised, the input's width and height when they are in pixels
    coordinate_divisors: tuple[float, float] = (1.0, 1.0)

    @property
    def num_anchors(self) -> int:
        return len(self.anchors) // 2

    @property
    def is_flat_yolo(self) -> bool:
        return self.kind == "yolo" and self.layout in _FLAT_FIELDS

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_indices"] = list(self.output_indices)
        d["grid"] = list(self.grid)
        d["anchors"] = list(self.anchors)
        d["coordinate_divisors"] = list(self.coordinate_divisors)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DetectionHead":
        try:
            return cls(kind=str(d["kind"]), num_classes=int(d["num_classes"]),
                       score_threshold=float(d["score_threshold"]), iou_threshold=float(d["iou_threshold"]),
                       max_boxes=int(d["max_boxes"]), output_indices=tuple(int(i) for i in d["output_indices"]),
                       grid=tuple(int(v) for v in d.get("grid", (0, 0))),  # type: ignore[arg-type]
                       anchors=tuple(float(v) for v in d.get("anchors", ())), scale=float(d.get("scale", 0.0)),
                       zero_point=int(d.get("zero_point", 0)), max_candidates=int(d.get("max_candidates", 0)),
                       max_detections=int(d.get("max_detections", 0)), layout=str(d.get("layout", "grid")),
                       num_candidates=int(d.get("num_candidates", 0)),
                       coordinate_divisors=tuple(float(v) for v in  # type: ignore[arg-type]
                                                 d.get("coordinate_divisors", (1.0, 1.0))))
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectionError(f"the detection head in the project's metadata is malformed ({exc})",
                                 "regenerate the project with mcugen generate") from None

    # ---- the tables the C reads (float32, 256 entries: index = int8 value + 128) ----

    def _real_values(self) -> np.ndarray:
        q = np.arange(-128, 128, dtype=np.int32)
        return (q - self.zero_point).astype(np.float64) * self.scale

    def score_table(self) -> np.ndarray:
        """fomo, yolo v5/v8: each int8 value's real value, dequantized in float32 as Edge
        Impulse (and OpenMV's Ultralytics decoder) do: float(q - zero_point) * scale."""
        q = np.arange(-128, 128, dtype=np.int32)
        return (q - self.zero_point).astype(F32) * F32(self.scale)

    def sigmoid_table(self) -> np.ndarray:
        """yolo: sigmoid of each int8 value, in float64 then rounded once to float32."""
        return (1.0 / (1.0 + np.exp(-self._real_values()))).astype(F32)

    def exp_table(self) -> np.ndarray:
        """yolo: exp of each int8 value, rounded to float32 and kept finite."""
        with np.errstate(over="ignore"):
            values = np.exp(self._real_values())
        return np.minimum(values, float(np.finfo(F32).max)).astype(F32)

    def anchor_half_sizes(self) -> np.ndarray:
        """yolo: each anchor's half width and half height (exact halves in float32), so the
        C computes a half size as one product and one division, nothing to fuse."""
        return (np.asarray(self.anchors, dtype=F32) * F32(0.5)).astype(F32)

    def threshold_q(self) -> int:
        """The smallest int8 value whose score (fomo, yolo v8: the best class score) or
        objectness (yolo grid, v5) reaches the threshold; 128 when none does. The tables
        rise with q, so comparing the int8 value with this is comparing the float32 score
        with the threshold."""
        flat = self.kind == "fomo" or self.is_flat_yolo
        table = self.score_table() if flat else self.sigmoid_table()
        hits = np.nonzero(table >= F32(self.score_threshold))[0]
        return int(hits[0]) - 128 if len(hits) else 128


# ---- choosing a head for a model ----

def _check_options(request: DetectRequest) -> tuple[float, float, int]:
    score = DEFAULT_SCORE_THRESHOLD if request.score_threshold is None else float(request.score_threshold)
    iou = DEFAULT_IOU_THRESHOLD if request.iou_threshold is None else float(request.iou_threshold)
    boxes = DEFAULT_MAX_BOXES if request.max_boxes is None else int(request.max_boxes)
    if not 0.0 <= score <= 1.0 or not np.isfinite(score):
        raise DetectionError(f"--score-threshold {score:g} is outside 0..1", "give a score between 0 and 1")
    if not 0.0 <= iou <= 1.0 or not np.isfinite(iou):
        raise DetectionError(f"--iou-threshold {iou:g} is outside 0..1", "give an overlap between 0 and 1")
    if not 1 <= boxes <= LIMIT_MAX_BOXES:
        raise DetectionError(f"--max-boxes {boxes} is outside 1..{LIMIT_MAX_BOXES}",
                             f"give a count from 1 to {LIMIT_MAX_BOXES}")
    return score, iou, boxes


def _shape(t: Tensor) -> str:
    return "[" + ",".join(map(str, t.shape)) + f"] {t.dtype}"


def _outputs_text(graph: Graph) -> str:
    return ", ".join(_shape(t) for t in graph.output_tensors()) or "none"


def _int8_output(graph: Graph, ranks: tuple[int, ...]) -> tuple[int, Tensor] | None:
    """The first model output of one of these ranks, batch 1, int8 quantized per tensor."""
    for i, t in enumerate(graph.output_tensors()):
        if len(t.shape) in ranks and t.shape[0] == 1 and t.dtype == "int8" and t.quant is not None \
                and not t.quant.per_channel:
            return i, t
    return None


def _grid_output(graph: Graph, kind: str, layout: str) -> tuple[int, Tensor]:
    """The model output a grid head reads: the first int8 [1,H,W,C] one, quantized per tensor."""
    found = _int8_output(graph, (4,))
    if found is not None:
        return found
    raise DetectionError(f"--detect {kind} needs an int8 output laid out {layout}; this model's outputs are "
                         f"{_outputs_text(graph)}", "use --detect none, or the kind of head the model has")


def _ssd_op(graph: Graph):
    return next((op for op in graph.operators if op.op == SSD_OP), None)


def _yolo_layout(graph: Graph, asked: str | None) -> str:
    """The layout asked for, or the one the output's shape shows: a rank-4 output is the
    grid; a flat [1,A,B] one is v5 when A > B and v8 when B > A, because N candidates
    outnumber the 5+C (v5) or 4+C (v8) values each has; A == B could be either."""
    if asked is not None:
        if asked not in YOLO_LAYOUTS:
            raise DetectionError(f"unknown --yolo-layout '{asked}'", f"choose one of: {', '.join(YOLO_LAYOUTS)}")
        return asked
    found = _int8_output(graph, (3, 4))
    if found is None:
        raise DetectionError("--detect yolo needs an int8 output laid out [1,S,S,A*(5+C)] (grid), [1,N,5+C] (v5) "
                             f"or [1,4+C,N] (v8); this model's outputs are {_outputs_text(graph)}",
                             "use --detect none, or the kind of head the model has")
    t = found[1]
    if len(t.shape) == 4:
        return "grid"
    _, rows, cols = t.shape
    if rows == cols:
        raise DetectionError(f"output {_shape(t)} is square, so it could be YOLOv5's [1,N,5+C] or YOLOv8's "
                             "[1,4+C,N]", "give --yolo-layout v5 or --yolo-layout v8")
    return "v5" if rows > cols else "v8"


def _grid_yolo_head(graph: Graph, request: DetectRequest, score: float, iou: float,
                    max_boxes: int) -> DetectionHead:
    index, t = _grid_output(graph, "yolo", "[1,S,S,A*(5+C)] (per anchor: x, y, w, h, objectness, classes)")
    _, height, width, channels = t.shape
    anchors = request.anchors
    if not anchors:
        raise DetectionError("--detect yolo needs the anchors, which a .tflite does not record",
                             "give --anchors w,h,w,h,... in grid cells; for yolo_lc_192, the anchors "
                             "OpenMV's yolo_lc_postprocess uses")
    if len(anchors) % 2 or not all(np.isfinite(a) and a > 0 for a in anchors):
        raise DetectionError(f"--anchors needs positive w,h pairs; got {len(anchors)} values",
                             "give --anchors w,h,w,h,... in grid cells")
    num_anchors = len(anchors) // 2
    if channels % num_anchors or channels // num_anchors - _YOLO_FIELDS < 1:
        raise DetectionError(f"output {_shape(t)} does not split into {num_anchors} anchors of "
                             f"5 + classes values", "check --anchors (one w,h pair per anchor)")
    cells = height * width * num_anchors
    return DetectionHead("yolo", channels // num_anchors - _YOLO_FIELDS, score, iou, max_boxes, (index,),
                         (height, width), tuple(float(a) for a in anchors), float(t.quant.scale[0]),
                         int(t.quant.zero_point[0]), max_candidates=min(cells, DEFAULT_MAX_CANDIDATES))


def _coordinate_divisors(graph: Graph, t: Tensor) -> tuple[float, float]:
    """(1, 1) for boxes in fractions of the image; the input's (width, height) for boxes in
    pixels, told apart by the output's range (see _NORMALISED_LIMIT)."""
    largest = (127 - int(t.quant.zero_point[0])) * float(t.quant.scale[0])
    if largest <= _NORMALISED_LIMIT:
        return (1.0, 1.0)
    inputs = graph.input_tensors()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise DetectionError(f"output {_shape(t)} reaches {largest:g}, so its boxes are in pixels, but the model's "
                             f"input ({_shape(inputs[0]) if inputs else 'none'}) is not one [1,H,W,C] image to "
                             "divide them by", "export the model with boxes normalised to 0..1 (Ultralytics' "
                             "TFLite export does)")
    _, height, width, _ = inputs[0].shape
    return (float(width), float(height))


def _flat_yolo_head(graph: Graph, request: DetectRequest, layout: str, score: float, iou: float,
                    max_boxes: int) -> DetectionHead:
    shape = _FLAT_SHAPES[layout]
    if request.anchors is not None:
        raise DetectionError(f"--anchors is for --yolo-layout grid; a {layout} output {shape} holds decoded "
                             "boxes", "leave --anchors out")
    found = _int8_output(graph, (3,))
    if found is None:
        raise DetectionError(f"--yolo-layout {layout} needs an int8 output laid out {shape}; this model's outputs "
                             f"are {_outputs_text(graph)}", "check --yolo-layout, or use --detect none")
    index, t = found
    _, rows, cols = t.shape
    candidates, values = (rows, cols) if layout == "v5" else (cols, rows)
    classes = values - _FLAT_FIELDS[layout]
    if classes < 1:
        raise DetectionError(f"output {_shape(t)} read as {layout} {shape} has {values} values per candidate, "
                             f"fewer than the {_FLAT_FIELDS[layout] + 1} a box and one class need",
                             "check --yolo-layout (v5: [1,N,5+C], v8: [1,4+C,N])")
    if classes > 65535:
        raise DetectionError(f"output {_shape(t)} read as {layout} has {classes} classes, more than 65535",
                             "check --yolo-layout")
    return DetectionHead("yolo", classes, score, iou, max_boxes, (index,), scale=float(t.quant.scale[0]),
                         zero_point=int(t.quant.zero_point[0]),
                         max_candidates=min(candidates, DEFAULT_MAX_CANDIDATES), layout=layout,
                         num_candidates=candidates, coordinate_divisors=_coordinate_divisors(graph, t))


def _yolo_head(graph: Graph, request: DetectRequest, score: float, iou: float, max_boxes: int) -> DetectionHead:
    layout = _yolo_layout(graph, request.yolo_layout)
    if layout == "grid":
        return _grid_yolo_head(graph, request, score, iou, max_boxes)
    return _flat_yolo_head(graph, request, layout, score, iou, max_boxes)


def detection_head(graph: Graph, request: DetectRequest | None) -> DetectionHead | None:
    """The head for this model and the user's choice; None for none. Raises DetectionError
    (one line) when the model's outputs do not fit the kind asked for."""
    request = request or DetectRequest()
    kind = request.kind
    if kind not in CHOICES:
        raise DetectionError(f"unknown detection head '{kind}'", f"choose one of: {', '.join(CHOICES)}")
    if request.anchors is not None and kind != "yolo":
        raise DetectionError(f"--anchors is for --detect yolo, not {kind}", "leave --anchors out")
    if request.yolo_layout is not None and kind != "yolo":
        raise DetectionError(f"--yolo-layout is for --detect yolo, not {kind}", "leave --yolo-layout out")
    if kind == "auto":
        if _ssd_op(graph) is None:
            return None
        try:
            return detection_head(graph, DetectRequest("ssd", request.score_threshold, request.iou_threshold,
                                                       request.max_boxes))
        except DetectionError:
            if any(v is not None for v in (request.score_threshold, request.iou_threshold, request.max_boxes)):
                raise  # the user's own options are wrong: say so
            return None  # the op's outputs are not the model's: a model mcugen returns raw tensors for
    if kind == "none":
        return None
    score, iou, max_boxes = _check_options(request)
    if kind == "fomo":
        index, t = _grid_output(graph, "fomo", "[1,H,W,1+C] (a background channel, then one per class)")
        _, height, width, channels = t.shape
        if channels < 2:
            raise DetectionError(f"--detect fomo needs a background channel and at least one class; output "
                                 f"{_shape(t)} has {channels} channel", "use --detect none")
        if height * width > 65535:
            raise DetectionError(f"FOMO heat map {height}x{width} has more than 65535 cells", "use --detect none")
        return DetectionHead("fomo", channels - 1, score, iou, max_boxes, (index,), (height, width),
                             scale=float(t.quant.scale[0]), zero_point=int(t.quant.zero_point[0]))
    if kind == "yolo":
        return _yolo_head(graph, request, score, iou, max_boxes)
    op = _ssd_op(graph)
    if op is None:
        raise DetectionError("--detect ssd needs a model ending in TFLite_Detection_PostProcess; this one has "
                             f"none (outputs {_outputs_text(graph)})", "use --detect fomo, yolo or none")
    positions = {tensor: i for i, tensor in enumerate(graph.outputs)}
    if len(op.outputs) != 4 or any(o not in positions for o in op.outputs):
        raise DetectionError("the model's TFLite_Detection_PostProcess outputs are not all model outputs",
                             "use --detect none")
    boxes_t, classes_t, scores_t, count_t = (graph.tensor(o) for o in op.outputs)
    if any(t.dtype != "float32" for t in (boxes_t, classes_t, scores_t, count_t)) or boxes_t.shape[-1] != 4:
        raise DetectionError("TFLite_Detection_PostProcess's outputs are not float32 boxes [1,N,4], classes, "
                             "scores and a count", "use --detect none")
    options = dict(op.options) if isinstance(op.options, dict) else {}
    num_classes = int(options.get("num_classes", 0) or 0)
    return DetectionHead("ssd", num_classes, score, iou, max_boxes, tuple(positions[o] for o in op.outputs),
                         max_detections=int(scores_t.shape[-1]))


# ---- decoding (the exact mirror of mcugen_detect.c) ----

def _as_array(value: Any, dtype: type, count: int) -> np.ndarray:
    """A raw output as the device returns it (array of the dtype, or its bytes) -> flat array."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        array = np.frombuffer(bytes(value), dtype=dtype)
    else:
        array = np.asarray(value)
        if array.dtype != dtype:
            # uint8 bytes of an int8 tensor are reinterpreted, not converted; anything else is a value
            same_bytes = array.dtype.itemsize == np.dtype(dtype).itemsize == 1
            array = array.view(dtype) if same_bytes else array.astype(dtype)
    array = array.reshape(-1)
    if array.size != count:
        raise DetectionError(f"a detection output has {array.size} values where the head expects {count}",
                             "decode the outputs of the model the head was made for")
    return array


def _insert(ranked: list, item, score: F32, capacity: int) -> None:
    """Stable best-first insertion keeping `capacity` items: after every item of equal score
    (mcugen_detect.c's insertion does exactly this)."""
    pos = len(ranked)
    while pos > 0 and ranked[pos - 1][0] < score:
        pos -= 1
    if pos >= capacity:
        return
    ranked.insert(pos, (score, item))
    if len(ranked) > capacity:
        ranked.pop()


def _clamp01(v: F32) -> F32:
    return _ZERO if v < _ZERO else (_ONE if v > _ONE else v)


def _fomo(head: DetectionHead, heat: np.ndarray, capacity: int) -> list[Box]:
    height, width = head.grid
    channels = head.num_classes + 1
    q = heat.astype(np.int32).reshape(height, width, channels)
    table = head.score_table()
    threshold = head.threshold_q()
    ranked: list = []
    for c in range(head.num_classes):
        on = q[:, :, c + 1] >= threshold
        seen = np.zeros((height, width), dtype=bool)
        for r in range(height):
            for col in range(width):
                if not on[r, col] or seen[r, col]:
                    continue
                seen[r, col] = True
                stack = [(r, col)]
                r0, r1, c0, c1, best = r, r, col, col, q[r, col, c + 1]
                while stack:
                    y, x = stack.pop()
                    r0, r1, c0, c1 = min(r0, y), max(r1, y), min(c0, x), max(c1, x)
                    best = max(best, q[y, x, c + 1])
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            ny, nx = y + dy, x + dx
                            if 0 <= ny < height and 0 <= nx < width and on[ny, nx] and not seen[ny, nx]:
                                seen[ny, nx] = True
                                stack.append((ny, nx))
                score = table[int(best) + 128]
                box = Box(c, float(score), float(F32(c0) / F32(width)), float(F32(r0) / F32(height)),
                          float(F32(c1 + 1 - c0) / F32(width)), float(F32(r1 + 1 - r0) / F32(height)))
                _insert(ranked, box, score, capacity)
    return [box for _, box in ranked]


def _iou_exceeds(a: tuple, b: tuple, threshold: F32) -> bool:
    """a, b: (x0, y0, x1, y1, area); the same float32 steps as mcugen_detect_iou_exceeds."""
    ix0 = a[0] if a[0] > b[0] else b[0]
    iy0 = a[1] if a[1] > b[1] else b[1]
    ix1 = a[2] if a[2] < b[2] else b[2]
    iy1 = a[3] if a[3] < b[3] else b[3]
    iw = ix1 - ix0
    ih = iy1 - iy0
    if iw <= _ZERO or ih <= _ZERO:
        return False
    inter = iw * ih
    union = a[4] + b[4] - inter
    if union <= _ZERO:
        return False
    return bool(inter / union > threshold)


def _yolo(head: DetectionHead, grid: np.ndarray, capacity: int) -> list[Box]:
    height, width = head.grid
    anchors, fields = head.num_anchors, _YOLO_FIELDS + head.num_classes
    q = grid.astype(np.int32).reshape(height, width, anchors, fields)
    sig, ex, half = head.sigmoid_table(), head.exp_table(), head.anchor_half_sizes()
    threshold = head.threshold_q()
    fw, fh = F32(width), F32(height)
    ranked: list = []
    with np.errstate(over="ignore"):
        for r in range(height):
            for c in range(width):
                for a in range(anchors):
                    v = q[r, c, a]
                    if v[4] < threshold:
                        continue
                    logits = v[_YOLO_FIELDS:]
                    class_id = int(np.argmax(logits))  # the first of equal largest logits
                    score = sig[v[4] + 128]
                    cx = (F32(c) + sig[v[0] + 128]) / fw
                    cy = (F32(r) + sig[v[1] + 128]) / fh
                    hw = (half[2 * a] * ex[v[2] + 128]) / fw
                    hh = (half[2 * a + 1] * ex[v[3] + 128]) / fh
                    x0, y0 = _clamp01(cx - hw), _clamp01(cy - hh)
                    x1, y1 = _clamp01(cx + hw), _clamp01(cy + hh)
                    area = (x1 - x0) * (y1 - y0)
                    _insert(ranked, (x0, y0, x1, y1, area, class_id), score, head.max_candidates)
    return _nms(ranked, F32(head.iou_threshold), capacity)


def _nms(ranked: list, iou: F32, capacity: int) -> list[Box]:
    """Greedy per-class NMS over (score, (x0, y0, x1, y1, area, class)) best first, as
    mcugen_detect_nms: a candidate overlapping a kept one of its class by more is dropped."""
    kept: list[tuple] = []
    boxes: list[Box] = []
    for score, cand in ranked:
        if len(boxes) >= capacity:
            break
        if any(k[5] == cand[5] and _iou_exceeds(k, cand, iou) for k in kept):
            continue
        kept.append(cand)
        boxes.append(Box(cand[5], float(score), float(cand[0]), float(cand[1]), float(cand[2] - cand[0]),
                         float(cand[3] - cand[1])))
    return boxes


def _flat_yolo(head: DetectionHead, output: np.ndarray, capacity: int) -> list[Box]:
    """v5 [1,N,5+C] / v8 [1,4+C,N]: the same steps as mcugen_detect_yolo_flat."""
    first_class = _FLAT_FIELDS[head.layout]
    fields, n = first_class + head.num_classes, head.num_candidates
    q = output.astype(np.int32).reshape(n, fields) if head.layout == "v5" else \
        output.astype(np.int32).reshape(fields, n).T
    value = head.score_table()
    threshold = head.threshold_q()
    score_threshold = F32(head.score_threshold)
    x_divisor, y_divisor = (F32(d) for d in head.coordinate_divisors)
    half = F32(0.5)
    best_classes = np.argmax(q[:, first_class:], axis=1)  # the first of equal largest class scores
    # the int8-domain test: v5's objectness, v8's best class score reach the threshold
    gate = q[:, 4] if head.layout == "v5" else q[np.arange(n), first_class + best_classes]
    ranked: list = []
    for i in np.nonzero(gate >= threshold)[0]:
        v = q[i]
        class_id = int(best_classes[i])
        score = value[v[first_class + class_id] + 128]
        if head.layout == "v5":
            score = value[v[4] + 128] * score  # Ultralytics' conf = objectness * class score
            if not score >= score_threshold:
                continue
        cx, cy = value[v[0] + 128], value[v[1] + 128]
        hw, hh = value[v[2] + 128] * half, value[v[3] + 128] * half
        x0, y0 = _clamp01((cx - hw) / x_divisor), _clamp01((cy - hh) / y_divisor)
        x1, y1 = _clamp01((cx + hw) / x_divisor), _clamp01((cy + hh) / y_divisor)
        x1 = x0 if x1 < x0 else x1  # a negative width or height (quantization noise) becomes 0
        y1 = y0 if y1 < y0 else y1
        area = (x1 - x0) * (y1 - y0)
        _insert(ranked, (x0, y0, x1, y1, area, class_id), score, head.max_candidates)
    return _nms(ranked, F32(head.iou_threshold), capacity)


def _ssd(head: DetectionHead, outputs: Sequence[np.ndarray], capacity: int) -> list[Box]:
    n = head.max_detections
    rects = _as_array(outputs[head.output_indices[0]], F32, n * 4).reshape(n, 4)
    classes = _as_array(outputs[head.output_indices[1]], F32, n)
    scores = _as_array(outputs[head.output_indices[2]], F32, n)
    count_value = _as_array(outputs[head.output_indices[3]], F32, 1)[0]
    # (int) of a float beyond int's range is undefined in C: clamp before converting, as the C does.
    count = 0 if not count_value > _ZERO else (n if count_value > F32(n) else int(count_value))
    threshold = F32(head.score_threshold)
    ranked: list = []
    for i in range(count):
        score = scores[i]
        if not score >= threshold:
            continue
        ymin, xmin = _clamp01(rects[i, 0]), _clamp01(rects[i, 1])
        ymax, xmax = _clamp01(rects[i, 2]), _clamp01(rects[i, 3])
        xmax = xmin if xmax < xmin else xmax
        ymax = ymin if ymax < ymin else ymax
        class_value = classes[i]
        class_id = 0 if not class_value > _ZERO else (65535 if class_value > F32(65535) else int(class_value))
        box = Box(class_id, float(score), float(xmin), float(ymin), float(xmax - xmin), float(ymax - ymin))
        _insert(ranked, box, score, capacity)
    return [box for _, box in ranked]


def decode(head: DetectionHead, outputs: Sequence[Any], max_boxes: int | None = None) -> list[Box]:
    """The model's raw outputs (all of them, in the model's order, as the device returns
    them) -> boxes, best score first: what mcugen_model_boxes() returns on the device."""
    capacity = head.max_boxes if max_boxes is None else max(0, min(int(max_boxes), head.max_boxes))
    if head.kind == "ssd":
        return _ssd(head, outputs, capacity)
    height, width = head.grid
    if head.kind == "fomo":
        heat = _as_array(outputs[head.output_indices[0]], np.int8, height * width * (head.num_classes + 1))
        return _fomo(head, heat, capacity)
    if head.is_flat_yolo:
        count = head.num_candidates * (_FLAT_FIELDS[head.layout] + head.num_classes)
        return _flat_yolo(head, _as_array(outputs[head.output_indices[0]], np.int8, count), capacity)
    if head.kind == "yolo":
        count = height * width * head.num_anchors * (_YOLO_FIELDS + head.num_classes)
        return _yolo(head, _as_array(outputs[head.output_indices[0]], np.int8, count), capacity)
    raise DetectionError(f"unknown detection head '{head.kind}'", f"choose one of: {', '.join(KINDS)}")


def describe(head: DetectionHead | None) -> str:
    """One line for the CLI and the generated header's comment."""
    if head is None:
        return "no detection head"
    classes = f"{head.num_classes} class{'' if head.num_classes == 1 else 'es'}"
    text = (f"{head.kind} head: {classes}, score >= {head.score_threshold:g}, "
            f"up to {head.max_boxes} boxes")
    if head.is_flat_yolo:
        units = "fractions of the image" if head.coordinate_divisors == (1.0, 1.0) else \
            f"pixels of a {head.coordinate_divisors[0]:g}x{head.coordinate_divisors[1]:g} image"
        text += f", {head.layout} layout {_FLAT_SHAPES[head.layout]} of {head.num_candidates} candidates (boxes in " \
                f"{units}), IoU > {head.iou_threshold:g} suppressed"
    elif head.kind == "yolo":
        text += f", {head.num_anchors} anchors on a {head.grid[0]}x{head.grid[1]} grid, IoU > " \
                f"{head.iou_threshold:g} suppressed"
    elif head.kind == "fomo":
        text += f" from a {head.grid[0]}x{head.grid[1]} heat map"
    return text


def parse_anchors(text: str | None) -> tuple[float, ...] | None:
    """--anchors "w,h,w,h,..." -> floats; one-line refusal for anything else."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise DetectionError(f"--anchors '{text}' is not a list of numbers",
                             "give --anchors w,h,w,h,... in grid cells, e.g. --anchors 1,1.5,2.5,2") from None
    return values


__all__ = ["Box", "DetectRequest", "DetectionHead", "DetectionError", "detection_head", "decode", "describe",
           "parse_anchors", "KINDS", "CHOICES", "YOLO_LAYOUTS"]
