"""TFLite Micro's integer requantization arithmetic, in numpy, bit for bit.

The arm-dsp kernels for ADD, SUB and the 8-bit QUANTIZE see only int8 (or uint8)
values, so the generator can evaluate TFLM's arithmetic for every possible input
at generate time: to fill a lookup table, or to prove a cheaper formula gives the
same bytes for every input before a layer takes it. These mirror the portable
kernels' C (mcugen_common.h) exactly, in int64 so nothing wraps by accident.
"""

from __future__ import annotations

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap32(x: np.ndarray) -> np.ndarray:
    """int64 values modulo 2^32 as two's-complement int32 (still held in int64)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def sat_rounding_doubling_high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul (mcugen_sat_rounding_doubling_high_mul)."""
    a = np.asarray(a, dtype=np.int64)
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = ab + nudge
    # C's int64 division truncates toward zero; numpy's // floors
    quotient = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), quotient)


def rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT (mcugen_rounding_divide_by_pot): halves away from zero."""
    x = np.asarray(x, dtype=np.int64)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def requantize(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLM's MultiplyByQuantizedMultiplier (mcugen_requantize): the left shift wraps like int32."""
    left, right = max(shift, 0), max(-shift, 0)
    shifted = wrap32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(sat_rounding_doubling_high_mul(shifted, multiplier), right)


def smmlar(a: np.ndarray, b: int, acc: np.ndarray) -> np.ndarray:
    """The SMMLAR instruction (mcugen_smmlar): acc + the rounded high word of a * b, modulo 2^32."""
    product = np.asarray(a, dtype=np.int64) * np.int64(b)
    return wrap32(np.asarray(acc, dtype=np.int64) + ((product + (1 << 31)) >> 32))
