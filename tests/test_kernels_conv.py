"""CONV_2D and DEPTHWISE_CONV_2D: the generated C against TFLite Micro, bit for bit.

Two sources of models:
  * the per-op models in tests/models/ops (MANIFEST.json), made by the TensorFlow
    converter (tests/make_op_models.py);
  * small models written here directly as TFLite flatbuffers, for variants the
    converter does not readily emit: grouped convolution, channel counts that cross
    the depthwise kernel's 32-channel accumulator blocks in the middle of a
    depth-multiplier group, batches > 1, windows lying wholly in the padding, and
    options mcugen must refuse. TFLite Micro is the oracle for both.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from mcugen.codegen.lowering import UnsupportedOpError
from mcugen.generate import compile_model
from mcugen.validate import validate_model

REPO = Path(__file__).resolve().parents[1]
OPS_DIR = REPO / "tests" / "models" / "ops"
MANIFEST = OPS_DIR / "MANIFEST.json"
CONV_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
N_RANDOM = 20


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

def manifest_cases() -> list:
    if not MANIFEST.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{MANIFEST} not found (run tests/make_op_models.py)"))]
    cases = json.loads(MANIFEST.read_text())["cases"]
    params = [pytest.param(OPS_DIR / c["file"], id=c["name"]) for c in cases if CONV_OPS & set(c["ops"])]
    if not params:
        return [pytest.param(None, marks=pytest.mark.skip(reason="MANIFEST.json lists no CONV_2D/DEPTHWISE_CONV_2D"))]
    return params


@pytest.mark.parametrize("model", manifest_cases())
def test_op_model_bit_exact(model: Path) -> None:
    if not model.is_file():
        pytest.skip(f"{model.name} is listed in MANIFEST.json but missing")
    try:
        compile_model(model)
    except UnsupportedOpError as exc:
        if exc.op.op not in CONV_OPS:
            pytest.skip(f"{model.name} also needs a kernel mcugen lacks: {exc}")
        raise
    report = validate_model(model, n_random=N_RANDOM, sanitize=True)
    assert report.bit_exact == report.inputs, report.to_json()


# --------------------------------------------------------------------------
# A minimal TFLite flatbuffer writer (schema.fbs field slots in comments)
# --------------------------------------------------------------------------

INT8, INT32 = 9, 2  # TensorType
CONV_2D, DEPTHWISE_CONV_2D = 3, 4  # BuiltinOperator
CONV_OPTIONS, DEPTHWISE_OPTIONS = 1, 2  # BuiltinOptions union tags
PADDING = {"SAME": 0, "VALID": 1}
ACTIVATION = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}


@dataclass
class TensorSpec:
    shape: tuple[int, ...]
    dtype: int
    scale: list[float]
    zero_point: list[int]
    axis: int = 0
    data: bytes | None = None


def _int_vector(b: flatbuffers.Builder, values: list[int], width: int = 4) -> int:
    b.StartVector(width, len(values), width)
    for v in reversed(values):
        (b.PrependInt32 if width == 4 else b.PrependInt64)(int(v))
    return b.EndVector()


def _offset_vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _tensor(b: flatbuffers.Builder, t: TensorSpec, buffer: int, name: str) -> int:
    b.StartVector(4, len(t.scale), 4)
    for s in reversed(t.scale):
        b.PrependFloat32(float(s))
    scales = b.EndVector()
    zps = _int_vector(b, t.zero_point, width=8)
    b.StartObject(7)  # QuantizationParameters
    b.PrependUOffsetTRelativeSlot(2, scales, 0)
    b.PrependUOffsetTRelativeSlot(3, zps, 0)
    b.PrependInt32Slot(6, t.axis, 0)
    quant = b.EndObject()
    shape = _int_vector(b, list(t.shape))
    label = b.CreateString(name)
    b.StartObject(5)  # Tensor: shape, type, buffer, name, quantization
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependInt8Slot(1, t.dtype, 0)
    b.PrependUint32Slot(2, buffer, 0)
    b.PrependUOffsetTRelativeSlot(3, label, 0)
    b.PrependUOffsetTRelativeSlot(4, quant, 0)
    return b.EndObject()


def _options(b: flatbuffers.Builder, depthwise: bool, o: dict) -> int:
    if depthwise:  # padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h
        b.StartObject(7)
        b.PrependInt8Slot(0, PADDING[o["padding"]], 0)
        b.PrependInt32Slot(1, o["stride"][1], 0)
        b.PrependInt32Slot(2, o["stride"][0], 0)
        b.PrependInt32Slot(3, o["depth_multiplier"], 0)
        b.PrependInt8Slot(4, ACTIVATION[o["activation"]], 0)
        b.PrependInt32Slot(5, o["dilation"][1], 1)
        b.PrependInt32Slot(6, o["dilation"][0], 1)
    else:  # padding, stride_w, stride_h, activation, dilation_w, dilation_h
        b.StartObject(7)
        b.PrependInt8Slot(0, PADDING[o["padding"]], 0)
        b.PrependInt32Slot(1, o["stride"][1], 0)
        b.PrependInt32Slot(2, o["stride"][0], 0)
        b.PrependInt8Slot(3, ACTIVATION[o["activation"]], 0)
        b.PrependInt32Slot(4, o["dilation"][1], 1)
        b.PrependInt32Slot(5, o["dilation"][0], 1)
    return b.EndObject()


def write_model(path: Path, depthwise: bool, tensors: list[TensorSpec], options: dict) -> Path:
    """One-operator model: tensors are input, filter, bias (or None), output."""
    b = flatbuffers.Builder(1024)
    present = [(i, t) for i, t in enumerate(tensors) if t is not None]
    index = {i: k for k, (i, _) in enumerate(present)}
    # Buffer 0 is the empty sentinel; constants get one buffer each.
    blobs: list[bytes | None] = [None]
    buffer_of = {}
    for i, t in present:
        if t.data is not None:
            buffer_of[i] = len(blobs)
            blobs.append(t.data)
    buffers = []
    for blob in blobs:
        data = b.CreateByteVector(blob) if blob is not None else None
        b.StartObject(1)
        if data is not None:
            b.PrependUOffsetTRelativeSlot(0, data, 0)
        buffers.append(b.EndObject())
    names = ["input", "filter", "bias", "output"]
    tensor_offsets = [_tensor(b, t, buffer_of.get(i, 0), names[i]) for i, t in present]
    opts = _options(b, depthwise, options)
    # A missing bias is -1 for CONV_2D (the optional-input marker). DEPTHWISE_CONV_2D
    # gets two inputs instead: TFLite Micro's depthwise Prepare crashes on a -1 bias
    # (it frees the absent bias tensor whenever the node has three inputs).
    op_input_list = [index[i] if tensors[i] is not None else -1 for i in range(3)]
    if depthwise and tensors[2] is None:
        op_input_list = op_input_list[:2]
    op_inputs = _int_vector(b, op_input_list)
    op_outputs = _int_vector(b, [index[3]])
    b.StartObject(5)  # Operator: opcode_index, inputs, outputs, builtin_options_type, builtin_options
    b.PrependUint32Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, op_inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, op_outputs, 0)
    b.PrependUint8Slot(3, DEPTHWISE_OPTIONS if depthwise else CONV_OPTIONS, 0)
    b.PrependUOffsetTRelativeSlot(4, opts, 0)
    operator = b.EndObject()
    sg_tensors = _offset_vector(b, tensor_offsets)
    sg_inputs = _int_vector(b, [index[0]])
    sg_outputs = _int_vector(b, [index[3]])
    sg_ops = _offset_vector(b, [operator])
    b.StartObject(4)  # SubGraph: tensors, inputs, outputs, operators
    b.PrependUOffsetTRelativeSlot(0, sg_tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, sg_inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, sg_outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, sg_ops, 0)
    subgraph = b.EndObject()
    code = DEPTHWISE_CONV_2D if depthwise else CONV_2D
    b.StartObject(4)  # OperatorCode: deprecated_builtin_code, custom_code, version, builtin_code
    b.PrependInt8Slot(0, code, 0)
    b.PrependInt32Slot(2, 1, 1)
    b.PrependInt32Slot(3, code, 0)
    opcode = b.EndObject()
    codes = _offset_vector(b, [opcode])
    subgraphs = _offset_vector(b, [subgraph])
    all_buffers = _offset_vector(b, buffers)
    b.StartObject(5)  # Model: version, operator_codes, subgraphs, description, buffers
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(4, all_buffers, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


# --------------------------------------------------------------------------
# Synthetic cases
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Synthetic:
    name: str
    depthwise: bool
    input: tuple[int, int, int, int]  # NHWC
    filter_hw: tuple[int, int]
    out_c: int
    filter_in_c: int = 0  # conv only; 0 = input channels (no groups)
    depth_multiplier: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    activation: str = "NONE"
    per_channel: bool = True
    bias: bool = True
    filter_zero_point: int = 0
    options_depth_multiplier: int | None = None  # write a different value into the options


def out_size(padding: str, size: int, k: int, stride: int, dilation: int) -> int:
    effective = (k - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size + stride - effective) // stride


def build(case: Synthetic, folder: Path) -> Path:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    n, h, w, c = case.input
    kh, kw = case.filter_hw
    oh = out_size(case.padding, h, kh, case.stride[0], case.dilation[0])
    ow = out_size(case.padding, w, kw, case.stride[1], case.dilation[1])
    if case.depthwise:
        fshape, axis = (1, kh, kw, case.out_c), 3
    else:
        fshape, axis = (case.out_c, kh, kw, case.filter_in_c or c), 0
    channels = case.out_c
    in_scale, out_scale = 0.02, 0.05 * float(np.sqrt(kh * kw * fshape[3] / 9))
    f_scales = (rng.uniform(0.002, 0.02, channels) if case.per_channel else np.array([0.01])).astype(np.float32)
    weights = rng.integers(-127, 128, fshape, dtype=np.int8)
    tensors: list = [
        TensorSpec((n, h, w, c), INT8, [in_scale], [-7]),
        TensorSpec(fshape, INT8, list(f_scales), [case.filter_zero_point] * len(f_scales), axis, weights.tobytes()),
        None,
        TensorSpec((n, oh, ow, channels), INT8, [out_scale], [5]),
    ]
    if case.bias:
        bias_scales = (in_scale * np.broadcast_to(f_scales, (channels,))).astype(np.float32)
        bias = rng.integers(-3000, 3000, channels, dtype=np.int32)
        tensors[2] = TensorSpec((channels,), INT32, list(bias_scales), [0] * channels, 0, bias.tobytes())
    options = {"padding": case.padding, "stride": case.stride, "dilation": case.dilation,
               "activation": case.activation,
               "depth_multiplier": case.options_depth_multiplier or case.depth_multiplier}
    return write_model(folder / f"{case.name}.tflite", case.depthwise, tensors, options)


SUPPORTED = [
    Synthetic("conv_grouped_2", False, (1, 6, 7, 8), (3, 3), 6, filter_in_c=4, activation="RELU"),
    Synthetic("conv_grouped_4_dil", False, (1, 7, 6, 8), (3, 2), 8, filter_in_c=2, dilation=(2, 1), stride=(1, 2)),
    Synthetic("conv_batch2_valid", False, (2, 6, 5, 3), (3, 3), 4, padding="VALID", activation="RELU6"),
    Synthetic("conv_window_in_padding", False, (1, 3, 3, 2), (2, 2), 3, dilation=(5, 5)),
    Synthetic("conv_deep_per_tensor", False, (1, 5, 5, 40), (3, 3), 9, per_channel=False, bias=False),
    Synthetic("dw_dm3_crosses_blocks", True, (1, 6, 5, 13), (3, 3), 39, depth_multiplier=3, activation="RELU6"),
    Synthetic("dw_70_channels_s2", True, (1, 7, 8, 70), (3, 3), 70, stride=(2, 2), activation="RELU_N1_TO_1"),
    Synthetic("dw_dm8_one_channel", True, (1, 9, 9, 1), (3, 3), 8, depth_multiplier=8, stride=(2, 2)),
    Synthetic("dw_batch2_dil_nobias", True, (2, 7, 7, 5), (3, 3), 10, depth_multiplier=2, dilation=(2, 3),
              bias=False, per_channel=False),
    Synthetic("dw_window_in_padding", True, (1, 3, 3, 33), (2, 2), 33, dilation=(5, 5)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in SUPPORTED])
def test_synthetic_bit_exact(case: Synthetic, tmp_path: Path) -> None:
    model = build(case, tmp_path)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True)
    assert report.bit_exact == report.inputs, report.to_json()


REFUSED = [
    (Synthetic("conv_filter_zero_point", False, (1, 5, 5, 3), (3, 3), 4, filter_zero_point=3), "zero point"),
    (Synthetic("conv_tanh", False, (1, 5, 5, 3), (3, 3), 4, activation="TANH"), "TANH"),
    (Synthetic("dw_wrong_multiplier", True, (1, 5, 5, 4), (3, 3), 8, depth_multiplier=2,
               options_depth_multiplier=3), "depth_multiplier=3"),
    (Synthetic("conv_groups_not_dividing", False, (1, 5, 5, 6), (3, 3), 4, filter_in_c=4), "does not divide"),
]


@pytest.mark.parametrize("case,needle", [pytest.param(c, s, id=c.name) for c, s in REFUSED])
def test_unsupported_option_refused(case: Synthetic, needle: str, tmp_path: Path) -> None:
    model = build(case, tmp_path)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    message = str(info.value)
    op = "DEPTHWISE_CONV_2D" if case.depthwise else "CONV_2D"
    assert message.startswith(f"layer 0 ({op}):"), message
    assert needle in message, message
