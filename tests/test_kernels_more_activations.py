"""SUB, MAXIMUM, MINIMUM, RELU, RELU6, LEAKY_RELU and TANH: the generated C against
TFLite Micro, bit for bit.

Models:
  * the converter-made per-op models in tests/models/ops (MANIFEST.json) that use
    these ops, if any (a visible skip when there are none);
  * single-op models written here with tests/tflite_writer.py: same-shape and
    broadcasting (one side, both sides, constant operands) SUB / MAXIMUM / MINIMUM,
    rescaling RELU and LEAKY_RELU, RELU6 whose 6.0 saturates int8, TANH over input
    scales that put the saturation radius inside and outside the int8 range;
  * options mcugen refuses, each refused at generate time naming the layer.

Every random int8 input covers the whole int8 range, so each kernel sees every
input value (and for the unary ops, every value across the 20 inputs).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcugen.codegen.lowering import UnsupportedOpError
from mcugen.generate import compile_model
from mcugen.validate import validate_model

from op_cases import compile_or_skip, manifest_cases
from tflite_writer import Tensor as T
from tflite_writer import write_op_model

FAMILY_OPS = {"SUB", "MAXIMUM", "MINIMUM", "RELU", "RELU6", "LEAKY_RELU", "TANH"}
N_RANDOM = 20


@dataclass
class Case:
    name: str
    op: str
    inputs: list[T]
    output: T
    options: dict[str, Any] | None = field(default_factory=dict)  # None: no options table


def write_model(path: Path, case: Case) -> Path:
    return write_op_model(path, case.op, case.inputs, [case.output], case.options,
                          description="mcugen test_kernels_more_activations")


def _const_i8(name: str, shape: tuple[int, ...], scale: float, zp: int) -> T:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return T(shape, "int8", scale, zp, rng.integers(-128, 128, shape, dtype=np.int8))


def _sub(name: str, a: T, b: T, out_shape: tuple[int, ...], out_scale: float, out_zp: int,
         act: str = "NONE") -> Case:
    return Case(name, "SUB", [a, b], T(out_shape, "int8", out_scale, out_zp), {"fused_activation_function": act})


def _minmax(name: str, op: str, a: tuple[int, ...] | T, b: tuple[int, ...] | T, out_shape: tuple[int, ...],
            scale: float = 0.07, zp: int = -5) -> Case:
    inputs = [x if isinstance(x, T) else T(x, "int8", scale, zp) for x in (a, b)]
    return Case(name, op, inputs, T(out_shape, "int8", scale, zp), None)


def _unary(name: str, op: str, shape: tuple[int, ...], in_q: tuple[float, int], out_q: tuple[float, int],
           options: dict[str, Any] | None = None) -> Case:
    return Case(name, op, [T(shape, "int8", *in_q)], T(shape, "int8", *out_q), options)


def _binary_cases() -> list[Case]:
    s = (1, 4, 5, 8)
    return [
        _sub("sub_same_shape", T(s, "int8", 0.05, 3), T(s, "int8", 0.08, -7), s, 0.1, 2),
        _sub("sub_relu6", T(s, "int8", 0.05, -128), T(s, "int8", 0.05, 10), s, 0.03, -128, "RELU6"),
        _sub("sub_bcast_channel", T(s, "int8", 0.04, 0), T((8,), "int8", 0.02, -20), s, 0.06, 5),
        _sub("sub_bcast_both", T((1, 4, 1, 8), "int8", 0.1, 1), T((1, 1, 5, 1), "int8", 0.12, -3),
             s, 0.2, 0, "RELU"),
        _sub("sub_const_first", _const_i8("sub_const_first", (8,), 0.05, 4), T(s, "int8", 0.05, -9), s, 0.07, 0),
        _sub("sub_scalar", T(s, "int8", 0.05, 4), _const_i8("sub_scalar", (), 0.3, 0), s, 0.1, -1),
        _sub("sub_5d_bcast", T((2, 1, 3, 1, 4), "int8", 0.05, 3), T((1, 2, 1, 5, 1), "int8", 0.06, -3),
             (2, 2, 3, 5, 4), 0.09, 7),
        _minmax("maximum_same_shape", "MAXIMUM", s, s, s),
        _minmax("minimum_same_shape", "MINIMUM", s, s, s),
        _minmax("maximum_bcast_channel", "MAXIMUM", s, (8,), s),
        _minmax("minimum_bcast_both", "MINIMUM", (1, 4, 1, 8), (1, 1, 5, 1), s),
        _minmax("maximum_const", "MAXIMUM", s, _const_i8("maximum_const", (1, 1, 5, 8), 0.07, -5), s),
        _minmax("minimum_scalar_first", "MINIMUM", _const_i8("minimum_scalar", (), 0.07, -5), s, s),
    ]


def _unary_cases() -> list[Case]:
    s = (1, 6, 7, 9)
    return [
        _unary("relu_same_quant", "RELU", s, (0.05, -10), (0.05, -10), None),
        _unary("relu_rescale_down", "RELU", s, (0.05, -10), (0.03, -128), None),
        _unary("relu_rescale_up", "RELU", s, (0.02, 30), (0.1, -100), None),
        _unary("relu_zp_below_range", "RELU", s, (0.05, 0), (0.01, 127), None),
        # 0.03 / 0.08 = 0.375 puts exact halves in the requantization: only the
        # multiplier TFLM actually computes rounds them the same way
        _unary("relu_rounding_ties", "RELU", s, (0.03, 5), (0.08, -30), None),
        _unary("relu6_typical", "RELU6", s, (0.05, -20), (0.05, -20), None),
        _unary("relu6_six_saturates", "RELU6", s, (0.02, -100), (0.02, -100), None),
        _unary("relu6_tie", "RELU6", s, (0.1, 3), (0.1, 3), None),  # 6 / 0.1 in float32
        # the converter's standalone RELU6 has its own output range; TFLM ignores it
        _unary("relu6_other_output_quant", "RELU6", s, (0.05, -20), (6 / 255, -128), None),
        _unary("leaky_relu_0_2", "LEAKY_RELU", s, (0.05, -10), (0.04, 7), {"alpha": 0.2}),
        _unary("leaky_relu_0_01", "LEAKY_RELU", s, (0.1, 20), (0.1, 20), {"alpha": 0.01}),
        _unary("leaky_relu_zero_alpha", "LEAKY_RELU", s, (0.1, 0), (0.05, -128), {"alpha": 0.0}),
        _unary("leaky_relu_alpha_above_one", "LEAKY_RELU", s, (0.03, 5), (0.08, -30), {"alpha": 1.7}),
        _unary("leaky_relu_rounding_ties", "LEAKY_RELU", s, (0.05, 0), (0.02, 0), {"alpha": 0.3}),
        _unary("tanh_typical", "TANH", s, (0.05, 3), (1 / 128, 0), None),
        _unary("tanh_wide", "TANH", s, (0.2, -10), (1 / 128, 0), None),
        _unary("tanh_narrow", "TANH", s, (0.004, 0), (1 / 128, 0), None),
        _unary("tanh_very_wide", "TANH", s, (1.3, 17), (1 / 128, 0), None),
    ]


@pytest.mark.parametrize("model", manifest_cases(FAMILY_OPS))
def test_op_model_bit_exact(model: Path, kernels: str) -> None:
    generated = compile_or_skip(model, FAMILY_OPS, kernels)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, model=generated)
    assert report.bit_exact == report.inputs, report.to_json()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in _binary_cases() + _unary_cases()])
def test_synthetic_bit_exact(case: Case, tmp_path: Path, kernels: str) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, kernels=kernels)
    assert report.inputs >= N_RANDOM, report.to_json()
    assert report.bit_exact == report.inputs, report.to_json()


def test_every_op_is_covered() -> None:
    covered = {c.op for c in _binary_cases() + _unary_cases()}
    assert covered == FAMILY_OPS


def _refused() -> list[tuple[Case, str]]:
    s = (1, 3, 4, 5)
    mixed_max = _minmax("maximum_mixed_quant", "MAXIMUM", s, s, s)
    mixed_max.inputs[1] = T(s, "int8", 0.5, 0)
    return [
        (_sub("sub_tanh", T(s, "int8", 0.1, 0), T(s, "int8", 0.1, 0), s, 0.1, 0, "TANH"), "TANH"),
        (_sub("sub_output_multiplier_too_big", T(s, "int8", 1.0, 0), T(s, "int8", 1.0, 0), s, 1e-7, 0),
         "outside (0, 1)"),
        (mixed_max, "share one quantization"),
        (Case("minimum_mixed_output", "MINIMUM", [T(s, "int8", 0.07, -5), T(s, "int8", 0.07, -5)],
              T(s, "int8", 0.07, 3), None), "share one quantization"),
        (Case("relu_per_channel", "RELU", [T(s, "int8", [0.1] * 5, 0, axis=3)], T(s, "int8", 0.1, 0), None),
         "quantized per tensor"),
        (_unary("leaky_relu_negative_alpha", "LEAKY_RELU", s, (0.05, 0), (0.05, 0), {"alpha": -0.5}),
         "alpha=-0.5"),
        (_unary("tanh_output_zp", "TANH", s, (0.05, 0), (1 / 128, -128), None), "zero point must be 0"),
    ]


@pytest.mark.parametrize("case,needle", [pytest.param(c, n, id=c.name) for c, n in _refused()])
def test_unsupported_option_refused(case: Case, needle: str, tmp_path: Path) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    message = str(info.value)
    assert message.startswith(f"layer 0 ({case.op}):"), message
    assert needle in message, message
