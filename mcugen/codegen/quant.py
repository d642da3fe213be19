"""Quantization constants computed on the host exactly as TFLite Micro's Prepare does.

Everything here runs once at generate time; the C only ever sees the integers.
Float arithmetic mirrors TFLM's precision: float32 where TFLM computes in float,
double where it computes in double.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Quantization, Tensor

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """C's round(): halves go away from zero (Python's round() goes to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM's QuantizeMultiplier: real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    fixed = round_half_away(mantissa * (1 << 31))
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(fixed), int(shift)


def f32(x: float) -> np.float32:
    return np.float32(x)


def quantize_float(value: float, scale: float, zero_point: int) -> int:
    """TFLM's Quantize helper for activation bounds: zp + round(f / scale) in float32."""
    return zero_point + round_half_away(float(f32(value) / f32(scale)))


def activation_range(fused: str, out: Tensor, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """TFLM's CalculateActivationRangeQuantized for a fused activation."""
    q = require_per_tensor(out)
    scale, zp = q.scale[0], q.zero_point[0]
    if fused == "RELU":
        return max(qmin, quantize_float(0.0, scale, zp)), qmax
    if fused == "RELU6":
        return max(qmin, quantize_float(0.0, scale, zp)), min(qmax, quantize_float(6.0, scale, zp))
    if fused == "RELU_N1_TO_1":
        return max(qmin, quantize_float(-1.0, scale, zp)), min(qmax, quantize_float(1.0, scale, zp))
    if fused in ("NONE", None, 0):
        return qmin, qmax
    raise ValueError(fused)


def require_per_tensor(t: Tensor) -> Quantization:
    if t.quant is None:
        raise ValueError(f"tensor {t.label()} is not quantized")
    return t.quant


def scale_of(t: Tensor) -> float:
    return require_per_tensor(t).scale[0]


def zero_point_of(t: Tensor) -> int:
    return require_per_tensor(t).zero_point[0]


def wrap_int32(value: int) -> int:
    """value modulo 2^32 as a two's-complement int32 (what the kernels' uint32 sums hold)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
