"""The arm-dsp ADD / SUB, MAX_POOL_2D / AVERAGE_POOL_2D, 8-bit QUANTIZE and PAD
kernels against TFLite Micro, bit for bit, where their shortcuts could go wrong.

ADD and SUB rescale the input with the larger scale exactly and the other with
TFLM's two roundings in a few instructions, and the 8-bit QUANTIZE is a table made
at generate time: both see only int8 (uint8) values, so these tests feed every
possible input (every pair, for ADD / SUB) through the generated C. The pools work
on four channels at a time and redo the last few when the count is not a multiple
of four; PAD moves words from and to any alignment. Each case also checks that the
arm-dsp kernel, not the portable fallback, is the one that ran.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mcugen.codegen.ops.elementwise import add_dsp_constants
from mcugen.codegen.ops.quantize import requantize_table
from mcugen.generate import compile_model
from mcugen.ir import Operator, Quantization, Tensor
from mcugen.target import HOST
from mcugen.validate import validate_model

from tflite_writer import Tensor as T
from tflite_writer import write_op_model

PAIRS = 256 * 256


def _check(path: Path, op: str, vectors: list[Path] | None = None, n_random: int = 6) -> None:
    model = compile_model(path, HOST, "arm-dsp")
    variants = {layer.spec.variant for layer in model.module.layers if layer.spec and layer.op == op}
    assert variants == {"arm-dsp"}, f"{op} took {variants}"
    report = validate_model(path, n_random=n_random, vectors=vectors, sanitize=True, kernels="arm-dsp", model=model)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# ADD / SUB: every pair of int8 inputs (input1 the model input, input2 a constant)
# --------------------------------------------------------------------------

# op, input1 (scale, zp), input2 (scale, zp), output (scale, zp), fused activation
ADD_CASES = {
    "add_small_first": ("ADD", (0.0125, -7), (0.07, 30), (0.06, 5), "NONE"),
    "add_small_second_relu": ("ADD", (0.2, 100), (0.0011, -128), (0.21, -128), "RELU"),
    "add_equal_scales_relu6": ("ADD", (0.05, 3), (0.05, -90), (0.04, -128), "RELU6"),
    "sub_big_minus_small": ("SUB", (0.09, -11), (0.02, 44), (0.1, 9), "NONE"),
    "sub_small_minus_big": ("SUB", (0.003, 127), (0.04, -1), (0.03, -2), "RELU_N1_TO_1"),
    "sub_equal_scales": ("SUB", (0.5, 0), (0.5, 0), (0.9, 0), "NONE"),
}


@pytest.mark.parametrize("name", sorted(ADD_CASES))
def test_add_sub_every_pair(name: str, tmp_path: Path) -> None:
    op, (s1, z1), (s2, z2), (so, zo), act = ADD_CASES[name]
    grid = np.arange(-128, 128, dtype=np.int8)
    x1, x2 = np.repeat(grid, 256), np.tile(grid, 256)
    inputs = [T((PAIRS,), "int8", s1, z1), T((PAIRS,), "int8", s2, z2, x2)]
    path = write_op_model(tmp_path / f"{name}.tflite", op, inputs, [T((PAIRS,), "int8", so, zo)],
                          {"fused_activation_function": act})
    np.save(tmp_path / "x1.npy", x1)
    _check(path, op, [tmp_path / "x1.npy"], n_random=1)


def _tensor(index: int, scale: float, zp: int) -> Tensor:
    return Tensor(index, f"t{index}", (1, 8), "int8", Quantization((scale,), (zp,)), None)


def test_add_formula_matches_tflm_for_random_scales() -> None:
    """The generator's own check (all 65536 pairs, in numpy) accepts the kernel's
    formula for every layer tried: it is an identity, not a lucky fit."""
    rng = np.random.default_rng(5)
    for k in range(60):
        s1, s2 = (float(np.float32(10 ** rng.uniform(-4, 0))) for _ in range(2))
        so = float(np.float32(max(s1, s2) * 10 ** rng.uniform(-0.5, 1.5)))
        z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
        op = Operator(0, "ADD" if k % 2 else "SUB", [0, 1], [2], {})
        assert add_dsp_constants(op, _tensor(0, s1, z1), _tensor(1, s2, z2), _tensor(2, so, zo)) is not None


# --------------------------------------------------------------------------
# QUANTIZE int8 / uint8: every input byte
# --------------------------------------------------------------------------

QUANTIZE_CASES = {
    "s8_s8_down": ("int8", (0.02, 3), "int8", (0.07, 11)),
    "s8_s8_up": ("int8", (0.02, -128), "int8", (0.0061, -9)),
    "s8_u8_flip": ("int8", (1 / 256, -128), "uint8", (1 / 256, 0)),
    "s8_u8_rescale": ("int8", (0.3, 40), "uint8", (0.013, 120)),
    "u8_s8_flip": ("uint8", (0.5, 128), "int8", (0.5, 0)),
    "u8_s8_rescale": ("uint8", (0.03, 130), "int8", (0.041, -5)),
}


@pytest.mark.parametrize("name", sorted(QUANTIZE_CASES))
def test_requantize_every_byte(name: str, tmp_path: Path) -> None:
    din, (s1, z1), dout, (s2, z2) = QUANTIZE_CASES[name]
    n = 256 + 3  # and a tail past the last whole word
    path = write_op_model(tmp_path / f"{name}.tflite", "QUANTIZE", [T((n,), din, s1, z1)], [T((n,), dout, s2, z2)])
    raw = (np.arange(n) % 256).astype(np.uint8)
    np.save(tmp_path / "all.npy", raw.view(np.int8) if din == "int8" else raw)
    _check(path, "QUANTIZE", [tmp_path / "all.npy"], n_random=2)


def test_requantize_table_is_the_portable_arithmetic() -> None:
    """Spot values of the table against quantize.c's arithmetic worked by hand: q * 1/2
    rounded half up (SaturatingRoundingDoublingHighMul; no shift to round after), + 10."""
    table = requantize_table("int8", "int8", 0, 10, 1 << 30, 0)  # multiplier 1/2
    assert [int(np.int8(table[i])) for i in (0, 1, 3, 127, 128, 255)] == [10, 11, 12, 74, -54, 10]


# --------------------------------------------------------------------------
# Pools: channels not a multiple of four, border windows, clamps, big windows
# --------------------------------------------------------------------------

def _pool(op: str, shape: tuple[int, int, int, int], filt: tuple[int, int], stride: tuple[int, int], padding: str,
          act: str = "NONE", scale: float = 0.05, zp: int = -3) -> tuple[str, list[T], T, dict]:
    if padding == "SAME":
        oh, ow = math.ceil(shape[1] / stride[0]), math.ceil(shape[2] / stride[1])
    else:
        oh, ow = (shape[1] - filt[0]) // stride[0] + 1, (shape[2] - filt[1]) // stride[1] + 1
    options = {"filter_height": filt[0], "filter_width": filt[1], "stride_h": stride[0], "stride_w": stride[1],
               "padding": padding, "fused_activation_function": act}
    return op, [T(shape, "int8", scale, zp)], T((shape[0], oh, ow, shape[3]), "int8", scale, zp), options


POOL_CASES = {
    f"{kind}_{name}": _pool(op, *args)
    for kind, op in (("max", "MAX_POOL_2D"), ("avg", "AVERAGE_POOL_2D"))
    for name, args in {
        "c7_2x2_same_odd": ((1, 7, 9, 7), (2, 2), (2, 2), "SAME"),
        "c13_3x3_s1_same_relu6": ((2, 6, 5, 13), (3, 3), (1, 1), "SAME", "RELU6", 0.03, -100),
        "c4_1x1": ((1, 5, 5, 4), (1, 1), (1, 1), "VALID"),
        "c9_2x2_s3_relu": ((1, 11, 10, 9), (2, 2), (3, 3), "VALID", "RELU", 0.05, 20),
        "c6_16x16_global": ((1, 16, 16, 6), (16, 16), (1, 1), "VALID"),
        "c5_3x2_s2x1_same_n1to1": ((1, 8, 9, 5), (3, 2), (2, 1), "SAME", "RELU_N1_TO_1", 0.01, 3),
    }.items()
}


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pool(name: str, tmp_path: Path) -> None:
    op, inputs, output, options = POOL_CASES[name]
    path = write_op_model(tmp_path / f"{name}.tflite", op, inputs, [output], options)
    _check(path, op)


def test_avg_pool_sums_at_the_int16_limit(tmp_path: Path) -> None:
    """256 taps of -128 is -32768, the most an int16 lane holds; 256 of 127 the most positive."""
    op, inputs, output, options = _pool("AVERAGE_POOL_2D", (1, 16, 16, 5), (16, 16), (1, 1), "VALID")
    path = write_op_model(tmp_path / "avg_limit.tflite", op, inputs, [output], options)
    extremes = np.stack([np.full((16, 16, 5), v, dtype=np.int8) for v in (-128, 127)])
    np.save(tmp_path / "extremes.npy", extremes)
    _check(path, op, [tmp_path / "extremes.npy"], n_random=2)


# --------------------------------------------------------------------------
# PAD: rows at every alignment
# --------------------------------------------------------------------------

def _pad(shape: tuple[int, ...], pads: list[tuple[int, int]], value: int | None = None) -> tuple[str, list[T], T]:
    out = tuple(n + b + a for n, (b, a) in zip(shape, pads))
    inputs = [T(shape, "int8", 0.03, -17), T((len(pads), 2), "int32", data=np.array(pads, dtype=np.int32))]
    if value is not None:
        inputs.append(T((), "int8", 0.03, -17, np.array(value, dtype=np.int8)))
    return ("PADV2" if value is not None else "PAD"), inputs, T(out, "int8", 0.03, -17)


PAD_CASES = {
    "hw_c3": _pad((1, 17, 19, 3), [(0, 0), (1, 1), (2, 1), (0, 0)]),
    "hw_c48": _pad((1, 24, 24, 48), [(0, 0), (0, 1), (0, 1), (0, 0)]),
    "channels_only": _pad((1, 7, 9, 5), [(0, 0), (0, 0), (0, 0), (3, 2)]),
    "every_dim_v2": _pad((2, 5, 6, 7), [(1, 0), (2, 3), (1, 2), (1, 1)], 77),
    "five_dims": _pad((2, 3, 4, 5, 6), [(1, 0), (0, 2), (1, 1), (0, 0), (2, 1)]),
    "one_dim_odd": _pad((301,), [(13, 6)]),
}


@pytest.mark.parametrize("name", sorted(PAD_CASES))
def test_pad(name: str, tmp_path: Path) -> None:
    op, inputs, output = PAD_CASES[name]
    path = write_op_model(tmp_path / f"{name}.tflite", op, inputs, [output])
    _check(path, op, n_random=3)
