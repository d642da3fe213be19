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

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
import tflite

from mcugen.codegen.lowering import LOWERINGS, UnsupportedOpError
from mcugen.generate import compile_model
from mcugen.loader import load_model
from mcugen.validate import validate_model

from conftest import shared_model

REPO = Path(__file__).resolve().parents[1]
OPS_DIR = REPO / "tests" / "models" / "ops"
MANIFEST = OPS_DIR / "MANIFEST.json"
FAMILY_OPS = {"ADD", "MUL", "PAD", "PADV2", "CONCATENATION", "STRIDED_SLICE", "TRANSPOSE",
              "RESIZE_NEAREST_NEIGHBOR", "QUANTIZE", "DEQUANTIZE"}
N_RANDOM = 20


def _missing_lowerings(model: Path) -> set[str]:
    from mcugen.codegen import ops  # noqa: F401  (registers the lowerings)

    return {op.op for op in load_model(model).operators} - set(LOWERINGS)


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

def manifest_cases() -> list:
    if not MANIFEST.is_file():
        reason = f"{MANIFEST} not found (run tests/make_op_models.py)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
    cases = json.loads(MANIFEST.read_text())["cases"]
    params = [pytest.param(OPS_DIR / c["file"], id=c["name"]) for c in cases if FAMILY_OPS & set(c["ops"])]
    if not params:
        return [pytest.param(None, marks=pytest.mark.skip(reason="MANIFEST.json lists no model using these ops"))]
    return params


@pytest.mark.parametrize("model", manifest_cases())
def test_op_model_bit_exact(model: Path) -> None:
    if not model.is_file():
        pytest.skip(f"{model.name} is listed in MANIFEST.json but missing")
    missing = _missing_lowerings(model)
    if missing:
        pytest.skip(f"{model.name} also needs kernels mcugen lacks so far: {', '.join(sorted(missing))}")
    report = validate_model(model, n_random=N_RANDOM, sanitize=True)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# A minimal single-operator TFLite flatbuffer writer
# --------------------------------------------------------------------------

TENSOR_TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "int8": 9}
NUMPY = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64, "int8": np.int8}
OPS = {  # builtin code, options table name (None: no options)
    "ADD": (0, "AddOptions"), "MUL": (18, "MulOptions"), "PAD": (34, "PadOptions"),
    "PADV2": (60, "PadV2Options"), "CONCATENATION": (2, "ConcatenationOptions"),
    "STRIDED_SLICE": (45, "StridedSliceOptions"), "TRANSPOSE": (39, "TransposeOptions"),
    "RESIZE_NEAREST_NEIGHBOR": (97, "ResizeNearestNeighborOptions"), "QUANTIZE": (114, "QuantizeOptions"),
    "DEQUANTIZE": (6, "DequantizeOptions"),
}
ACTIVATION = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}


@dataclass
class T:
    """One tensor: shape, type, optional per-tensor quantization, optional constant data."""

    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float | None = None
    zero_point: int = 0
    data: Any = None


@dataclass
class Case:
    name: str
    op: str
    inputs: list[T]
    output: T
    options: dict[str, Any] = field(default_factory=dict)  # option field (schema CamelCase) -> value
    vectors: list[float] | None = None  # extra float32 input values (a single float input)


def _bytes_vector(b: flatbuffers.Builder, payload: bytes) -> int:
    b.StartVector(1, len(payload), 16)  # 16-aligned, so int32 constants are read aligned
    b.head -= len(payload)
    b.Bytes[b.head : b.head + len(payload)] = payload
    b.vectorNumElems = len(payload)
    return b.EndVector()


def _vector(b: flatbuffers.Builder, values: list[int], dtype: Any) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=dtype))


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _tensor(b: flatbuffers.Builder, t: T, index: int, buffer: int) -> int:
    name = b.CreateString(f"t{index}")
    shape = _vector(b, list(t.shape), np.int32)
    quant = None
    if t.scale is not None:
        scale, zp = _vector(b, [t.scale], np.float32), _vector(b, [t.zero_point], np.int64)
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zp)
        quant = tflite.QuantizationParametersEnd(b)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _options(b: flatbuffers.Builder, table: str, options: dict[str, Any]) -> int:
    getattr(tflite, f"{table}Start")(b)
    for key, value in options.items():
        getattr(tflite, f"{table}Add{key}")(b, value)
    return getattr(tflite, f"{table}End")(b)


def write_model(path: Path, case: Case) -> Path:
    b = flatbuffers.Builder(1024)
    tensors = case.inputs + [case.output]
    buffers = [_bytes_vector(b, np.asarray(t.data, dtype=NUMPY[t.dtype]).tobytes()) if t.data is not None else None
               for t in tensors]
    buffer_tables = []
    for data in [None] + buffers:  # buffer 0 is the empty sentinel
        tflite.BufferStart(b)
        if data is not None:
            tflite.BufferAddData(b, data)
        buffer_tables.append(tflite.BufferEnd(b))
    buffer_ids = [i + 1 if data is not None else 0 for i, data in enumerate(buffers)]
    # every tensor gets its own buffer slot number; empty ones point at 0
    tensor_tables = [_tensor(b, t, i, buffer_ids[i]) for i, t in enumerate(tensors)]
    code, table = OPS[case.op]
    options = _options(b, table, case.options)
    op_inputs = _vector(b, list(range(len(case.inputs))), np.int32)
    op_outputs = _vector(b, [len(case.inputs)], np.int32)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_inputs)
    tflite.OperatorAddOutputs(b, op_outputs)
    tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, table))
    tflite.OperatorAddBuiltinOptions(b, options)
    operator = tflite.OperatorEnd(b)
    graph_inputs = _vector(b, [i for i, t in enumerate(case.inputs) if t.data is None], np.int32)
    graph_outputs = _vector(b, [len(case.inputs)], np.int32)
    tensors_vec, operators_vec = _offsets(b, tensor_tables), _offsets(b, [operator])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, graph_inputs)
    tflite.SubGraphAddOutputs(b, graph_outputs)
    tflite.SubGraphAddOperators(b, operators_vec)
    subgraph = tflite.SubGraphEnd(b)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, 1)
    opcode = tflite.OperatorCodeEnd(b)
    opcodes, subgraphs, buffers_vec = _offsets(b, [opcode]), _offsets(b, [subgraph]), _offsets(b, buffer_tables)
    description = b.CreateString("mcugen test_kernels_elementwise_layout")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, opcodes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


# --------------------------------------------------------------------------
# Synthetic cases
# --------------------------------------------------------------------------

def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _const_i8(name: str, shape: tuple[int, ...], scale: float, zp: int) -> T:
    return T(shape, "int8", scale, zp, _rng(name).integers(-128, 128, shape, dtype=np.int8))


def _i32(values: list[int]) -> T:
    return T((len(values),), "int32", data=np.array(values, dtype=np.int32))


def _act(name: str) -> dict[str, int]:
    return {"FusedActivationFunction": ACTIVATION[name]}


def _binary(name: str, op: str, a: T, b: T, out_shape: tuple[int, ...], out_scale: float, out_zp: int,
            act: str = "NONE") -> Case:
    return Case(name, op, [a, b], T(out_shape, "int8", out_scale, out_zp), _act(act))


def _slice(name: str, shape: tuple[int, ...], out_shape: tuple[int, ...], begin: list[int], end: list[int],
           strides: list[int], **masks: int) -> Case:
    options = {"BeginMask": masks.get("begin_mask", 0), "EndMask": masks.get("end_mask", 0),
               "ShrinkAxisMask": masks.get("shrink", 0), "EllipsisMask": masks.get("ellipsis", 0),
               "NewAxisMask": masks.get("new_axis", 0)}
    return Case(name, "STRIDED_SLICE", [T(shape, "int8", 0.05, 3), _i32(begin), _i32(end), _i32(strides)],
                T(out_shape, "int8", 0.05, 3), options)


def _resize(name: str, shape: tuple[int, ...], size: tuple[int, int], align: bool, half: bool) -> Case:
    out = (shape[0], size[0], size[1], shape[3])
    return Case(name, "RESIZE_NEAREST_NEIGHBOR", [T(shape, "int8", 0.1, -4), _i32(list(size))],
                T(out, "int8", 0.1, -4), {"AlignCorners": align, "HalfPixelCenters": half})


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
    return Case(name, "CONCATENATION", inputs, T(out, "int8", 0.07, 9), {"Axis": axis})


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
def test_synthetic_bit_exact(case: Case, tmp_path: Path) -> None:
    model = write_model(tmp_path / f"{case.name}.tflite", case)
    report = validate_model(model, n_random=N_RANDOM, vectors=_vector_file(case, tmp_path), sanitize=True)
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
def test_real_model_bit_exact(name: str) -> None:
    model = shared_model(name)
    if not model.is_file():
        pytest.skip(f"{model} not found in ../shared")
    missing = _missing_lowerings(model)
    if missing:
        pytest.skip(f"{name} also needs kernels mcugen lacks so far: {', '.join(sorted(missing))}")
    report = validate_model(model, n_random=N_RANDOM, sanitize=True)
    assert report.bit_exact == report.inputs, report.to_json()
