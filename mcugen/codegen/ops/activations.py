"""SOFTMAX, LOGISTIC, HARD_SWISH, TANH, RELU, RELU6 and LEAKY_RELU, int8 (SOFTMAX also
int8 -> int16).

Each Prepare of TFLM (softmax_common.cc, logistic_common.cc, hard_swish_common.cc,
tanh.cc, activations_common.cc, leaky_relu_common.cc) is redone here with the same
float32 / double steps, so the C kernels receive exactly TFLM's multipliers,
shifts and bounds.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import Operator, Tensor
from ..lowering import LayerCall, LoweringContext, c_int, lowers, shape_text
from ..quant import quantize_multiplier, round_half_away
from .common import require_dtype

SCALED_DIFF_INTEGER_BITS = 5  # softmax: Q5.26 input differences
LOGISTIC_INPUT_INTEGER_BITS = 4  # logistic: Q4.27 input


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLM's CalculateInputRadius (the double-precision build)."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def softmax_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius (double rounding build):
    (input_multiplier, input_left_shift, diff_min)."""
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    if not real > 1.0:
        raise ValueError(f"beta * input_scale * 2^26 = {real:.6g} is not > 1 (TFLM's "
                         "QuantizeMultiplierGreaterThanOne check fails)")
    multiplier, left_shift = quantize_multiplier(real)
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
    return multiplier, left_shift, diff_min


def _quant(ctx: LoweringContext, op: Operator, t: Tensor) -> tuple[float, int]:
    if t.quant is None or t.quant.per_channel:
        raise ctx.unsupported(op, f"tensor {t.label()} must be quantized per tensor")
    return t.quant.scale[0], t.quant.zero_point[0]


@lowers("SOFTMAX")
def lower_softmax(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", "int16", role="output")
    in_scale, _ = _quant(ctx, op, inp)
    out_scale, out_zp = _quant(ctx, op, out)
    if out.dtype == "int8":
        # softmax_common.cc: exactly 1/256 (a float compare) and zero point -128
        if out_zp != -128 or np.float32(out_scale) != np.float32(1.0 / 256):
            raise ctx.unsupported(op, f"int8 output must have scale 1/256 and zero point -128, not "
                                      f"{out_scale:.6g} / {out_zp}")
    else:
        # softmax_common.cc: zero point -32768 and scale within 0.1% of 1/65536
        if out_zp != -32768 or abs(float(np.float32(out_scale)) - 1.0 / 65536) > 0.001 / 65536:
            raise ctx.unsupported(op, f"int16 output must have scale 1/65536 and zero point -32768, not "
                                      f"{out_scale:.6g} / {out_zp}")
    if len(inp.shape) < 1 or inp.shape != out.shape:
        raise ctx.unsupported(op, f"input {shape_text(inp)} and output {shape_text(out)} must match")
    beta = float(op.options.get("beta", 1.0))
    try:
        multiplier, left_shift, diff_min = softmax_scaling(beta, in_scale)
    except ValueError as exc:
        raise ctx.unsupported(op, str(exc)) from None
    depth = inp.shape[-1]
    params = [
        ("outer", c_int(inp.num_elements // depth if depth else 0)),
        ("depth", c_int(depth)),
        ("input_multiplier", c_int(multiplier)),
        ("input_left_shift", c_int(left_shift)),
        ("diff_min", c_int(diff_min)),
    ]
    kernel = "mcugen_softmax_s8" if out.dtype == "int8" else "mcugen_softmax_s8_s16"
    comment = f"SOFTMAX in {shape_text(inp)} -> out {shape_text(out)} {out.dtype}, beta {beta:g}, over the last axis"
    return LayerCall(op.index, op.op, comment, kernel, "mcugen_softmax_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "softmax.h", 0)


def logistic_scaling(input_scale: float) -> tuple[int, int, int]:
    """logistic_common.cc for int8: (input_multiplier, input_left_shift, input_range_radius)."""
    real = float(input_scale) * float(1 << (31 - LOGISTIC_INPUT_INTEGER_BITS))
    mantissa, left_shift = math.frexp(real)
    fixed = round_half_away(mantissa * (1 << 31))
    if fixed >= 1 << 31:
        # TFLM casts 2^31 to int32 here without the QuantizeMultiplier fix-up.
        raise ValueError(f"input scale {input_scale:.9g} rounds to a multiplier of 2^31")
    if not 0 <= left_shift <= 31:
        raise ValueError(f"input scale {input_scale:.6g} gives shift {left_shift}, outside what TFLM handles")
    return fixed, left_shift, calculate_input_radius(LOGISTIC_INPUT_INTEGER_BITS, left_shift)


@lowers("LOGISTIC")
def lower_logistic(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    in_scale, in_zp = _quant(ctx, op, inp)
    out_scale, out_zp = _quant(ctx, op, out)
    if out_zp != -128:
        raise ctx.unsupported(op, f"output zero point must be -128 (TFLM's requirement), not {out_zp}")
    if inp.num_elements != out.num_elements:
        raise ctx.unsupported(op, f"input {shape_text(inp)} and output {shape_text(out)} differ in size")
    try:
        multiplier, shift, radius = logistic_scaling(in_scale)
    except ValueError as exc:
        raise ctx.unsupported(op, str(exc)) from None
    params = _sigmoid_like_params(inp.num_elements, in_zp, multiplier, shift, radius)
    # The kernel always writes 1/256 steps from -128, as TFLM does whatever the
    # output scale says; mention the scale so a mismatch is visible.
    comment = f"LOGISTIC in {shape_text(inp)} -> out {shape_text(out)}, output s={out_scale:.6g} zp={out_zp}"
    return LayerCall(op.index, op.op, comment, "mcugen_logistic_s8", "mcugen_logistic_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "logistic.h", 0)


def _sigmoid_like_params(size: int, in_zp: int, multiplier: int, shift: int, radius: int) -> list[tuple[str, str]]:
    """LOGISTIC and TANH kernels take the same Q4.27 input scaling."""
    return [
        ("size", c_int(size)),
        ("input_zero_point", c_int(in_zp)),
        ("input_range_radius", c_int(radius)),
        ("input_multiplier", c_int(multiplier)),
        ("input_shift", c_int(shift)),
    ]


def downscale_to_int16_multiplier(multiplier: int) -> int:
    """TFLM's DownScaleInt32ToInt16Multiplier."""
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (multiplier + (1 << 15)) >> 16


def hard_swish_scaling(input_scale: float, output_scale: float) -> tuple[int, int, int, int]:
    """hard_swish_common.cc, in float32 as there: (output_multiplier_int16,
    output_exponent, reluish_multiplier_int16, reluish_exponent)."""
    hires_input_scale = np.float32(1.0 / 128.0) * np.float32(input_scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    out_mult, out_exp = quantize_multiplier(float(hires_input_scale / np.float32(output_scale)))
    relu_mult, relu_exp = quantize_multiplier(float(hires_input_scale / reluish_scale))
    return downscale_to_int16_multiplier(out_mult), out_exp, downscale_to_int16_multiplier(relu_mult), relu_exp


@lowers("HARD_SWISH")
def lower_hard_swish(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    in_scale, in_zp = _quant(ctx, op, inp)
    out_scale, out_zp = _quant(ctx, op, out)
    if inp.num_elements != out.num_elements:
        raise ctx.unsupported(op, f"input {shape_text(inp)} and output {shape_text(out)} differ in size")
    out_mult, out_exp, relu_mult, relu_exp = hard_swish_scaling(in_scale, out_scale)
    if out_exp > 0:
        raise ctx.unsupported(op, f"output multiplier exponent {out_exp} > 0 (TFLM's Prepare rejects it)")
    if relu_exp > 31:
        raise ctx.unsupported(op, f"input scale {in_scale:.6g} is too large for TFLM's relu-ish shift")
    params = [
        ("size", c_int(inp.num_elements)),
        ("input_zero_point", c_int(in_zp)),
        ("output_zero_point", c_int(out_zp)),
        ("output_multiplier", c_int(out_mult)),
        ("output_shift", c_int(out_exp)),
        ("reluish_multiplier", c_int(relu_mult)),
        ("reluish_shift", c_int(relu_exp)),
    ]
    comment = f"HARD_SWISH in {shape_text(inp)} -> out {shape_text(out)}"
    return LayerCall(op.index, op.op, comment, "mcugen_hard_swish_s8", "mcugen_hard_swish_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "hard_swish.h", 0)


def _same_size(ctx: LoweringContext, op: Operator, inp: Tensor, out: Tensor) -> None:
    if inp.num_elements != out.num_elements:
        raise ctx.unsupported(op, f"input {shape_text(inp)} and output {shape_text(out)} differ in size")


def _int8_unary(ctx: LoweringContext, op: Operator) -> tuple[Tensor, Tensor, float, int, float, int]:
    """The int8 input and output of a one-input activation, with their scales and zero points."""
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    in_scale, in_zp = _quant(ctx, op, inp)
    out_scale, out_zp = _quant(ctx, op, out)
    _same_size(ctx, op, inp, out)
    return inp, out, in_scale, in_zp, out_scale, out_zp


def _requant(pair: tuple[int, int]) -> str:
    return "{.multiplier = %s, .shift = %s}" % (c_int(pair[0]), c_int(pair[1]))


def _double_ratio(numerator: float, denominator: float) -> float:
    """in_scale / out_scale in double from the float32 scales. TFLM's source reads
    static_cast<double>(a / b) on floats, but the build the tflite-micro package
    ships widens first (cvtss2sd, divsd in its ReluPrepare and
    CalculateOpDataLeakyRelu), and ties show it: double it is."""
    return float(np.float32(numerator)) / float(np.float32(denominator))


@lowers("RELU")
def lower_relu(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out, in_scale, in_zp, out_scale, out_zp = _int8_unary(ctx, op)
    # activations_common.cc CalculateReluOpData<int8_t>: the lower clamp is
    # zp + roundf(0 / scale) = zp, the upper one int8's maximum
    params = [
        ("size", c_int(inp.num_elements)),
        ("input_zero_point", c_int(in_zp)),
        ("output_zero_point", c_int(out_zp)),
        ("output", _requant(quantize_multiplier(_double_ratio(in_scale, out_scale)))),
        ("act", "{.min = %s, .max = %s}" % (c_int(max(-128, out_zp)), c_int(127))),
    ]
    comment = f"RELU in {shape_text(inp)} -> out {shape_text(out)}, rescale {in_scale / out_scale:.6g}"
    return LayerCall(op.index, op.op, comment, "mcugen_relu_s8", "mcugen_relu_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "relu.h", 0)


def quantized_six(scale: float, zero_point: int) -> int:
    """micro_utils.h FloatToQuantizedType<int8_t>(6.0f, scale, zp): float32 division, round, clamp."""
    return min(127, max(-128, round_half_away(float(np.float32(6.0) / np.float32(scale))) + zero_point))


@lowers("RELU6")
def lower_relu6(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out, in_scale, in_zp, out_scale, out_zp = _int8_unary(ctx, op)
    # activations_common.cc Relu6Prepare: TFLM clamps the raw input in the input's
    # quantization and never looks at the output's. The converter gives a standalone
    # RELU6 its own output range (scale 6/255), so the bytes then mean other values
    # than TFLite's interpreter would produce; mcugen matches TFLM, its oracle, and
    # says so in the layer's comment rather than refusing a model TFLM runs.
    six = quantized_six(in_scale, in_zp)
    params = [
        ("size", c_int(inp.num_elements)),
        ("act", "{.min = %s, .max = %s}" % (c_int(in_zp), c_int(six))),
    ]
    comment = f"RELU6 in {shape_text(inp)} -> out {shape_text(out)}, clamp [{in_zp}, {six}]"
    if (np.float32(in_scale), in_zp) != (np.float32(out_scale), out_zp):
        comment += (f"; output quantization (s={out_scale:.6g} zp={out_zp}) differs from the input's and is "
                    "ignored, as TFLite Micro ignores it")
    return LayerCall(op.index, op.op, comment, "mcugen_relu6_s8", "mcugen_relu6_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "relu.h", 0)


@lowers("LEAKY_RELU")
def lower_leaky_relu(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out, in_scale, in_zp, out_scale, out_zp = _int8_unary(ctx, op)
    alpha = float(np.float32(op.options.get("alpha", 0.0)))
    if alpha < 0.0:
        # newer TFLM negates a negative alpha multiplier; older builds assert
        raise ctx.unsupported(op, f"option alpha={alpha:g} is not supported (negative alpha)")
    # leaky_relu_common.cc, in double from the float32 values (see _double_ratio)
    alpha_real = float(np.float32(in_scale)) * alpha / float(np.float32(out_scale))
    params = [
        ("size", c_int(inp.num_elements)),
        ("input_zero_point", c_int(in_zp)),
        ("output_zero_point", c_int(out_zp)),
        ("identity", _requant(quantize_multiplier(_double_ratio(in_scale, out_scale)))),
        ("alpha", _requant(quantize_multiplier(alpha_real))),
    ]
    comment = f"LEAKY_RELU in {shape_text(inp)} -> out {shape_text(out)}, alpha {alpha:g}"
    return LayerCall(op.index, op.op, comment, "mcugen_leaky_relu_s8", "mcugen_leaky_relu_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "relu.h", 0)


@lowers("TANH")
def lower_tanh(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out, in_scale, in_zp, out_scale, out_zp = _int8_unary(ctx, op)
    if out_zp != 0:
        # the kernel writes tanh in 1/128 steps around 0, as TFLM does whatever
        # the output tensor says; a different zero point would misread it
        raise ctx.unsupported(op, f"output zero point must be 0 (TFLM writes 1/128 steps from 0), not {out_zp}")
    try:
        # tanh.cc computes exactly logistic_common.cc's Q4.27 input scaling
        multiplier, shift, radius = logistic_scaling(in_scale)
    except ValueError as exc:
        raise ctx.unsupported(op, str(exc)) from None
    params = _sigmoid_like_params(inp.num_elements, in_zp, multiplier, shift, radius)
    comment = f"TANH in {shape_text(inp)} -> out {shape_text(out)}, output s={out_scale:.6g} zp={out_zp}"
    return LayerCall(op.index, op.op, comment, "mcugen_tanh_s8", "mcugen_tanh_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "tanh.h", 0)
