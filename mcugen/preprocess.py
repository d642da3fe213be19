"""Camera frame -> model input tensor, exactly as the device does it.

The device runs templates/apps/common/mcugen_preprocess.c; :func:`frame_to_tensor`
here is its mirror and gives the same tensor bytes (tests/test_preprocess.py
compiles the C on the host and compares). The host paths use the same function:
``mcugen bench --data`` decodes each image to an RGB888 frame of its own size and
feeds it through it, and :func:`frame_from_image` makes the frame a camera of a
given size and format would deliver, for ``mcugen feed``.

The pipeline (integers throughout; ``//`` and ``>> 8`` are floor division). Its
choices (:class:`PreprocessOptions`: channel order, grayscale, resize mode, mean and
std) are what ``bench --data`` and the person-led app take; the defaults are the
rows marked (default).

0. ``TENSOR`` frames are the input tensor's own bytes, taken as they are when their
   length is the tensor's; nothing below applies.
1. Each source pixel becomes the model's channel values, 8-bit each.
   Colour (C == 3, the default for 3 channels): GRAY8 replicated; RGB565
   (big-endian RRRRRGGG GGGBBBBB) expanded by bit replication
   ``r8 = (r5 << 3) | (r5 >> 2)``, ``g8 = (g6 << 2) | (g6 >> 4)``, ``b8`` like
   ``r8``; RGB888 as is; YUV422 (YUYV: Y0 U Y1 V per pixel pair, sharing U and V)
   by full-range BT.601 (JFIF) in 8.8 fixed point with ``d = U - 128``,
   ``e = V - 128``::

       R = clamp(Y + ((359 * e + 128) >> 8))
       G = clamp(Y + ((-88 * d - 183 * e + 128) >> 8))
       B = clamp(Y + ((454 * d + 128) >> 8))          clamp to 0..255

   in the order R, G, B (channel order ``rgb``, default) or B, G, R (``bgr``:
   channel 0 blue, channel 2 red, as OpenCV- and Caffe-trained models take it).
   Luma (C == 1 always; C == 3 with ``grayscale``, in all three channels): BT.601's
   0.299 R + 0.587 G + 0.114 B in 8.8 fixed point,
   ``gray = (77 * R + 150 * G + 29 * B + 128) >> 8`` from RGB565 or RGB888, Y itself
   from YUV422 (the sensor's own luma), the byte from GRAY8.
2. Resize to W x H by box (area) averaging of a source window of cw x ch pixels
   from (x0, y0). ``crop`` (default): the frame's centre at the model's aspect
   ratio; frame w x h: if ``w * H > W * h`` keep the height,
   ``cw = max(1, h * W // H)``, else keep the width, ``ch = max(1, w * H // W)``;
   ``x0 = (w - cw) // 2``, ``y0 = (h - ch) // 2``. ``stretch``: the whole frame,
   ``cw = w``, ``ch = h``, ``x0 = y0 = 0`` (the aspect ratio is not kept).
   Output pixel (ox, oy) averages window columns
   ``[x0 + a, x0 + max((ox + 1) * cw // W, a + 1))`` with ``a = ox * cw // W``, rows
   likewise; n pixels summed to s give ``(s + n // 2) // n``. Upscaling repeats
   pixels; equal sizes copy them.
3. Each 8-bit value p of channel c indexes a 256-entry lookup table made here at
   generate time in float64: ``real = lo + p * (hi - lo) / 255`` for the pixel range
   (lo, hi), then ``x = (real - mean[c]) / std[c]`` (mean 0 and std 1 unless given;
   given in R, G, B order, each applies to the channel holding its colour);
   int8/uint8 inputs get ``clamp(round_half_away_from_zero(x / scale) + zero_point)``
   with the tensor's scale as stored (float32, widened exactly), float32 inputs get
   ``x`` rounded to float32. One table serves every channel when their mean and std
   are equal, else each channel has its own. The device only indexes the tables.

The output is NHWC ``[1, H, W, C]``.
"""

from __future__ import annotations

import enum
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import McugenError
from .ir import NUMPY_DTYPES, Tensor


class PixelFormat(enum.IntEnum):
    """Frame formats; the values are mcugen_board.h's MCUGEN_PIXEL_* codes."""

    GRAY8 = 0x01
    RGB565 = 0x02  # big-endian bytes: RRRRRGGG GGGBBBBB
    RGB888 = 0x03
    YUV422 = 0x04  # YUYV: Y0 U Y1 V per two pixels
    TENSOR = 0x80  # the model's input tensor bytes, no pre-processing


BYTES_PER_PIXEL = {PixelFormat.GRAY8: 1, PixelFormat.RGB565: 2, PixelFormat.RGB888: 3, PixelFormat.YUV422: 2}

# Real-valued range a pixel 0..255 maps to before quantization, by the name the CLI takes.
PIXEL_RANGES = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 1.0)}

# mcugen_preprocess_params_t.dtype: MCUGEN_PREPROCESS_DTYPE_*.
DTYPE_CODES = {"int8": 1, "uint8": 2, "float32": 3}
DTYPE_MACROS = {"int8": "MCUGEN_PREPROCESS_DTYPE_INT8", "uint8": "MCUGEN_PREPROCESS_DTYPE_UINT8",
                "float32": "MCUGEN_PREPROCESS_DTYPE_FLOAT32"}
LUT_SIZE = 256

# mcugen_preprocess_params_t.resize and .channel_order: MCUGEN_PREPROCESS_RESIZE_*, _ORDER_*.
# Code 0 is the default, so a params struct that leaves them out behaves as before they existed.
RESIZE_CODES = {"crop": 0, "stretch": 1}
RESIZE_MACROS = {"crop": "MCUGEN_PREPROCESS_RESIZE_CROP", "stretch": "MCUGEN_PREPROCESS_RESIZE_STRETCH"}
ORDER_CODES = {"rgb": 0, "bgr": 1}
ORDER_MACROS = {"rgb": "MCUGEN_PREPROCESS_ORDER_RGB", "bgr": "MCUGEN_PREPROCESS_ORDER_BGR"}
# Step 1's luma: BT.601's 0.299, 0.587, 0.114 as 8.8 fixed point (they sum to 256).
LUMA_WEIGHTS = (77, 150, 29)
LUMA_TEXT = "luma 0.299 R + 0.587 G + 0.114 B (BT.601, in 8.8 fixed point: 77, 150, 29 / 256)"
COLOURS = ("R", "G", "B")

# Device limits, as in mcugen_preprocess.h: the row of box sums it keeps
# (MCUGEN_PREPROCESS_MAX_ROW, W * C entries) and the largest box whose rounded sum
# fits 32 bits (MCUGEN_PREPROCESS_MAX_BOX_PIXELS).
DEFAULT_MAX_ROW = 3 * 320
MAX_BOX_PIXELS = 2**24 - 1


class PreprocessError(McugenError):
    """A frame or parameters the pre-processing refuses; ``code`` is the C module's error."""

    # MCUGEN_PREPROCESS_ERR_*, the same numbers.
    FORMAT = -1
    ODD_WIDTH = -2
    EMPTY_FRAME = -3
    FRAME_BYTES = -4
    TENSOR_BYTES = -5
    ROW_TOO_WIDE = -6
    BOX_TOO_LARGE = -7
    PARAMS = -8

    def __init__(self, code: int, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.code = code


def pixel_format(value: int | str | PixelFormat) -> PixelFormat:
    """A PixelFormat from its code or its name (case-insensitive)."""
    if isinstance(value, str):
        try:
            return PixelFormat[value.upper()]
        except KeyError:
            raise PreprocessError(PreprocessError.FORMAT, f"unknown pixel format '{value}'",
                                  f"use one of {', '.join(f.name.lower() for f in PixelFormat)}") from None
    try:
        return PixelFormat(value)
    except ValueError:
        raise PreprocessError(PreprocessError.FORMAT, f"unknown pixel format code {value!r}") from None


# ---- step 3: the lookup table ------------------------------------------------------------


def pixel_reals(pixel_range: tuple[float, float]) -> np.ndarray:
    """The real value of each pixel 0..255, float64: lo + p * (hi - lo) / 255."""
    lo, hi = (float(v) for v in pixel_range)
    return lo + np.arange(LUT_SIZE, dtype=np.float64) * (hi - lo) / 255.0


def round_half_away_from_zero(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_lut(reals: np.ndarray, dtype: str, scale: float = 1.0, zero_point: int = 0) -> np.ndarray:
    """The LUT the device indexes: reals quantized to the input's dtype (float32: rounded only)."""
    if dtype == "float32":
        return reals.astype(np.float32)
    info = np.iinfo(NUMPY_DTYPES[dtype])
    q = round_half_away_from_zero(reals / float(scale)) + int(zero_point)
    return np.clip(q, info.min, info.max).astype(NUMPY_DTYPES[dtype])


def _input_layout(tensor: Tensor) -> tuple[int, int, int]:
    """(H, W, C) of an NHWC image input, or a refusal saying why it is not one."""
    shape = tuple(tensor.shape)
    if len(shape) != 4 or shape[0] != 1:
        raise McugenError(f"image input needs an NHWC [1, H, W, C] input tensor; {tensor.label()} has shape "
                          f"{list(shape)}")
    _, height, width, channels = shape
    if channels not in (1, 3):
        raise McugenError(f"image input needs 1 or 3 channels; {tensor.label()} has {channels}")
    if not (1 <= height <= 0xFFFF and 1 <= width <= 0xFFFF):
        raise McugenError(f"image input {tensor.label()} is {width} x {height}; the device takes 1..65535 a side")
    if tensor.dtype not in DTYPE_CODES:
        raise McugenError(f"image input needs an int8, uint8 or float32 tensor; {tensor.label()} is {tensor.dtype}")
    if tensor.dtype != "float32":
        if tensor.quant is None:
            raise McugenError(f"input {tensor.label()} is {tensor.dtype} without quantization parameters")
        if len(tensor.quant.scale) != 1:
            raise McugenError(f"input {tensor.label()} is quantized per channel; image pre-processing "
                              "needs one scale and zero point")
    return height, width, channels


def default_pixel_range(tensor: Tensor) -> tuple[tuple[float, float], str]:
    """The pixel range an input most likely expects, and a note saying how it was chosen.

    An int8/uint8 input represents reals scale * (qmin - zp) .. scale * (qmax - zp);
    the nearest of (0, 1), (-1, 1), (0, 255) by the sum of endpoint distances wins.
    float32 inputs carry nothing to infer from: (0, 1).
    """
    if tensor.dtype == "float32" or tensor.quant is None:
        return (0.0, 1.0), f"{tensor.label()} is {tensor.dtype} without quantization: pixels mapped to [0, 1]"
    info = np.iinfo(NUMPY_DTYPES[tensor.dtype])
    scale, zp = float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])
    lo, hi = scale * (info.min - zp), scale * (info.max - zp)
    candidates = sorted(PIXEL_RANGES.values(), key=lambda r: (abs(r[0] - lo) + abs(r[1] - hi), r))
    best = candidates[0]
    if abs(best[0] - lo) <= 1.01 * scale and abs(best[1] - hi) <= 1.01 * scale:
        # Within a step of a standard range: take the input's own range, so that pixel p is
        # exactly the p-th code (int8: p - 128, as TFLite Micro's camera examples feed it).
        return (lo, hi), (f"{tensor.label()} ({tensor.dtype}, scale {scale:.6g}, zero point {zp}) represents "
                          f"[{lo:.4g}, {hi:.4g}], within a step of [{best[0]:g}, {best[1]:g}]: pixel p is the "
                          f"input's p-th code")
    return best, (f"{tensor.label()} ({tensor.dtype}, scale {scale:.6g}, zero point {zp}) represents "
                  f"[{lo:.4g}, {hi:.4g}]: pixels mapped to the nearest standard range [{best[0]:g}, {best[1]:g}]")


# How refusals name each option: bench's flags, or the person-led app's --set keys.
CLI_FLAGS = {"mean": "--mean", "std": "--std", "channel_order": "--channels", "grayscale": "--grayscale",
             "resize": "--resize"}
APP_KEYS = {"mean": "mean", "std": "std", "channel_order": "channels", "grayscale": "grayscale", "resize": "resize"}
# Example values for the fixes, for a 3-channel input (and a 1-channel one where they differ).
_EXAMPLES = {"mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225", "channel_order": "rgb", "grayscale": "yes",
             "resize": "crop"}
_GRAY_EXAMPLES = {"mean": "0.5", "std": "0.25"}


def _values_text(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class PreprocessOptions:
    """The pre-processing a user chose beyond the pixel range: bench --data's flags or the
    person-led app's settings. The defaults are the pipeline as it was before these
    options existed, so leaving them out changes nothing."""

    mean: tuple[float, ...] | None = None  # one value for all channels, or R, G, B; pixel-range units; None: 0
    std: tuple[float, ...] | None = None  # likewise; None: 1
    channel_order: str = "rgb"  # "rgb" or "bgr", for 3-channel inputs
    grayscale: bool = False  # 3-channel inputs: each pixel's luma in all three channels
    resize: str = "crop"  # "crop" (centre crop to the input's aspect ratio, then resize) or "stretch"
    style: str = field(default="cli", compare=False)  # "cli": refusals name bench's flags; "app": --set keys

    def named(self, key: str) -> str:
        """The option as the user wrote it, for the subject of a refusal."""
        return f"option {APP_KEYS[key]}" if self.style == "app" else CLI_FLAGS[key]

    def example(self, key: str, value: str | None = None, channels: int = 3) -> str:
        """The option written with a value (an example one by default), for a fix."""
        if value is None:
            value = _GRAY_EXAMPLES.get(key, _EXAMPLES[key]) if channels == 1 else _EXAMPLES[key]
        if self.style == "app":
            return f"--set {APP_KEYS[key]}={value}"
        return CLI_FLAGS[key] if key == "grayscale" else f"{CLI_FLAGS[key]} {value}"

    def leave_out(self, key: str) -> str:
        return f"leave out --set {APP_KEYS[key]}" if self.style == "app" else f"leave out {CLI_FLAGS[key]}"

    @classmethod
    def parse(cls, *, mean: str | None = None, std: str | None = None, channel_order: str = "rgb",
              grayscale: bool = False, resize: str = "crop", style: str = "cli") -> PreprocessOptions:
        """Options from the user's text (mean and std as "R,G,B" or one value)."""
        probe = cls(style=style)
        if channel_order not in ORDER_CODES:
            raise McugenError(f"{probe.named('channel_order')} must be one of {', '.join(ORDER_CODES)}, not "
                              f"'{channel_order}'", f"for example {probe.example('channel_order', 'bgr')}")
        if resize not in RESIZE_CODES:
            raise McugenError(f"{probe.named('resize')} must be one of {', '.join(RESIZE_CODES)}, not '{resize}'",
                              f"for example {probe.example('resize', 'stretch')}")
        return cls(parse_channel_values(mean, "mean", probe), parse_channel_values(std, "std", probe),
                   channel_order, bool(grayscale), resize, style)

    @property
    def is_default(self) -> bool:
        return self == PreprocessOptions()


def parse_channel_values(text: str | None, key: str, options: PreprocessOptions | None = None
                         ) -> tuple[float, ...] | None:
    """'0.485,0.456,0.406' or '0.5' as floats (None stays None); what is not a list of finite
    numbers is refused naming the option."""
    if text is None:
        return None
    options = options or PreprocessOptions()
    try:
        values = tuple(float(item) for item in str(text).split(","))
    except ValueError:
        raise McugenError(f"{options.named(key)} takes numbers separated by commas (R,G,B, or one value for every "
                          f"channel), not '{text}'", f"for example {options.example(key)}") from None
    if not all(np.isfinite(values)):
        raise McugenError(f"{options.named(key)} must be finite numbers, not '{text}'",
                          f"for example {options.example(key)}")
    return values


def _channel_colours(channels: int, order: str, grayscale: bool) -> tuple[str, ...]:
    """What each tensor channel holds: a colour, or the luma."""
    if channels == 1 or grayscale:
        return ("luma",) * channels
    return COLOURS if order == "rgb" else COLOURS[::-1]


def _per_channel(values: tuple[float, ...] | None, neutral: float, key: str, options: PreprocessOptions,
                 tensor: Tensor, channels: int) -> tuple[float, ...]:
    """mean or std for each tensor channel, from one value or R, G, B (given in colour order)."""
    if values is None:
        return (neutral,) * channels
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        want = "one value" if channels == 1 else "one value for all channels or three (R,G,B)"
        example = options.example(key, f"{values[0]:g}" if channels == 1 else None)
        raise McugenError(f"{options.named(key)} gives {len(values)} values ({_values_text(values)}) but input "
                          f"'{tensor.label()}' has {channels} channel{'s' if channels > 1 else ''}",
                          f"give {want}, e.g. {example}")
    # Given R, G, B: tensor channel c holds colour c (rgb) or colour 2 - c (bgr).
    return values if options.channel_order == "rgb" else values[::-1]


def _check_options(options: PreprocessOptions, tensor: Tensor, channels: int) -> None:
    """Refuses choices that contradict each other or the model's input, naming the fix."""
    if options.channel_order not in ORDER_CODES:
        raise McugenError(f"{options.named('channel_order')} must be one of {', '.join(ORDER_CODES)}, not "
                          f"'{options.channel_order}'")
    if options.resize not in RESIZE_CODES:
        raise McugenError(f"{options.named('resize')} must be one of {', '.join(RESIZE_CODES)}, not "
                          f"'{options.resize}'")
    if options.channel_order == "bgr" and channels == 1:
        raise McugenError(f"{options.example('channel_order', 'bgr')} orders colour channels, but input "
                          f"'{tensor.label()}' has 1 channel (it gets each pixel's luma)",
                          options.leave_out("channel_order"))
    if options.channel_order == "bgr" and options.grayscale:
        raise McugenError(f"{options.example('channel_order', 'bgr')} and {options.example('grayscale')} "
                          f"contradict: with grayscale all three channels hold the same luma, in no colour order",
                          f"leave out {options.example('channel_order', 'bgr')} or {options.example('grayscale')}")


def _check_std(options: PreprocessOptions, channels: int) -> None:
    """After the count check, so that a value names its colour only where there are colours."""
    for i, value in enumerate(options.std or ()):
        if value <= 0:
            where = f" for {COLOURS[i]}" if len(options.std or ()) == 3 else ""
            raise McugenError(f"{options.named('std')} is {value:g}{where}: x = (pixel - mean) / std needs a "
                              f"standard deviation above 0", f"give positive values (1 leaves a channel as it is), "
                              f"e.g. {options.example('std', channels=channels)}")


@dataclass
class PreprocessParams:
    """What the device's mcugen_preprocess_params_t holds: the input's size, the choices of
    steps 1 and 2, and the lookup tables (step 3); plus, for reports, how they were made."""

    width: int
    height: int
    channels: int  # 1 (gray) or 3 (colour)
    dtype: str  # "int8", "uint8" or "float32"
    # The tensor element for each 8-bit channel value: (256,) entries of dtype shared by every
    # channel, or (channels, 256), channel c's table in row c (per-channel mean or std).
    lut: np.ndarray
    resize: str = "crop"  # step 2: RESIZE_CODES
    channel_order: str = "rgb"  # step 1, colour inputs: ORDER_CODES
    grayscale: bool = False  # step 1, C == 3: every channel is the pixel's luma (C == 1 always is)
    note: str = field(default="", compare=False)  # how the LUT was made, for reports and the C comment
    # For reports only (the tables above are what runs): the range pixels 0..255 map to, and
    # the mean and std of each tensor channel, in tensor channel order.
    pixel_range: tuple[float, float] | None = field(default=None, compare=False)
    mean: tuple[float, ...] | None = field(default=None, compare=False)
    std: tuple[float, ...] | None = field(default=None, compare=False)
    scale: float | None = field(default=None, compare=False)
    zero_point: int | None = field(default=None, compare=False)

    @classmethod
    def for_tensor(cls, tensor: Tensor, pixel_range: tuple[float, float] | str | None = None,
                   options: PreprocessOptions | None = None) -> PreprocessParams:
        """Parameters for an NHWC image input; pixel_range (lo, hi), a PIXEL_RANGES name,
        or None for :func:`default_pixel_range`; options: the other choices (defaults: none)."""
        height, width, channels = _input_layout(tensor)
        options = options or PreprocessOptions()
        _check_options(options, tensor, channels)
        if pixel_range is None:
            pixel_range, how = default_pixel_range(tensor)
        else:
            if isinstance(pixel_range, str):
                if pixel_range not in PIXEL_RANGES:
                    raise McugenError(f"unknown pixel range '{pixel_range}'", f"use one of {', '.join(PIXEL_RANGES)}")
                pixel_range = PIXEL_RANGES[pixel_range]
            how = f"pixels mapped to [{pixel_range[0]:g}, {pixel_range[1]:g}]"
        pixel_range = (float(pixel_range[0]), float(pixel_range[1]))
        mean = _per_channel(options.mean, 0.0, "mean", options, tensor, channels)
        std = _per_channel(options.std, 1.0, "std", options, tensor, channels)
        _check_std(options, channels)
        grayscale = channels == 1 or options.grayscale
        names = _channel_colours(channels, options.channel_order, grayscale)
        if options.mean is not None or options.std is not None:
            listed = "" if channels == 1 else f" ({', '.join(names)})"
            how += (f"; x = (pixel - mean) / std with mean {_values_text(mean)} and std {_values_text(std)}"
                    f"{listed}")
        # Exact for the defaults: (r - 0.0) / 1.0 == r, so the tables are those of before.
        reals = pixel_reals(pixel_range)
        per_channel = len(set(zip(mean, std))) > 1
        normalised = np.stack([(reals - m) / s for m, s in zip(mean, std)]) if per_channel else \
            (reals - mean[0]) / std[0]
        scale = zp = None
        if tensor.dtype == "float32":
            lut, target = quantize_lut(normalised, "float32"), "float32"
        else:
            scale, zp = float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])
            lut = quantize_lut(normalised, tensor.dtype, scale, zp)
            target = f"{tensor.dtype} (scale {scale:.9g}, zero point {zp})"
            info = np.iinfo(NUMPY_DTYPES[tensor.dtype])
            lo, hi = scale * (info.min - zp), scale * (info.max - zp)
            if normalised.min() < lo - scale or normalised.max() > hi + scale:
                target += (f"; the values span [{normalised.min():.4g}, {normalised.max():.4g}] but the input "
                           f"represents [{lo:.4g}, {hi:.4g}]: those beyond clamp")
        return cls(width, height, channels, tensor.dtype, lut, options.resize, options.channel_order,
                   bool(options.grayscale and channels == 3), f"{how}, then {target}", pixel_range, mean, std,
                   scale, zp)

    @property
    def element_bytes(self) -> int:
        return 4 if self.dtype == "float32" else 1

    @property
    def tensor_bytes(self) -> int:
        return self.width * self.height * self.channels * self.element_bytes

    @property
    def row_entries(self) -> int:
        """Box sums the device keeps (W * C); must not pass MCUGEN_PREPROCESS_MAX_ROW."""
        return self.width * self.channels

    @property
    def luma(self) -> bool:
        """Step 1 gives every channel the pixel's luma."""
        return self.channels == 1 or bool(self.grayscale)

    @property
    def lut_per_channel(self) -> bool:
        return np.asarray(self.lut).ndim == 2

    @property
    def channel_names(self) -> tuple[str, ...]:
        return _channel_colours(self.channels, self.channel_order, self.luma)

    def describe(self) -> str:
        """Steps 1-3 in a sentence, as bench prints and reports them."""
        if self.resize == "stretch":
            resize = f"box-resized whole to {self.width} x {self.height} (stretched: the aspect ratio is not kept)"
        else:
            resize = f"centre-cropped to the input's aspect ratio and box-resized to {self.width} x {self.height}"
        if self.channels == 1:
            colour = LUMA_TEXT
        elif self.grayscale:
            colour = f"{LUMA_TEXT} in all three channels"
        else:
            colour = "channels " + ", ".join(self.channel_names) + (" (blue first)" if self.channel_order == "bgr"
                                                                    else "")
        return f"{resize}; {colour}; {self.note}"

    def to_json(self) -> dict[str, Any]:
        return {
            "input": [1, self.height, self.width, self.channels],
            "dtype": self.dtype,
            "scale": self.scale,
            "zero_point": self.zero_point,
            "resize": self.resize,
            "channel_order": self.channel_order,
            "grayscale": self.luma,
            "channels": list(self.channel_names),
            "luma_weights": [w / 256 for w in LUMA_WEIGHTS] if self.luma else None,
            "pixel_range": list(self.pixel_range) if self.pixel_range else None,
            "mean": list(self.mean) if self.mean else None,
            "std": list(self.std) if self.std else None,
            "lut_per_channel": self.lut_per_channel,
            "description": self.describe(),
        }

    def check(self) -> None:
        """The C module's parameter checks (MCUGEN_PREPROCESS_ERR_PARAMS)."""
        if not (1 <= self.width <= 0xFFFF and 1 <= self.height <= 0xFFFF):
            raise PreprocessError(PreprocessError.PARAMS, f"input size {self.width} x {self.height} is not 1..65535")
        if self.channels not in (1, 3):
            raise PreprocessError(PreprocessError.PARAMS, f"{self.channels} channels; the input needs 1 or 3")
        if self.dtype not in DTYPE_CODES:
            raise PreprocessError(PreprocessError.PARAMS, f"input dtype {self.dtype} is not int8, uint8 or float32")
        if self.resize not in RESIZE_CODES:
            raise PreprocessError(PreprocessError.PARAMS, f"resize mode '{self.resize}' is not one of "
                                  f"{', '.join(RESIZE_CODES)}")
        if self.channel_order not in ORDER_CODES or (self.channel_order == "bgr" and self.channels == 1):
            raise PreprocessError(PreprocessError.PARAMS, f"channel order '{self.channel_order}' for "
                                  f"{self.channels} channel(s)")
        if self.grayscale not in (True, False):
            raise PreprocessError(PreprocessError.PARAMS, f"grayscale is {self.grayscale!r}, not a flag")
        lut = np.asarray(self.lut)
        if lut.shape not in ((LUT_SIZE,), (self.channels, LUT_SIZE)) or lut.dtype != NUMPY_DTYPES[self.dtype]:
            raise PreprocessError(PreprocessError.PARAMS, f"the LUT must be {LUT_SIZE} {self.dtype} entries, or "
                                  f"{LUT_SIZE} per channel; got shape {list(lut.shape)} of {lut.dtype}")


# ---- step 1: pixels to channel values ----------------------------------------------------


def _luma(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    # int32 first: NumPy keeps uint8 * int in uint8, which would wrap.
    r, g, b = (np.asarray(v, dtype=np.int32) for v in (r, g, b))
    wr, wg, wb = LUMA_WEIGHTS
    return ((wr * r + wg * g + wb * b + 128) >> 8).astype(np.uint8)


def _check_frame(data: bytes, width: int, height: int, fmt: PixelFormat) -> np.ndarray:
    """The frame's pixel bytes, after the C module's frame checks in its order."""
    if width <= 0 or height <= 0:
        raise PreprocessError(PreprocessError.EMPTY_FRAME, f"frame of {width} x {height} pixels has none")
    if fmt == PixelFormat.YUV422 and width % 2:
        raise PreprocessError(PreprocessError.ODD_WIDTH, f"YUV422 frame width {width} is odd",
                              "YUYV packs pixels in pairs")
    needed = width * height * BYTES_PER_PIXEL[fmt]
    if len(data) < needed:
        raise PreprocessError(PreprocessError.FRAME_BYTES, f"{fmt.name} frame of {width} x {height} needs "
                              f"{needed} bytes; got {len(data)}")
    return np.frombuffer(bytes(data), dtype=np.uint8, count=needed)


def _yuv422_to_rgb(yuyv: np.ndarray) -> np.ndarray:
    """(h, w/2, 4) YUYV bytes -> (h, w, 3) RGB by the fixed-point BT.601 of step 1."""
    y = yuyv[:, :, [0, 2]].reshape(yuyv.shape[0], -1).astype(np.int32)
    d = np.repeat(yuyv[:, :, 1].astype(np.int32) - 128, 2, axis=1)
    e = np.repeat(yuyv[:, :, 3].astype(np.int32) - 128, 2, axis=1)
    r = y + ((359 * e + 128) >> 8)
    g = y + ((-88 * d - 183 * e + 128) >> 8)
    b = y + ((454 * d + 128) >> 8)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def decode_pixels(data: bytes, width: int, height: int, fmt: int | str | PixelFormat, channels: int) -> np.ndarray:
    """Step 1: the frame as (height, width, channels) uint8 channel values."""
    fmt = pixel_format(fmt)
    if fmt == PixelFormat.TENSOR:
        raise PreprocessError(PreprocessError.FORMAT, "a TENSOR frame holds tensor bytes, not pixels")
    raw = _check_frame(data, width, height, fmt)
    if fmt == PixelFormat.GRAY8:
        gray = raw.reshape(height, width)
        return gray[:, :, None] if channels == 1 else np.repeat(gray[:, :, None], 3, axis=2)
    if fmt == PixelFormat.YUV422:
        yuyv = raw.reshape(height, width // 2, 4)
        if channels == 1:
            return yuyv[:, :, [0, 2]].reshape(height, width, 1).copy()
        return _yuv422_to_rgb(yuyv)
    if fmt == PixelFormat.RGB565:
        pair = raw.reshape(height, width, 2).astype(np.uint16)
        r5, g6, b5 = pair[..., 0] >> 3, ((pair[..., 0] & 0x07) << 3) | (pair[..., 1] >> 5), pair[..., 1] & 0x1F
        rgb = np.stack([(r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)], axis=-1)
        rgb = rgb.astype(np.uint8)
    else:
        rgb = raw.reshape(height, width, 3)
    if channels == 1:
        return _luma(rgb[..., 0], rgb[..., 1], rgb[..., 2])[:, :, None]
    return rgb.copy()


# ---- step 2: centre crop and box resize --------------------------------------------------


def centre_crop(width: int, height: int, out_width: int, out_height: int) -> tuple[int, int, int, int]:
    """(x0, y0, crop width, crop height): the frame's centre at the output's aspect ratio."""
    if width * out_height > out_width * height:
        crop_w, crop_h = max(1, height * out_width // out_height), height
    else:
        crop_w, crop_h = width, max(1, width * out_height // out_width)
    return (width - crop_w) // 2, (height - crop_h) // 2, crop_w, crop_h


def resize_window(width: int, height: int, out_width: int, out_height: int, mode: str = "crop"
                  ) -> tuple[int, int, int, int]:
    """(x0, y0, window width, window height) of the frame step 2 averages down to the output:
    the centre crop (``crop``) or the whole frame (``stretch``)."""
    if mode == "stretch":
        return 0, 0, width, height
    if mode != "crop":
        raise PreprocessError(PreprocessError.PARAMS, f"resize mode '{mode}' is not one of {', '.join(RESIZE_CODES)}")
    return centre_crop(width, height, out_width, out_height)


def box_edges(crop: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Each output index's source span [first, end) along one axis, at least one wide."""
    o = np.arange(out, dtype=np.int64)
    first = o * crop // out
    end = np.maximum((o + 1) * crop // out, first + 1)
    return first, end


def box_resize(pixels: np.ndarray, out_width: int, out_height: int, mode: str = "crop") -> np.ndarray:
    """Step 2 on (h, w, C) uint8: the window of ``mode`` (centre crop to out_width:out_height,
    or the whole frame for ``stretch``), box-averaged to out_width x out_height."""
    height, width = pixels.shape[:2]
    x0, y0, crop_w, crop_h = resize_window(width, height, out_width, out_height, mode)
    if (crop_w // out_width + 1) * (crop_h // out_height + 1) > MAX_BOX_PIXELS:
        raise PreprocessError(PreprocessError.BOX_TOO_LARGE, f"{width} x {height} to {out_width} x {out_height} "
                              f"averages boxes too large for 32-bit sums on the device")
    crop = pixels[y0:y0 + crop_h, x0:x0 + crop_w].astype(np.int64)
    # Sums over any box from the summed-area table: four lookups per output pixel.
    table = np.zeros((crop_h + 1, crop_w + 1, crop.shape[2]), dtype=np.int64)
    table[1:, 1:] = crop.cumsum(axis=0).cumsum(axis=1)
    r0, r1 = box_edges(crop_h, out_height)
    c0, c1 = box_edges(crop_w, out_width)
    sums = (table[np.ix_(r1, c1)] - table[np.ix_(r0, c1)] - table[np.ix_(r1, c0)] + table[np.ix_(r0, c0)])
    count = ((r1 - r0)[:, None] * (c1 - c0)[None, :])[:, :, None]
    return ((sums + count // 2) // count).astype(np.uint8)


# ---- the whole pipeline ------------------------------------------------------------------


def frame_to_tensor(data: bytes, width: int, height: int, fmt: int | str | PixelFormat,
                    params: PreprocessParams) -> np.ndarray:
    """The model input [1, H, W, C] the device computes from this frame, bit for bit."""
    params.check()
    fmt = pixel_format(fmt)
    dtype = NUMPY_DTYPES[params.dtype]
    shape = (1, params.height, params.width, params.channels)
    if fmt == PixelFormat.TENSOR:
        if len(data) != params.tensor_bytes:
            raise PreprocessError(PreprocessError.TENSOR_BYTES, f"TENSOR frame of {len(data)} bytes; the input "
                                  f"takes {params.tensor_bytes}")
        return np.frombuffer(bytes(data), dtype=dtype).reshape(shape).copy()
    pixels = decode_pixels(data, width, height, fmt, 1 if params.luma else 3)
    if not params.luma and params.channel_order == "bgr":
        pixels = pixels[:, :, ::-1]
    values = box_resize(pixels, params.width, params.height, params.resize)
    if values.shape[2] != params.channels:  # grayscale into a 3-channel input: the luma in each
        values = np.repeat(values, params.channels, axis=2)
    lut = np.asarray(params.lut)
    if lut.ndim == 2:  # channel c's value indexes row c
        return lut[np.arange(params.channels), values].reshape(shape)
    return lut[values].reshape(shape)


# ---- host-side frames: images in, captures out -------------------------------------------


def image_to_rgb888(path: str | Path) -> tuple[bytes, int, int]:
    """An image file as an RGB888 frame of its own size: (bytes, width, height)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
            return rgb.tobytes(), rgb.width, rgb.height
    except (UnidentifiedImageError, OSError) as exc:
        raise McugenError(f"cannot read image {path}: {exc}") from None


def _rgb_array(img_or_array: Any) -> np.ndarray:
    """(h, w, 3) uint8 from a PIL image or an array (h, w), (h, w, 1), (h, w, 3) or (h, w, 4)."""
    if hasattr(img_or_array, "convert"):
        return np.asarray(img_or_array.convert("RGB"), dtype=np.uint8)
    arr = np.asarray(img_or_array)
    if arr.dtype != np.uint8:
        raise McugenError(f"image array must be uint8; got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise McugenError(f"image array must be (h, w), (h, w, 1), (h, w, 3) or (h, w, 4); got {list(arr.shape)}")
    if arr.shape[2] == 1:
        return np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


def pack_frame(rgb: np.ndarray, fmt: int | str | PixelFormat) -> bytes:
    """(h, w, 3) uint8 RGB as a frame's bytes in fmt.

    GRAY8 by step 1's gray formula; RGB565 keeps the top bits (r8 >> 3, g8 >> 2,
    b8 >> 3); YUV422 takes Y by the gray formula and, per pixel pair, the rounded mean
    ((a + b + 1) >> 1) of each pixel's full-range BT.601 chroma
    U = clamp(((-43 R - 85 G + 128 B + 128) >> 8) + 128),
    V = clamp(((128 R - 107 G - 21 B + 128) >> 8) + 128).
    """
    fmt = pixel_format(fmt)
    height, width = rgb.shape[:2]
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    if fmt == PixelFormat.RGB888:
        return np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    if fmt == PixelFormat.GRAY8:
        return _luma(r, g, b).tobytes()
    if fmt == PixelFormat.RGB565:
        r5, g6, b5 = r >> 3, g >> 2, b >> 3
        return np.stack([(r5 << 3) | (g6 >> 3), ((g6 & 0x07) << 5) | b5], axis=-1).astype(np.uint8).tobytes()
    if fmt == PixelFormat.YUV422:
        if width % 2:
            raise PreprocessError(PreprocessError.ODD_WIDTH, f"YUV422 frame width {width} is odd",
                                  "YUYV packs pixels in pairs")
        u = np.clip(((-43 * r - 85 * g + 128 * b + 128) >> 8) + 128, 0, 255)
        v = np.clip(((128 * r - 107 * g - 21 * b + 128) >> 8) + 128, 0, 255)
        y = _luma(r, g, b).astype(np.int32)
        yuyv = np.stack([y[:, 0::2], (u[:, 0::2] + u[:, 1::2] + 1) >> 1, y[:, 1::2],
                         (v[:, 0::2] + v[:, 1::2] + 1) >> 1], axis=-1)
        return yuyv.astype(np.uint8).tobytes()
    raise PreprocessError(PreprocessError.FORMAT, f"a camera does not deliver {fmt.name} frames")


def frame_from_image(img_or_array: Any, fmt: int | str | PixelFormat, width: int, height: int) -> bytes:
    """The frame a width x height camera in fmt would deliver looking at this image:
    centre crop and box resize to the camera's size (step 2), then packed (pack_frame)."""
    if width <= 0 or height <= 0:
        raise PreprocessError(PreprocessError.EMPTY_FRAME, f"camera of {width} x {height} pixels")
    return pack_frame(box_resize(_rgb_array(img_or_array), width, height), fmt)


def frame_to_rgb(data: bytes, width: int, height: int, fmt: int | str | PixelFormat) -> np.ndarray:
    """A frame as (height, width, 3) uint8 RGB by step 1, e.g. to save a capture as PNG."""
    return decode_pixels(data, width, height, fmt, 3)


# ---- C rendering -------------------------------------------------------------------------

_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LUT_PER_LINE = 16


def _c_float(value: np.float32) -> str:
    # The shortest decimal that reads back as this float32, with a point so "f" is valid C.
    return np.format_float_positional(np.float32(value), unique=True, trim="0") + "f"


def render_c_params(params: PreprocessParams, name: str) -> str:
    """C text defining the LUT (static const, 16-byte aligned; one table, or one per channel
    back to back) and `const mcugen_preprocess_params_t name`. The including file must
    include mcugen_preprocess.h first."""
    params.check()
    if not _C_IDENTIFIER.fullmatch(name):
        raise McugenError(f"'{name}' is not a C identifier")
    tables = np.asarray(params.lut).reshape(-1, LUT_SIZE)
    if params.dtype == "float32":
        c_type, member = "float", "lut_f"
        entries = [[_c_float(v) for v in table] for table in tables]
    else:
        c_type, member = f"{params.dtype}_t", "lut_q"
        entries = [[str(int(v)) for v in table] for table in tables]
    width = max(len(e) for table in entries for e in table)
    body = []
    for c, table in enumerate(entries):
        if params.lut_per_channel:
            body.append(f"    /* channel {c} ({params.channel_names[c]}) */")
        body += ["    " + ", ".join(e.rjust(width) for e in table[i:i + _LUT_PER_LINE]) + ","
                 for i in range(0, LUT_SIZE, _LUT_PER_LINE)]
    lut_name = f"{name}_lut"
    size = f"{len(tables)} * {LUT_SIZE}" if params.lut_per_channel else f"{LUT_SIZE}"
    # int8 entries are kept readable as int8 and handed over as the bytes they are.
    lut_ref = f"(const uint8_t *){lut_name}" if params.dtype == "int8" else lut_name
    tables_text = "one LUT per channel" if params.lut_per_channel else "LUT"
    about = f"{params.describe()}. {tables_text}: 8-bit pixel value -> input element."
    comment = textwrap.wrap(about.replace("*/", "* /"), 100)
    return "\n".join([
        f"/* Input pre-processing: {params.width} x {params.height} x {params.channels} {params.dtype}:",
        *(f" * {line}" for line in comment[:-1]),
        f" * {comment[-1]} */",
        f"static const {c_type} {lut_name}[{size}] MCUGEN_PREPROCESS_ALIGNED = {{",
        *body,
        "};",
        "",
        f"const mcugen_preprocess_params_t {name} = {{",
        f"    .width = {params.width},",
        f"    .height = {params.height},",
        f"    .channels = {params.channels},",
        f"    .dtype = {DTYPE_MACROS[params.dtype]},",
        f"    .resize = {RESIZE_MACROS[params.resize]},",
        f"    .channel_order = {ORDER_MACROS[params.channel_order]},",
        f"    .grayscale = {int(bool(params.grayscale))}u,",
        f"    .lut_per_channel = {int(params.lut_per_channel)}u,",
        f"    .lut_q = {lut_ref if member == 'lut_q' else 'NULL'},",
        f"    .lut_f = {lut_ref if member == 'lut_f' else 'NULL'},",
        "};",
        "",
    ])
