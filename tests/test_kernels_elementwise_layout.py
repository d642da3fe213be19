"""ADD, MUL, PAD, PADV2, CONCATENATION, STRIDED_SLICE, TRANSPOSE,
RESIZE_NEAREST_NEIGHBOR, QUANTIZE and DEQUANTIZE: the generated C against TFLite
Micro, bit for bit.

Three sources of models, TFLite Micro the oracle for all:
  * the per-op models in tests/models/ops (MANIFEST.json), made by the TensorFlow
    converter (tests/make_op_models.py);
  * single-op models written here directly as TFLite flatbuffers, for variants
    the converter does not readily emit: broadcasting on both sides and over five
    dimensions, constant first operands, MUL multipliers above one, 5-D and PADV2
    pads, negative concatenation axes, odd strided-slice clamps and shrinks, 5-D
    transposes, downscaling nearest-neighbour resizes, every 8-bit requantizing
    QUANTIZE, float edges fed exact rounding ties; and options mcugen must refuse;
  * the real models in ../shared that use these ops, when every kernel they need
    exists.
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

from conftest import shared_model
from op_cases import compile_or_skip, manifest_cases
from tflite_writer import Tensor as T
from tflite_writer import write_op_model

FAMILY_OPS = {"ADD", "MUL", "PAD", "PADV2", "CONCATENATION", "STRIDED_SLICE", "TRANSPOSE",
              "RESIZE_NEAREST_NEIGHBOR", "QUANTIZE", "DEQUANTIZE"}
N_RANDOM = 20


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("model", manifest_cases(FAMILY_OPS))
def test_op_model_bit_exact(model: Path, kernels: str) -> None:
    generated = compile_or_skip(model, FAMILY_OPS, kernels)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, model=generated)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# Single-operator models
# --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    op: str
    inputs: list[T]
    output: T
    options: dict[str, Any] = field(default_factory=dict)  # schema option field (snake_case) -> value
    vectors: list[float] | None = None  # extra float32 input values (a single float input)


def write_model(path: Path, case: Case) -> Path:
    return write_op_model(path, case.op, case.inputs, [case.output], case.options,
                          description="mcugen test_kernels_elementwise_layout")


# --------------------------------------------------------------------------
# Synthetic cases
# --------------------------------------------------------------------------

def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _const_i8(name: str, shape: tuple[int, ...], scale: float, zp: int) -> T:
    return T(shape, "int8", scale, zp, _rng(name).integers(-128, 128, shape, dtype=np.int8))


def _i32(values: list[int]) -> T:
    return T((len(values),), "int32", data=np.array(values, dtype=np.int32))


def _act(name: str) -> dict[str, str]:
    return {"fused_activation_function": name}


def _binary(name: str, op: str, a: T, b: T, out_shape: tuple[int, ...], out_scale: float, out_zp: int,
            act: str = "NONE") -> Case:
    return Case(name, op, [a, b], T(out_shape, "int8", out_scale, out_zp), _act(act))


def _slice(name: str, shape: tuple[int, ...], out_shape: tuple[int, ...], begin: list[int], end: list[int],
           strides: list[int], **masks: int) -> Case:
    options = {"begin_mask": masks.get("begin_mask", 0), "end_mask": masks.get("end_mask", 0),
               "shrink_axis_mask": masks.get("shrink", 0), "ellipsis_mask": masks.get("ellipsis", 0),
               "new_axis_mask": masks.get("new_axis", 0)}
    return Case(name, "STRIDED_SLICE", [T(shape, "int8", 0.05, 3), _i32(begin), _i32(end), _i32(strides)],
                T(out_shape, "int8", 0.05, 3), options)


def _resize(name: str, shape: tuple[int, ...], size: tuple[int, int], align: bool, half: bool) -> Case:
    out = (shape[0], size[0], size[1], shape[3])
    return Case(name, "RESIZE_NEAREST_NEIGHBOR", [T(shape, "int8", 0.1, -4), _i32(list(size))],
                T(out, "int8", 0.1, -4), {"align_corners": align, "half_pixel_centers": half})


def _pad(name: str, shape: tuple[int, ...], pads: list[tuple[int, int]], value: int | None = None) -> Case:
    out = tuple(n + b + a for n, (b, a) in zip(shape, pads))
    paddings = T((len(pads), 2), "int32", data=np.array(pads, dtype=np.int32))
    inputs = [T(shape, "int8", 0.03, -17), paddings]
    if value is not None:
        inputs.append(T((), "int8", 0.03, -17, np.array(value, dtype=np.int8)))
    return Case(name, "PADV2" if value is not None else "PAD", inputs, T(out, "int8", 0.03, -17))


def _concat(name: str, shapes: list[tuple[int, ...]], axis: int, const: int | None = None) -> Case:
    inputs = [_const_i8(f"{name}{i}", s, 0.07, 9) if i == const else T(s, "int8", 0.07, 9)
              for i, s in enumerate(shapes)]
    rank = len(shapes[0])
    ax = axis % rank
    out = tuple(sum(s[ax] for s in shapes) if d == ax else shapes[0][d] for d in range(rank))
    return Case(name, "CONCATENATION", inputs, T(out, "int8", 0.07, 9), {"axis": axis})


def _transpose(name: str, shape: tuple[int, ...], perm: list[int]) -> Case:
    out = tuple(shape[p] for p in perm)
    return Case(name, "TRANSPOSE", [T(shape, "int8", 0.2, 1), _i32(perm)], T(out, "int8", 0.2, 1))


def _ties(scale: float, zp: int) -> list[float]:
    """float32 inputs around every rounding tie of x / scale, plus edges beyond the int8 range."""
    f = np.float32
    values = []
    for k in range(-140 - zp, 140 - zp):
        tie = f(k + 0.5) * f(scale)
        values += [float(tie), float(np.nextafter(tie, f(np.inf))), float(np.nextafter(tie, f(-np.inf)))]
    return values + [0.0, -0.0, 1000 * scale, -1000 * scale]


def _synthetic() -> list[Case]:
    s = (1, 3, 4, 5)
    ties = _ties(0.0125, 12)
    return [
        _binary("add_both_sides_broadcast", "ADD", T((2, 1, 4, 1), "int8", 0.05, -3), T((1, 3, 1, 5), "int8", 0.11, 7),
                (2, 3, 4, 5), 0.09, 2, "RELU_N1_TO_1"),
        _binary("add_5d_broadcast", "ADD", T((2, 1, 3, 1, 4), "int8", 0.02, 0), T((3, 1, 2, 4), "int8", 0.02, -128),
                (2, 3, 3, 2, 4), 0.05, -10),
        _binary("add_const_first_scalar", "ADD", _const_i8("c0", (), 0.5, 0), T(s, "int8", 0.01, 20), s, 0.3, -1),
        _binary("add_very_different_scales", "ADD", T(s, "int8", 0.001, 5), _const_i8("c1", (5,), 0.9, -2), s, 0.4, 0,
                "RELU6"),
        _binary("mul_both_sides_broadcast", "MUL", T((3, 1), "int8", 0.05, -3), T((1, 1, 7), "int8", 0.11, 7),
                (1, 3, 7), 0.004, 2, "RELU"),
        _binary("mul_multiplier_above_one", "MUL", T(s, "int8", 0.5, 1), T(s, "int8", 0.25, -1), s, 0.01, 0),
        _binary("mul_const_first", "MUL", _const_i8("c2", (1, 1, 4, 1), 0.02, 4), T(s, "int8", 0.3, -60), s, 0.02, 3),
        _pad("pad_5d", (2, 3, 1, 2, 3), [(1, 0), (0, 2), (1, 1), (0, 0), (2, 1)]),
        _pad("pad_2d_channels", (5, 6), [(0, 0), (3, 2)]),
        _pad("pad_zero", (1, 4, 4, 2), [(0, 0)] * 4),
        _pad("padv2_value", (1, 4, 5, 3), [(0, 0), (2, 1), (1, 3), (0, 0)], value=77),
        _concat("concat_axis_minus1_4in", [(2, 3, 1), (2, 3, 4), (2, 3, 2), (2, 3, 3)], -1),
        _concat("concat_axis0_const", [(2, 5), (3, 5)], 0, const=1),
        _concat("concat_axis1_minus3", [(1, 2, 3, 4), (1, 5, 3, 4)], -3),
        _slice("slice_negative_indices", (1, 7, 9, 4), (1, 3, 5, 2), [0, -5, -9, 1], [1, -2, 100, 3], [1, 1, 2, 1]),
        _slice("slice_negative_strides", (1, 7, 9, 4), (1, 4, 3, 4), [0, 6, -1, 0], [1, 0, 0, 4], [1, -2, -3, 1],
               end_mask=2),
        _slice("slice_shrink_two_axes", (2, 5, 6, 3), (5, 3), [1, 0, 4, 0], [2, 5, 5, 3], [1, 1, 1, 1], shrink=5),
        _slice("slice_2d_big_stride", (6, 10), (2, 1), [1, 3], [6, 10], [3, 7]),
        _slice("slice_1d_reverse_all", (11,), (11,), [0], [0], [-1], begin_mask=1, end_mask=1),
        _transpose("transpose_5d", (2, 3, 1, 4, 5), [4, 0, 3, 1, 2]),
        _transpose("transpose_2d", (7, 9), [1, 0]),
        _transpose("transpose_3d_identity", (3, 4, 5), [0, 1, 2]),
        _resize("resize_down_plain", (1, 9, 11, 3), (4, 5), False, False),
        _resize("resize_down_half_pixel", (2, 9, 11, 3), (4, 7), False, True),
        _resize("resize_down_align", (1, 9, 11, 2), (5, 3), True, False),
        _resize("resize_align_to_one", (1, 6, 7, 2), (1, 1), True, False),
        _resize("resize_up_odd_ratio", (1, 3, 5, 4), (7, 11), True, True),
        Case("quantize_f32_ties", "QUANTIZE", [T((len(ties),), "float32")], T((len(ties),), "int8", 0.0125, 12),
             vectors=ties),
        Case("quantize_f32_zp_min", "QUANTIZE", [T((1, 4, 4, 3), "float32")], T((1, 4, 4, 3), "int8", 1 / 255, -128)),
        Case("requantize_u8_s8_rescale", "QUANTIZE", [T((3, 17), "uint8", 0.03, 130)], T((3, 17), "int8", 0.041, -5)),
        Case("requantize_u8_s8_flip", "QUANTIZE", [T((2, 9), "uint8", 0.5, 128)], T((2, 9), "int8", 0.5, 0)),
        Case("requantize_s8_u8_flip", "QUANTIZE", [T((2, 9), "int8", 1 / 256, -128)], T((2, 9), "uint8", 1 / 256, 0)),
        Case("requantize_s8_u8_rescale", "QUANTIZE", [T((40,), "int8", 0.02, 3)], T((40,), "uint8", 0.013, 120)),
        Case("requantize_s8_s8_up", "QUANTIZE", [T((40,), "int8", 0.02, 3)], T((40,), "int8", 0.006, -9)),
        Case("requantize_s8_s8_down", "QUANTIZE", [T((40,), "int8", 0.02, 3)], T((40,), "int8", 0.07, 11)),
        Case("dequantize_s8", "DEQUANTIZE", [T((2, 64), "int8", 0.0371, -7)], T((2, 64), "float32")),
        Case("dequantize_u8", "DEQUANTIZE", [T((2, 64), "uint8", 0.00713, 131)], T((2, 64), "float32")),
    ]


def _vector_file(case: Case, folder: Path) -> list[Path]:
    if case.vectors is None:
        return []
    path = folder / f"{case.name}.npy"
    np.save(path, np.array(case.vectors, dtype=np.float32))
    return [path]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in _synthetic()])
def test_synthetic_bit_exact(case: Case, tmp_path: Path, kernels: str) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    report = validate_model(model, n_random=N_RANDOM, vectors=_vector_file(case, tmp_path), sanitize=True,
                            kernels=kernels)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# Refusals: what TFLM refuses, or what mcugen will not reproduce
# --------------------------------------------------------------------------

def _refused() -> list[tuple[Case, str]]:
    s = (1, 3, 4, 5)
    mixed = _concat("concat_mixed_quant", [(1, 2, 3), (1, 2, 4)], -1)
    mixed.inputs[1] = T((1, 2, 4), "int8", 0.08, 9)
    padv2 = _pad("padv2_foreign_quant", (1, 4, 4, 2), [(0, 0), (1, 1), (1, 1), (0, 0)], value=3)
    padv2.inputs[2].scale = 0.5
    return [
        (_binary("add_tanh", "ADD", T(s, "int8", 0.1, 0), T(s, "int8", 0.1, 0), s, 0.1, 0, "TANH"), "TANH"),
        (_binary("add_output_multiplier_too_big", "ADD", T(s, "int8", 1.0, 0), T(s, "int8", 1.0, 0), s, 1e-7, 0),
         "outside (0, 1)"),
        (mixed, "requires equal quantization"),
        (_slice("slice_ellipsis", (1, 4, 4, 3), (1, 4, 4, 2), [0, 0, 0, 0], [1, 4, 4, 2], [1, 1, 1, 1], ellipsis=1),
         "ellipsis_mask=1"),
        (_slice("slice_5d", (1, 2, 4, 4, 3), (1, 2, 4, 4, 2), [0] * 5, [1, 2, 4, 4, 2], [1] * 5), "at most 4"),
        (padv2, "PADV2"),
        (_pad("pad_negative", (1, 5, 5, 2), [(0, 0), (-1, 0), (0, 0), (0, 0)]), "negative paddings"),
        (Case("quantize_f32_to_u8", "QUANTIZE", [T((8,), "float32")], T((8,), "uint8", 0.1, 128)),
         "float32 -> uint8"),
        (Case("requantize_u8_u8", "QUANTIZE", [T((8,), "uint8", 0.1, 128)], T((8,), "uint8", 0.2, 128)),
         "uint8 -> uint8"),
    ]


@pytest.mark.parametrize("case,needle", [pytest.param(c, s, id=c.name) for c, s in _refused()])
def test_unsupported_option_refused(case: Case, needle: str, tmp_path: Path) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    message = str(info.value)
    assert message.startswith(f"layer 0 ({case.op}):"), message
    assert needle in message, message


# --------------------------------------------------------------------------
# Real models that use these ops
# --------------------------------------------------------------------------

REAL_MODELS = ["fomo_face_detection.tflite", "pretrainedResnet_quant.tflite", "wv_quality_k_8_c_5.tflite"]


@pytest.mark.parametrize("name", REAL_MODELS)
def test_real_model_bit_exact(name: str, kernels: str) -> None:
    model = shared_model(name)
    if not model.is_file():
        pytest.skip(f"{model} not found in ../shared")
    generated = compile_or_skip(model, FAMILY_OPS, kernels)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, model=generated)
    assert report.bit_exact == report.inputs, report.to_json()
