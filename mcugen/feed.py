"""`mcugen feed`: frames into a camera application, results out.

The board's camera is fed by the host (an emulated board, whose camera is the serial
link): each image or vector becomes a frame in the camera's own format and size, the
firmware pre-processes, invokes and lights its LEDs, and its RESULT comes back. For
every frame the host also works out what the device should have computed:

- the input tensor, from the same frame through mcugen.preprocess (the device's
  pre-processing in Python, bit for bit): its CRC-32 must equal the device's;
- with the model at hand, the model's output from tflite-micro on that tensor: the
  device's output must equal it bit for bit.

    items = image_items(Path("images"), camera, params)
    results = feed(client, items, labels=..., led_names=...)

A detector's app (detect-led) also sends each frame's boxes: with head=... (the
project's detection head) feed parses them and checks them against
mcugen.detection.decode of the device's own raw output (the C decoder against its
Python mirror) and, with the model, of tflite-micro's output.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .bench_inputs import IMAGE_SUFFIXES
from .camera_link import _RESULT_FIXED, RESULT_STATUS, ClassResult, send_frame, wait_for_result
from .errors import InternalError, McugenError
from .preprocess import PixelFormat, PreprocessParams, frame_from_image, frame_to_tensor
from .protocol import BadReplyError, Command, NoReplyError, crc32

if TYPE_CHECKING:
    from .detection import Box, DetectionHead

# detect-led's RESULT after person-led's fields: the boxes' count (u64), how many (u8),
# then per box class (u16), score, x, y, w, h (f32). docs/protocol.md.
_BOXES_HEADER = struct.Struct("<QB")
_BOX = struct.Struct("<Hfffff")


@dataclass(frozen=True)
class CameraSpec:
    """The frames the firmware's camera takes: its format and size."""

    format: PixelFormat
    width: int
    height: int


@dataclass
class FeedItem:
    source: str
    format: PixelFormat
    width: int
    height: int
    data: bytes
    expected_input: np.ndarray  # what pre-processing must give


@dataclass
class FeedResult:
    source: str
    result: ClassResult
    label: str | None
    leds_on: list[str]
    preprocess_bit_exact: bool
    reference_bit_exact: bool | None  # None: no model given to compare with
    notes: list[str] = field(default_factory=list)
    boxes: list[Box] | None = None  # detect-led: the boxes the device sent
    boxes_count: int = 0  # what mcugen_model_boxes() cost on the device
    boxes_exact: bool | None = None  # the device's boxes == decode() of its raw output (None: not checkable)
    reference_boxes_exact: bool | None = None  # == decode() of tflite-micro's output (None: no model)

    @property
    def ok(self) -> bool:
        return (self.result.ok and self.preprocess_bit_exact and self.reference_bit_exact is not False
                and self.boxes_exact is not False and self.reference_boxes_exact is not False)

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "source": self.source,
            "status": RESULT_STATUS.get(r.status, f"status {r.status}"),
            "class": r.class_index,
            "label": self.label,
            "score": round(float(r.score), 6),
            "leds_on": self.leds_on,
            "preprocess_count": r.preprocess_count,
            "invoke_count": r.invoke_count,
            "preprocess_bit_exact": self.preprocess_bit_exact,
            "reference_bit_exact": self.reference_bit_exact,
            "frame_number": r.frame_number,
            **({} if self.boxes is None else {
                "boxes": [{"class_id": b.class_id, "score": float(b.score), "x": float(b.x), "y": float(b.y),
                           "w": float(b.w), "h": float(b.h)} for b in self.boxes],
                "boxes_count": self.boxes_count, "boxes_exact": self.boxes_exact,
                "reference_boxes_exact": self.reference_boxes_exact}),
        }


def image_items(folder: Path, camera: CameraSpec, params: PreprocessParams) -> list[FeedItem]:
    """Every image under folder (sorted, recursively), as the camera would see it."""
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise McugenError(f"image folder not found: {folder}", "give a folder of .png/.jpg images")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise McugenError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    items = []
    for path in paths:
        try:
            with Image.open(path) as img:
                data = frame_from_image(img, camera.format, camera.width, camera.height)
        except (UnidentifiedImageError, OSError) as exc:
            raise McugenError(f"cannot read image {path}: {exc}") from None
        expected = frame_to_tensor(data, camera.width, camera.height, camera.format, params)
        items.append(FeedItem(str(path.relative_to(folder)), camera.format, camera.width, camera.height, data,
                              expected))
    return items


def _pixels_for(values: np.ndarray, params: PreprocessParams) -> np.ndarray | None:
    """Pixels (H, W, C) that pre-process to exactly `values`, or None where no pixel gives
    some value. Each tensor channel has its table (one shared, or one per channel) and its
    source channel (rgb or bgr order); a 3-channel grayscale input has no such inverse."""
    if params.channels == 3 and params.grayscale:
        return None
    tables = np.asarray(params.lut)
    if tables.ndim == 1:
        tables = np.broadcast_to(tables, (params.channels, tables.shape[0]))
    pixels = np.zeros(values.shape, dtype=np.uint8)
    for c in range(params.channels):
        pixel_of: dict[Any, int] = {}
        for p in range(255, -1, -1):
            pixel_of[tables[c][p].item()] = p  # the lowest pixel giving each value
        channel = values[..., c]
        if not all(v.item() in pixel_of for v in np.unique(channel)):
            return None
        source = params.channels - 1 - c if params.channel_order == "bgr" else c
        pixels[..., source] = np.vectorize(lambda v: pixel_of[v], otypes=[np.uint8])(channel)
    return pixels


def vector_items(arrays: list[tuple[str, np.ndarray]], params: PreprocessParams) -> tuple[list[FeedItem], list[str]]:
    """Input tensors as frames: as pixels of the input's own size where the pixel tables can
    produce every value (then the camera path runs, its resize an identity), else as the
    tensor itself (MCUGEN_PIXEL_TENSOR: pre-processing bypassed, said in a note)."""
    notes = []
    items = []
    for source, tensor in arrays:
        values = np.asarray(tensor).reshape(params.height, params.width, params.channels)
        pixels = _pixels_for(values, params)
        expected = None
        if pixels is not None:
            fmt = PixelFormat.GRAY8 if params.channels == 1 else PixelFormat.RGB888
            data = pixels.tobytes()
            width, height = params.width, params.height
            expected = frame_to_tensor(data, width, height, fmt, params)
        if expected is None or not np.array_equal(expected.reshape(values.shape), values):
            fmt, data, width, height = PixelFormat.TENSOR, np.ascontiguousarray(values).tobytes(), \
                values.size * values.itemsize, 1
            notes.append(f"{source}: some values are no pixel's; sent as the tensor itself (no pre-processing)")
            expected = frame_to_tensor(data, width, height, fmt, params)
            if not np.array_equal(expected.reshape(values.shape), values):
                raise InternalError(f"{source}: cannot make a frame that pre-processes to this vector "
                                    "(a bug in mcugen)")
        items.append(FeedItem(source, fmt, width, height, data, expected))
    return items, notes


def decode_detection_result(payload: bytes) -> tuple[ClassResult, int, list[Box]]:
    """A detect-led RESULT: person-led's fields (camera_link.ClassResult), then the boxes."""
    from .detection import Box

    if len(payload) < _RESULT_FIXED.size:
        raise BadReplyError(f"RESULT is {len(payload)} bytes, shorter than its {_RESULT_FIXED.size} fixed bytes",
                            "are the firmware and mcugen the same version?")
    end = _RESULT_FIXED.size + _RESULT_FIXED.unpack_from(payload)[-1]
    if len(payload) < end + _BOXES_HEADER.size:
        raise BadReplyError(f"RESULT is {len(payload)} bytes: no boxes after the output",
                            "is the board running detect-led? are the firmware and mcugen the same version?")
    count, n = _BOXES_HEADER.unpack_from(payload, end)
    at = end + _BOXES_HEADER.size
    if len(payload) != at + n * _BOX.size:
        raise BadReplyError(f"RESULT says {n} boxes but carries {len(payload) - at} bytes for them",
                            "are the firmware and mcugen the same version?")
    boxes = [Box(*_BOX.unpack_from(payload, at + k * _BOX.size)) for k in range(n)]
    return ClassResult.decode(payload[:end]), count, boxes


def wait_for_detection(client: Any, frame_id: int, timeout: float) -> tuple[ClassResult, int, list[Box]]:
    """camera_link.wait_for_result for a detect-led RESULT: as sent, or asked for again."""
    deadline = time.monotonic() + timeout
    while True:
        frame = client.wait_result(max(0.0, deadline - time.monotonic()))
        if frame is None:
            break
        parsed = decode_detection_result(frame.payload)
        if parsed[0].frame_id == frame_id:
            return parsed
    parsed = decode_detection_result(client.request(Command.GET_RESULT).payload)
    if parsed[0].frame_id != frame_id:
        raise NoReplyError(f"no result for frame {frame_id} within {timeout:g} s (the last was for frame "
                           f"{parsed[0].frame_id})", "is the model slower than the timeout? raise --timeout")
    return parsed


def _same_boxes(a: list[Box], b: list[Box]) -> bool:
    """Bit for bit: the device's float32 fields against decode()'s (float32 values too)."""
    pack = struct.Struct("<Hfffff").pack
    return len(a) == len(b) and all(pack(x.class_id, x.score, x.x, x.y, x.w, x.h) ==
                                    pack(y.class_id, y.score, y.x, y.y, y.w, y.h) for x, y in zip(a, b))


def feed(client: Any, items: list[FeedItem], *, labels: list[str] | None, led_names: list[str],
         reference: Any | None = None, n_outputs: int = 1, timeout: float = 60.0,
         progress: Callable[[], None] | None = None, head: DetectionHead | None = None,
         output_bytes: int | None = None) -> list[FeedResult]:
    """Sends every item's frame and collects its result, checked as the module says.
    head: the project's detection head (detect-led); output_bytes: output 0's size, so a
    RESULT carrying only part of it is not decoded."""
    out = []
    for i, item in enumerate(items):
        frame_id = i % 0xFFFF + 1
        send_frame(client, frame_id, int(item.format), item.width, item.height, item.data)
        if head is not None:
            result, boxes_count, boxes = wait_for_detection(client, frame_id, timeout)
        else:
            result, boxes_count, boxes = wait_for_result(client, frame_id, timeout), 0, None
        pre_ok = result.ok and result.input_crc32 == crc32(item.expected_input.tobytes())
        ref_ok = None
        notes = []
        if reference is not None and result.ok:
            want = reference.run([item.expected_input], n_outputs)[0]
            ref_ok = want.tobytes() == result.output
        if not result.ok:
            notes.append(f"{RESULT_STATUS.get(result.status, 'error')} {result.detail}")
        label = None
        if result.class_index is not None:
            label = labels[result.class_index] if labels and result.class_index < len(labels) \
                else f"class {result.class_index}"
        leds = [name for bit, name in enumerate(led_names) if result.led_bits >> bit & 1]
        entry = FeedResult(item.source, result, label, leds, pre_ok, ref_ok, notes, boxes, boxes_count)
        if head is not None and result.ok:
            _check_boxes(entry, head, reference, item, n_outputs, output_bytes)
        out.append(entry)
        if progress:
            progress()
    return out


def _check_boxes(entry: FeedResult, head: DetectionHead, reference: Any | None, item: FeedItem, n_outputs: int,
                 output_bytes: int | None) -> None:
    """The device's boxes against decode() of its own raw output (when the RESULT carries
    all the head reads: one output, whole) and of tflite-micro's outputs (with the model)."""
    from .detection import decode

    device_boxes = entry.boxes or []
    if head.output_indices == (0,) and n_outputs == 1 and output_bytes is not None \
            and len(entry.result.output) == output_bytes:
        entry.boxes_exact = _same_boxes(device_boxes, decode(head, [entry.result.output]))
    else:
        entry.notes.append("boxes not checked against the raw output: the RESULT carries output 0 only, and not "
                           "all of it or not all the head reads")
    if reference is not None:
        entry.reference_boxes_exact = _same_boxes(device_boxes, decode(head, reference.run([item.expected_input],
                                                                                             n_outputs)))
    if entry.boxes_exact is False or entry.reference_boxes_exact is False:
        entry.notes.append("the device's boxes differ from mcugen.detection.decode's")


def print_boxes(out: Any, results: list[FeedResult], labels: list[str] | None) -> None:
    """detect-led's frames: one line per frame with its boxes and the checks."""
    from rich.markup import escape

    for r in results:
        boxes = r.boxes or []
        names = [labels[b.class_id] if labels and b.class_id < len(labels) else f"class {b.class_id}" for b in boxes]
        shown = "; ".join(f"{n} {b.score:.3f} at x {b.x:.3f} y {b.y:.3f} w {b.w:.3f} h {b.h:.3f}"
                          for n, b in zip(names, boxes)) or "no boxes"
        checks = ", ".join(f"{what} {'bit-exact' if ok else 'DIFFER'}" for what, ok in
                           (("boxes vs decode(raw output)", r.boxes_exact),
                            ("boxes vs decode(tflite-micro)", r.reference_boxes_exact)) if ok is not None)
        out.print(escape(f"{r.source}: {len(boxes)} box{'es' if len(boxes) != 1 else ''}: {shown}"
                         + (f" [{checks}]" if checks else "")))
        for note in r.notes:
            out.print(escape(f"  note: {note}"))


def input_tensor_from_hello(info: Any) -> Any:
    """The model's input 0 as an ir.Tensor, from what the board says in HELLO."""
    from .ir import Quantization, Tensor

    t = info.inputs[0]
    quant = None if t.dtype_name == "float32" else Quantization((float(t.scale),), (int(t.zero_point),), None)
    return Tensor(index=0, name="input", shape=tuple(int(d) for d in t.shape), dtype=t.dtype_name, quant=quant)


def camera_spec(meta: dict | None, board: Any) -> CameraSpec:
    """The camera the firmware was generated for (mcugen.json), else the board's default."""
    cam = (meta or {}).get("camera")
    if cam:
        return CameraSpec(PixelFormat[cam["format"]], int(cam["width"]), int(cam["height"]))
    if board is None or board.camera is None:
        raise McugenError("the firmware's board has no camera to feed", "generate with --app person-led for a "
                          "board with a camera (see `mcugen boards`)")
    fmt = "RGB565" if "RGB565" in board.camera.formats else board.camera.formats[0]
    return CameraSpec(PixelFormat[fmt], board.camera.resolution[0], board.camera.resolution[1])
