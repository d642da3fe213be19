"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN, int8.

Pooling follows TFLM's pooling_common.cc: the padding comes from
ComputePaddingHeightWidth, input and output must share scale and zero point,
and the fused activation becomes a clamp. MEAN follows reduce_common.cc and
reference_ops::QuantizedMeanOrSum: TFLM (this version) has no integer special
case for H/W means, so every int8 MEAN, keep_dims or not, is an int32 sum
requantized by input_scale / output_scale with 1/count folded into the
multiplier the way TFLM's Eval folds it.
"""

from __future__ import annotations

import numpy as np

from ...ir import Graph, Operator, Tensor
from ...ops import pool_padding
from ...target import ARM_DSP
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_int, chooses, dims_init, lowers, shape_text
from ..quant import quantize_multiplier
from .common import act_init, require_dtype

MEAN_MAX_AXES = 4  # MCUGEN_MEAN_MAX_AXES in mean.h
_POOL_KERNELS = {"AVERAGE_POOL_2D": "mcugen_avg_pool_s8", "MAX_POOL_2D": "mcugen_max_pool_s8"}
_POOL_DSP_KERNELS = {"AVERAGE_POOL_2D": "mcugen_avg_pool_s8_dsp", "MAX_POOL_2D": "mcugen_max_pool_s8_dsp"}
POOL_DSP_MIN_CHANNELS = 4  # one word of int8 lanes; fewer channels take the portable kernel
AVG_POOL_DSP_MAX_TAPS = 256  # 256 * -128 still fits the kernel's int16 sums


def pool_out_size(padding: str, image: int, filter_size: int, stride: int) -> int:
    """TFLM's ComputeOutSizeChecked with dilation 1."""
    if padding == "SAME":
        return (image + stride - 1) // stride
    return (image + stride - filter_size) // stride


def _pool_window(ctx: LoweringContext, op: Operator, inp: Tensor, out: Tensor) -> dict[str, int]:
    o = op.options
    padding = o.get("padding")
    if padding not in ("SAME", "VALID"):
        raise ctx.unsupported(op, f"option padding={padding} is not supported")
    fh, fw, sh, sw = (int(o.get(k, 0)) for k in ("filter_height", "filter_width", "stride_h", "stride_w"))
    if min(fh, fw, sh, sw) <= 0:
        raise ctx.unsupported(op, f"filter {fh}x{fw} with stride {sh}x{sw} is not valid")
    _, ih, iw, _ = inp.shape
    if op.explicit_padding is not None:  # a strip of the layer, or a folded PAD: the padding is given
        return {"filter_h": fh, "filter_w": fw, "stride_h": sh, "stride_w": sw,
                "pad_h": op.explicit_padding[0], "pad_w": op.explicit_padding[1]}
    oh, ow = pool_out_size(padding, ih, fh, sh), pool_out_size(padding, iw, fw, sw)
    if (oh, ow) != tuple(out.shape[1:3]) or oh <= 0 or ow <= 0:
        raise ctx.unsupported(op, f"output {shape_text(out)} does not match {padding} pooling of {shape_text(inp)} "
                                  f"with filter {fh}x{fw}, stride {sh}x{sw}")
    return {"filter_h": fh, "filter_w": fw, "stride_h": sh, "stride_w": sw,
            "pad_h": pool_padding(sh, ih, fh, oh), "pad_w": pool_padding(sw, iw, fw, ow)}


def _require_same_quant(ctx: LoweringContext, op: Operator, inp: Tensor, out: Tensor) -> None:
    # pooling_common.cc: |input scale - output scale| <= 1e-6 (float32 values) and equal zero points.
    if inp.quant is None or out.quant is None:
        raise ctx.unsupported(op, "input and output must be quantized")
    scale_diff = abs(float(np.float32(inp.quant.scale[0]) - np.float32(out.quant.scale[0])))
    if scale_diff > 1.0e-6 or inp.quant.zero_point[0] != out.quant.zero_point[0]:
        raise ctx.unsupported(op, "input and output quantization differ (scale "
                                  f"{inp.quant.scale[0]:.6g} vs {out.quant.scale[0]:.6g}, zero point "
                                  f"{inp.quant.zero_point[0]} vs {out.quant.zero_point[0]}); TFLM requires them equal")


@chooses("AVERAGE_POOL_2D", "MAX_POOL_2D")
def choose_pool(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """The arm-dsp kernels work on four channels at a time, so they need at least four;
    the average's int16 sums allow windows of up to 256 taps. No scratch."""
    if not op.inputs or op.inputs[0] < 0 or not op.outputs:
        return KernelChoice()
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if inp.dtype != "int8" or out.dtype != "int8" or len(inp.shape) != 4 or len(out.shape) != 4:
        return KernelChoice()
    if inp.shape[3] < POOL_DSP_MIN_CHANNELS:
        return KernelChoice()
    taps = int(op.options.get("filter_height", 0)) * int(op.options.get("filter_width", 0))
    if op.op == "AVERAGE_POOL_2D" and taps > AVG_POOL_DSP_MAX_TAPS:
        return KernelChoice()
    return KernelChoice(ARM_DSP, 0)


@lowers("AVERAGE_POOL_2D", "MAX_POOL_2D")
def lower_pool(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ctx.unsupported(op, f"pooling needs 4-D NHWC tensors, not {shape_text(inp)} -> {shape_text(out)}")
    if inp.shape[0] != out.shape[0] or inp.shape[3] != out.shape[3]:
        raise ctx.unsupported(op, f"batch or channels differ: {shape_text(inp)} -> {shape_text(out)}")
    _require_same_quant(ctx, op, inp, out)
    window = _pool_window(ctx, op, inp, out)
    params = [("input", dims_init(inp.shape)), ("output", dims_init(out.shape))]
    params += [(name, c_int(value)) for name, value in window.items()]
    params.append(("act", act_init(ctx, op, out)))
    params.append(("output_stride", c_int(ctx.output_stride(out))))
    o = op.options
    comment = (f"{op.op} in {shape_text(inp)} -> out {shape_text(out)}, filter {window['filter_h']}x"
               f"{window['filter_w']}, stride {window['stride_h']}x{window['stride_w']}, {o.get('padding')}, "
               f"{o.get('fused_activation_function', 'NONE')}")
    args = [ctx.ptr(inp, const=True), ctx.ptr(out)]
    if ctx.choice(op).variant == ARM_DSP:
        return LayerCall.of(KERNELS[_POOL_DSP_KERNELS[op.op]], op.index, op.op, comment + " [arm-dsp]", params, args)
    return LayerCall(op.index, op.op, comment, _POOL_KERNELS[op.op], "mcugen_pool_params_t", params,
                     args, "pooling.h", 0)


def resolve_axes(ctx: LoweringContext, op: Operator, axis: Tensor | None, rank: int) -> list[int]:
    """TFLM's ResolveAxis: negative axes count from the end, duplicates drop."""
    if axis is None or not axis.is_constant:
        raise ctx.unsupported(op, "the axes input must be a constant tensor")
    if axis.dtype != "int32":
        raise ctx.unsupported(op, f"axes of type {axis.dtype} are not supported (TFLM requires int32)")
    resolved: list[int] = []
    for a in np.asarray(axis.data).reshape(-1).tolist():
        cur = a + rank if a < 0 else a
        if not 0 <= cur < rank:
            raise ctx.unsupported(op, f"axis {a} is out of range for a rank-{rank} input")
        if cur not in resolved:
            resolved.append(cur)
    return resolved


def merge_axes(shape: tuple[int, ...], reduced: set[int]) -> list[tuple[int, int, bool]]:
    """Runs of adjacent axes of one kind merged: (extent, element stride, is_reduced),
    outermost first. Size-1 axes are dropped (they change neither sum nor order)."""
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    runs: list[tuple[int, int, bool]] = []
    for i, extent in enumerate(shape):
        if extent == 1:
            continue
        is_reduced = i in reduced
        if runs and runs[-1][2] == is_reduced and runs[-1][1] == extent * strides[i]:
            runs[-1] = (runs[-1][0] * extent, strides[i], is_reduced)
        else:
            runs.append((extent, strides[i], is_reduced))
    return runs


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """QuantizeMultiplier(input_scale / output_scale) in double (PrepareMeanOrSumHelper),
    then 1/count folded in as reference_ops::QuantizedMeanOrSum does at Eval."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    extra = min(count.bit_length() - 1, 32, 31 + shift)  # 63 - clz64(count), clamped
    if extra < 0:
        raise ValueError(f"shift {shift} leaves no room for the 1/{count} factor")
    # C++: (int64 multiplier << extra) / count, truncating (both are non-negative here)
    return int((multiplier << extra) // count), shift - extra


def _axis_fields(ctx: LoweringContext, op: Operator, prefix: str, runs: list[tuple[int, int]]) -> list[tuple[str, str]]:
    if len(runs) > MEAN_MAX_AXES:
        raise ctx.unsupported(op, f"{len(runs)} separate {prefix} axis groups; mcugen supports {MEAN_MAX_AXES}")
    padded = [(1, 0)] * (MEAN_MAX_AXES - len(runs)) + runs
    extents = ", ".join(c_int(e) for e, _ in padded)
    strides = ", ".join(c_int(s) for _, s in padded)
    return [(f"{prefix}_extent", "{%s}" % extents), (f"{prefix}_stride", "{%s}" % strides)]


def _wrap_int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


@lowers("MEAN")
def lower_mean(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, axis, out = ctx.input(op, 0), ctx.input(op, 1), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    if inp.quant is None or out.quant is None:
        raise ctx.unsupported(op, "input and output must be quantized")
    axes = resolve_axes(ctx, op, axis, len(inp.shape))
    kept_count = int(np.prod([d for i, d in enumerate(inp.shape) if i not in axes], dtype=np.int64))
    count = int(np.prod([inp.shape[i] for i in axes], dtype=np.int64))
    if kept_count != out.num_elements:
        raise ctx.unsupported(op, f"output {shape_text(out)} does not match the mean of {shape_text(inp)} over "
                                  f"axes {axes}")
    if count == 0 or kept_count == 0:
        raise ctx.unsupported(op, "empty tensors are not supported")
    runs = merge_axes(inp.shape, set(axes))
    kept = [(e, s) for e, s, r in runs if not r]
    reduced = [(e, s) for e, s, r in runs if r]
    try:
        multiplier, shift = mean_multiplier(inp.quant.scale[0], out.quant.scale[0], count)
    except ValueError as exc:
        raise ctx.unsupported(op, str(exc)) from None
    in_zp, out_zp = inp.quant.zero_point[0], out.quant.zero_point[0]
    params = _axis_fields(ctx, op, "kept", kept) + _axis_fields(ctx, op, "reduced", reduced)
    params += [
        ("zero_point_times_count", c_int(_wrap_int32(in_zp * count))),
        ("output_offset", c_int(out_zp)),
        ("requant", "{.multiplier = %s, .shift = %s}" % (c_int(multiplier), c_int(shift))),
    ]
    comment = (f"MEAN in {shape_text(inp)} -> out {shape_text(out)}, axes {axes}, "
               f"keep_dims={bool(op.options.get('keep_dims', False))}, {count} input values per output")
    return LayerCall(op.index, op.op, comment, "mcugen_mean_s8", "mcugen_mean_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "mean.h", 0)
