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

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mcugen.codegen.lowering import UnsupportedOpError
from mcugen.errors import ModelError
from mcugen.generate import compile_model
from mcugen.validate import validate_model

from op_cases import compile_or_skip, manifest_cases
from tflite_writer import Tensor, write_op_model

CONV_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
N_RANDOM = 20


# --------------------------------------------------------------------------
# Per-op models from the manifest
# --------------------------------------------------------------------------

@pytest.mark.parametrize("model", manifest_cases(CONV_OPS))
def test_op_model_bit_exact(model: Path, kernels: str) -> None:
    generated = compile_or_skip(model, CONV_OPS, kernels)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, model=generated)
    assert report.bit_exact == report.inputs, report.to_json()


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
    inputs: list = [
        Tensor((n, h, w, c), "int8", in_scale, -7, name="input"),
        Tensor(fshape, "int8", list(f_scales), [case.filter_zero_point] * len(f_scales), weights, axis, "filter"),
        None,  # no bias: an omitted optional input (-1)
    ]
    if case.bias:
        bias_scales = (in_scale * np.broadcast_to(f_scales, (channels,))).astype(np.float32)
        bias = rng.integers(-3000, 3000, channels, dtype=np.int32)
        inputs[2] = Tensor((channels,), "int32", list(bias_scales), [0] * channels, bias, name="bias")
    elif case.depthwise:
        # DEPTHWISE_CONV_2D gets two inputs instead of a -1 bias: TFLite Micro's depthwise
        # Prepare crashes on one (it frees the absent bias tensor whenever the node has three inputs).
        inputs = inputs[:2]
    output = Tensor((n, oh, ow, channels), "int8", out_scale, 5, name="output")
    options = {"padding": case.padding, "stride_h": case.stride[0], "stride_w": case.stride[1],
               "dilation_h_factor": case.dilation[0], "dilation_w_factor": case.dilation[1],
               "fused_activation_function": case.activation}
    if case.depthwise:
        options["depth_multiplier"] = case.options_depth_multiplier or case.depth_multiplier
    op = "DEPTHWISE_CONV_2D" if case.depthwise else "CONV_2D"
    return write_op_model(folder / f"{case.name}.tflite", op, inputs, [output], options)


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
def test_synthetic_bit_exact(case: Synthetic, tmp_path: Path, kernels: str) -> None:
    model = build(case, tmp_path)
    report = validate_model(model, n_random=N_RANDOM, sanitize=True, kernels=kernels)
    assert report.bit_exact == report.inputs, report.to_json()


REFUSED = [
    (Synthetic("conv_filter_zero_point", False, (1, 5, 5, 3), (3, 3), 4, filter_zero_point=3), "zero point"),
    (Synthetic("conv_tanh", False, (1, 5, 5, 3), (3, 3), 4, activation="TANH"), "TANH"),
    (Synthetic("dw_wrong_multiplier", True, (1, 5, 5, 4), (3, 3), 8, depth_multiplier=2,
               options_depth_multiplier=3), "depth_multiplier=3"),
]


def test_filter_channels_not_dividing_the_input_is_a_malformed_model(tmp_path: Path) -> None:
    """TFLite refuses it too, so the verifier does (exit 2) before the lowering could."""
    model = build(Synthetic("conv_groups_not_dividing", False, (1, 5, 5, 6), (3, 3), 4, filter_in_c=4), tmp_path)
    with pytest.raises(ModelError, match=r"layer 0 \(CONV_2D\): its filter takes 4 input channels, which do not "
                                         r"divide the input's 6"):
        compile_model(model)


@pytest.mark.parametrize("case,needle", [pytest.param(c, s, id=c.name) for c, s in REFUSED])
def test_unsupported_option_refused(case: Synthetic, needle: str, tmp_path: Path) -> None:
    model = build(case, tmp_path)
    with pytest.raises(UnsupportedOpError) as info:
        compile_model(model)
    message = str(info.value)
    op = "DEPTHWISE_CONV_2D" if case.depthwise else "CONV_2D"
    assert message.startswith(f"layer 0 ({op}):"), message
    assert needle in message, message
