"""SPLIT, SPLIT_V, UNPACK, PACK, ARG_MAX, RESIZE_BILINEAR and TRANSPOSE_CONV: the
generated C against TFLite Micro, bit for bit.

Single-op models are written here as TFLite flatbuffers (tests/tflite_writer.py)
covering each op's options: negative axes, uneven and inferred SPLIT_V sizes,
first/middle/last axes, ARG_MAX over every axis with ties (int8 inputs hit
them often), bilinear up- and downscaling under every corner mode, and
transposed convolutions with SAME/VALID padding, strides, per-channel and
per-tensor weights, with and without bias, fused activations. Each is run on
random inputs through the generated C (with ASan/UBSan) and through TFLite
Micro. Per-op converter models from tests/models/ops that use these ops run
too, and options mcugen refuses are checked to be refused by layer.
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

FAMILY_OPS = {"SPLIT", "SPLIT_V", "UNPACK", "PACK", "ARG_MAX", "RESIZE_BILINEAR", "TRANSPOSE_CONV"}
N_RANDOM = 20
INT32 = 2  # schema TensorType values for ArgMaxOptions.output_type
INT64 = 4


@dataclass
class Case:
    name: str
    op: str
    inputs: list[T | None]
    outputs: list[T]
    options: dict[str, Any] = field(default_factory=dict)


def write_model(path: Path, case: Case) -> Path:
    return write_op_model(path, case.op, case.inputs, case.outputs, case.options,
                          description="mcugen test_kernels_more_layout")


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _i32(values: list[int], scalar: bool = False) -> T:
    if scalar:
        return T((), "int32", data=np.array(values[0], dtype=np.int32))
    return T((len(values),), "int32", data=np.array(values, dtype=np.int32))


def _act(shape: tuple[int, ...], scale: float = 0.05, zp: int = 3) -> T:
    return T(shape, "int8", scale, zp)


# --------------------------------------------------------------------------
# Case builders
# --------------------------------------------------------------------------

def _split(name: str, shape: tuple[int, ...], axis: int, parts: int) -> Case:
    ax = axis % len(shape)
    out = tuple(shape[d] // parts if d == ax else shape[d] for d in range(len(shape)))
    return Case(name, "SPLIT", [_i32([axis], scalar=True), _act(shape)], [_act(out) for _ in range(parts)],
                {"num_splits": parts})


def _split_v(name: str, shape: tuple[int, ...], axis: int, sizes: list[int], given: list[int] | None = None) -> Case:
    ax = axis % len(shape)
    outs = [_act(tuple(s if d == ax else shape[d] for d in range(len(shape)))) for s in sizes]
    return Case(name, "SPLIT_V", [_act(shape), _i32(given or sizes), _i32([axis], scalar=True)], outs,
                {"num_splits": len(sizes)})


def _unpack(name: str, shape: tuple[int, ...], axis: int) -> Case:
    ax = axis % len(shape)
    out = shape[:ax] + shape[ax + 1:]
    return Case(name, "UNPACK", [_act(shape)], [_act(out) for _ in range(shape[ax])], {"num": shape[ax], "axis": axis})


def _pack(name: str, shape: tuple[int, ...], count: int, axis: int, const: int | None = None) -> Case:
    ax = axis % (len(shape) + 1)
    inputs = [T(shape, "int8", 0.05, 3, _rng(f"{name}{i}").integers(-128, 128, shape, dtype=np.int8))
              if i == const else _act(shape) for i in range(count)]
    return Case(name, "PACK", inputs, [_act(shape[:ax] + (count,) + shape[ax:])], {"values_count": count, "axis": axis})


def _arg_max(name: str, shape: tuple[int, ...], axis: int, out_type: str = "int32") -> Case:
    ax = axis % len(shape)
    out = T(shape[:ax] + shape[ax + 1:], out_type)
    return Case(name, "ARG_MAX", [T(shape, "int8", 0.1, -5), _i32([axis])], [out],
                {"output_type": INT32 if out_type == "int32" else INT64})


def _bilinear(name: str, shape: tuple[int, ...], size: tuple[int, int], align: bool, half: bool) -> Case:
    out = (shape[0], size[0], size[1], shape[3])
    return Case(name, "RESIZE_BILINEAR", [T(shape, "int8", 0.1, -4), _i32(list(size))], [T(out, "int8", 0.1, -4)],
                {"align_corners": align, "half_pixel_centers": half})


def _tconv(name: str, in_shape: tuple[int, ...], out_hw: tuple[int, int], out_c: int, k: tuple[int, int],
           stride: tuple[int, int], padding: str, per_channel: bool = True, bias: bool = True,
           act: str = "NONE") -> Case:
    """TRANSPOSE_CONV: operands output_shape, filter (OHWI), input, optional bias."""
    rng = _rng(name)
    in_c = in_shape[3]
    out_shape = (in_shape[0], out_hw[0], out_hw[1], out_c)
    scales = [float(s) for s in rng.uniform(0.002, 0.02, out_c)] if per_channel else 0.01
    filt = T((out_c, k[0], k[1], in_c), "int8", scales, 0,
             rng.integers(-127, 128, (out_c, k[0], k[1], in_c), dtype=np.int8))
    in_scale = 0.05
    inputs: list[T | None] = [_i32(list(out_shape)), filt, T(in_shape, "int8", in_scale, -7)]
    if bias:
        bias_scales = np.asarray(scales if per_channel else [scales] * out_c) * in_scale
        inputs.append(T((out_c,), "int32", [float(s) for s in bias_scales], 0,
                        rng.integers(-3000, 3000, out_c, dtype=np.int32)))
    return Case(name, "TRANSPOSE_CONV", inputs, [T(out_shape, "int8", 0.08, 5)],
                {"padding": padding, "stride_h": stride[0], "stride_w": stride[1], "fused_activation_function": act})


def _synthetic() -> list[Case]:
    return [
        _split("split_channels_3", (1, 4, 5, 6), -1, 3),
        _split("split_axis0", (4, 3, 2), 0, 2),
        _split("split_middle_axis", (2, 6, 3), 1, 3),
        _split("split_one_part", (3, 4), 1, 1),
        _split_v("split_v_uneven", (1, 3, 4, 9), 3, [2, 4, 3]),
        _split_v("split_v_inferred", (2, 7, 3), -2, [1, 5, 1], given=[1, -1, 1]),
        _split_v("split_v_axis0", (5, 4), 0, [3, 2]),
        _unpack("unpack_axis0", (3, 4, 5), 0),
        _unpack("unpack_last", (2, 3, 4), -1),
        _unpack("unpack_middle", (2, 5, 3), 1),
        _pack("pack_axis0", (3, 4), 3, 0),
        _pack("pack_last", (2, 3), 4, -1),
        _pack("pack_middle_const", (2, 3, 5), 2, 1, const=1),
        _arg_max("arg_max_last", (1, 4, 5, 37), -1),
        _arg_max("arg_max_axis0", (6, 7), 0),
        _arg_max("arg_max_middle", (2, 9, 5), 1),
        _arg_max("arg_max_1d_ties", (300,), 0),
        _bilinear("bilinear_up_plain", (1, 3, 4, 3), (7, 9), False, False),
        _bilinear("bilinear_up_half_pixel", (2, 3, 5, 2), (8, 11), False, True),
        _bilinear("bilinear_up_align", (1, 4, 3, 3), (9, 7), True, False),
        _bilinear("bilinear_down_plain", (1, 9, 11, 2), (4, 5), False, False),
        _bilinear("bilinear_down_half_pixel", (1, 10, 13, 2), (3, 4), False, True),
        _bilinear("bilinear_down_align", (1, 9, 11, 2), (5, 3), True, False),
        _bilinear("bilinear_to_one_align", (1, 5, 6, 2), (1, 1), True, False),
        _bilinear("bilinear_2x", (1, 8, 8, 4), (16, 16), False, True),
        _tconv("tconv_same_s2", (1, 4, 5, 3), (8, 10), 4, (3, 3), (2, 2), "SAME"),
        _tconv("tconv_valid_s2", (1, 4, 5, 3), (9, 11), 2, (3, 3), (2, 2), "VALID"),
        _tconv("tconv_same_s1_relu", (2, 5, 4, 2), (5, 4), 3, (3, 2), (1, 1), "SAME", act="RELU"),
        _tconv("tconv_valid_s3x2_per_tensor", (1, 3, 4, 4), (9, 9), 5, (3, 3), (3, 2), "VALID", per_channel=False),
        _tconv("tconv_same_odd_out_no_bias", (1, 4, 4, 3), (7, 7), 2, (4, 4), (2, 2), "SAME", bias=False),
        _tconv("tconv_same_k2s2_relu6", (1, 6, 6, 8), (12, 12), 4, (2, 2), (2, 2), "SAME", act="RELU6"),
        _tconv("tconv_valid_k1_s2", (1, 3, 3, 2), (6, 5), 3, (1, 1), (2, 2), "VALID"),
    ]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in _synthetic()])
def test_synthetic_bit_exact(case: Case, tmp_path: Path, kernels: str) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, kernels=kernels)
    assert report.inputs >= N_RANDOM, report.to_json()
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("model", manifest_cases(FAMILY_OPS))
def test_op_model_bit_exact(model: Path, kernels: str) -> None:
    generated = compile_or_skip(model, FAMILY_OPS, kernels)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, model=generated)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------

def _refused() -> list[tuple[Case, str]]:
    split_mixed = _split("split_mixed_quant", (1, 4, 6), -1, 2)
    split_mixed.outputs[1] = T((1, 4, 3), "int8", 0.5, 3)
    split_v_bad = _split_v("split_v_wrong_sizes", (1, 3, 8), -1, [3, 5], given=[4, 4])
    pack_mixed = _pack("pack_mixed_quant", (2, 3), 2, 0)
    pack_mixed.inputs[1] = T((2, 3), "int8", 0.05, 4)
    unpack_bad = _unpack("unpack_wrong_num", (3, 4), 0)
    unpack_bad.options["num"] = 2
    arg_axis64 = _arg_max("arg_max_axis_int64", (3, 4), 1)
    arg_axis64.inputs[1] = T((1,), "int64", data=np.array([1], dtype=np.int64))
    tconv_shape = _tconv("tconv_wrong_output_shape", (1, 3, 3, 2), (6, 6), 2, (3, 3), (2, 2), "SAME")
    tconv_shape.inputs[0] = _i32([1, 5, 6, 2])
    return [
        (split_mixed, "requires equal quantization"),
        (split_v_bad, "size_splits"),
        (pack_mixed, "requires equal quantization"),
        (unpack_bad, "option num=2"),
        (_arg_max("arg_max_int64_out", (3, 4), 1, "int64"), "output type int64"),
        (arg_axis64, "axis type int64"),
        (_bilinear("bilinear_align_and_half", (1, 3, 3, 2), (6, 6), True, True), "half_pixel_centers=True"),
        (_tconv("tconv_tanh", (1, 3, 3, 2), (6, 6), 2, (3, 3), (2, 2), "SAME", act="TANH"), "TANH"),
        (tconv_shape, "output_shape"),
    ]


@pytest.mark.parametrize("case,needle", [pytest.param(c, s, id=c.name) for c, s in _refused()])
def test_unsupported_option_refused(case: Case, needle: str, tmp_path: Path) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    message = str(info.value)
    assert message.startswith(f"layer 0 ({case.op}):"), message
    assert needle in message, message
