"""CONV_2D and DEPTHWISE_CONV_2D: int8 activations, int8 symmetric weights
(per-channel or per-tensor), optional int32 bias.

Everything TFLM's Prepare computes (conv_common.cc / depthwise_conv_common.cc)
is computed here once: the padding (ComputePaddingHeightWidth), the per-channel
multipliers and shifts (PopulateConvolutionQuantizationParams) and the
activation range. The C kernels only loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import Graph, Operator, Tensor
from ...ops import conv_padding, op_macs
from ...target import ARM_DSP
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_int, chooses, dims_init, lowers, shape_text
from ..quant import quantize_multiplier, wrap_int32
from .common import act_init, act_range, describe_quant, require_dtype, requant_array
from .depthwise_dsp_scratch import DW_DSP_BAND_ROWS, depthwise_dsp_needs_general
from .dsp import align4, channels_array, pack_rows_dsp, words_array

# The dimension of the filter that carries one scale per output channel.
CONV_QUANTIZED_DIM = 0  # OHWI
DEPTHWISE_QUANTIZED_DIM = 3  # 1HWO


@dataclass(frozen=True)
class Window:
    """Spatial options shared by both convolutions, with TFLM's padding resolved."""

    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_h: int
    pad_w: int
    padding: str

    def fields(self) -> list[tuple[str, str]]:
        return [
            ("stride_h", c_int(self.stride_h)),
            ("stride_w", c_int(self.stride_w)),
            ("dilation_h", c_int(self.dilation_h)),
            ("dilation_w", c_int(self.dilation_w)),
            ("pad_h", c_int(self.pad_h)),
            ("pad_w", c_int(self.pad_w)),
        ]

    def describe(self) -> str:
        text = f"stride {self.stride_h}x{self.stride_w}, {self.padding}"
        if (self.dilation_h, self.dilation_w) != (1, 1):
            text += f", dilation {self.dilation_h}x{self.dilation_w}"
        return text


def window(ctx: LoweringContext, op: Operator, inp: Tensor, filt: Tensor, dilated: bool = True) -> Window:
    """dilated: the op's schema has dilation factors (TRANSPOSE_CONV's has none)."""
    o = op.options
    padding = o.get("padding")
    if padding not in ("SAME", "VALID"):
        raise ctx.unsupported(op, f"option padding={padding} is not supported", "supported paddings: SAME, VALID")
    stride_h, stride_w = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dil_h, dil_w = (int(o.get("dilation_hfactor", 1)), int(o.get("dilation_wfactor", 1))) if dilated else (1, 1)
    for name, value in (("stride_h", stride_h), ("stride_w", stride_w),
                        ("dilation_h_factor", dil_h), ("dilation_w_factor", dil_w)):
        if value < 1:
            raise ctx.unsupported(op, f"option {name}={value} is not supported (must be >= 1)")
    pad_h, pad_w = conv_padding(op, (inp.shape[1], inp.shape[2]), (filt.shape[1], filt.shape[2]),
                                (stride_h, stride_w), (dil_h, dil_w))
    return Window(stride_h, stride_w, dil_h, dil_w, pad_h, pad_w, padding)


def check_operands(ctx: LoweringContext, op: Operator, inp: Tensor | None, filt: Tensor | None,
                   out: Tensor) -> None:
    """What every convolution needs of its operands: int8 NHWC, quantized per tensor
    (activations), a constant filter."""
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, filt, "int8", role="filter")
    require_dtype(ctx, op, out, "int8", role="output")
    for role, t in (("input", inp), ("filter", filt), ("output", out)):
        if len(t.shape) != 4:
            raise ctx.unsupported(op, f"{role} {t.label()} has rank {len(t.shape)}; 4-D NHWC is required")
        if t.quant is None:
            raise ctx.unsupported(op, f"{role} {t.label()} is not quantized")
    if not filt.is_constant:
        raise ctx.unsupported(op, "filter is not constant")
    if inp.quant.per_channel or out.quant.per_channel:
        raise ctx.unsupported(op, "per-channel quantized activations are not supported")


def check_tensors(ctx: LoweringContext, op: Operator, quantized_dim: int) -> tuple[Tensor, Tensor, Tensor | None,
                                                                                  Tensor]:
    """The checks both convolutions share; returns input, filter, bias (or None), output."""
    inp, filt, bias, out = ctx.input(op, 0), ctx.input(op, 1), ctx.input(op, 2), ctx.output(op)
    check_operands(ctx, op, inp, filt, out)
    check_filter_quant(ctx, op, filt, out.shape[3], quantized_dim)
    if inp.shape[0] != out.shape[0]:
        raise ctx.unsupported(op, f"input batch {inp.shape[0]} differs from output batch {out.shape[0]}")
    if bias is not None:
        check_bias(ctx, op, bias, out.shape[3])
    return inp, filt, bias, out


def check_filter_quant(ctx: LoweringContext, op: Operator, filt: Tensor, channels: int, quantized_dim: int) -> None:
    """Symmetric int8 weights, one scale per output channel along quantized_dim, or one scale."""
    if any(z != 0 for z in filt.quant.zero_point):
        # TFLM's int8 kernels ignore the filter zero point; a non-zero one would be silently dropped.
        raise ctx.unsupported(op, "filter zero point must be 0 (int8 weights are symmetric)")
    if filt.quant.per_channel:
        if filt.quant.axis != quantized_dim:
            raise ctx.unsupported(op, f"filter is quantized along axis {filt.quant.axis}; "
                                      f"{op.op} needs axis {quantized_dim}")
        if len(filt.quant.scale) != channels:
            raise ctx.unsupported(op, f"filter has {len(filt.quant.scale)} scales for {channels} output channels")
    if filt.shape[quantized_dim] != channels:
        raise ctx.unsupported(op, f"filter {shape_text(filt)} does not match {channels} output channels")


def check_bias(ctx: LoweringContext, op: Operator, bias: Tensor, channels: int) -> None:
    if bias.dtype != "int32" or not bias.is_constant:
        kind = bias.dtype if bias.is_constant else f"variable {bias.dtype}"
        raise ctx.unsupported(op, f"bias must be constant int32, not {kind}")
    if bias.num_elements != channels:
        raise ctx.unsupported(op, f"bias has {bias.num_elements} values for {channels} output channels")


def requant_fields(ctx: LoweringContext, op: Operator, inp: Tensor, filt: Tensor, out: Tensor) -> list[tuple[str, str]]:
    """PopulateConvolutionQuantizationParams: one multiplier per filter scale (a
    per-tensor scale is stored once; TFLM broadcasts the same pair to every channel)."""
    in_scale, out_scale = inp.quant.scale[0], out.quant.scale[0]
    # (double)input_scale * (double)filter_scale / (double)output_scale, in that order.
    pairs = [quantize_multiplier(in_scale * s / out_scale) for s in filt.quant.scale]
    per_channel = filt.quant.per_channel
    requant = requant_array(ctx, f"l{op.index}_requant", pairs,
                            "multiplier, shift per output channel" if per_channel else "multiplier, shift")
    return [
        ("input_offset", c_int(-inp.quant.zero_point[0])),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("act", act_init(ctx, op, out)),
        ("requant", requant),
        ("per_channel", "1" if per_channel else "0"),
    ]


def requant_pairs(inp: Tensor, filt: Tensor, out: Tensor) -> list[tuple[int, int]]:
    """PopulateConvolutionQuantizationParams' (multiplier, shift) per filter scale."""
    in_scale, out_scale = inp.quant.scale[0], out.quant.scale[0]
    return [quantize_multiplier(in_scale * s / out_scale) for s in filt.quant.scale]


def kernel_args(ctx: LoweringContext, op: Operator, inp: Tensor, filt: Tensor, bias: Tensor | None,
                out: Tensor) -> list[str]:
    return [
        ctx.ptr(inp, const=True),
        ctx.const_tensor(filt, f"l{op.index}_filter"),
        ctx.const_tensor(bias, f"l{op.index}_bias") if bias is not None else "NULL",
        ctx.ptr(out),
    ]


def describe(op: Operator, inp: Tensor, filt: Tensor, bias: Tensor | None, out: Tensor, win: Window,
             extra: str, macs: int) -> str:
    fused = op.options.get("fused_activation_function", "NONE")
    return (f"{op.op} in {shape_text(inp)} -> out {shape_text(out)}, filter {shape_text(filt)} "
            f"{describe_quant(filt)}{extra}, {win.describe()}, {fused}{'' if bias is not None else ', no bias'}, "
            f"{macs:,} MACs")


# ---- arm-dsp: convolutions as matrix products (mcugen/runtime/conv_dsp.h) ----

def _int8_conv_operands(graph: Graph, op: Operator) -> tuple[Tensor, Tensor, Tensor] | None:
    """input, filter, output when they are what the DSP kernels take (int8 NHWC,
    a constant filter); None sends the layer to the portable kernel, whose lowering
    then accepts it or refuses it with its reason."""
    if len(op.inputs) < 2 or op.inputs[0] < 0 or op.inputs[1] < 0 or not op.outputs:
        return None
    inp, filt, out = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if any(t.dtype != "int8" or len(t.shape) != 4 or t.quant is None for t in (inp, filt, out)):
        return None
    return (inp, filt, out) if filt.is_constant else None


def _conv_scratch(inp: Tensor, out: Tensor, depth: int) -> int:
    """mcugen_conv_dsp_scratch_bytes (conv_dsp.h): three interleaved int16 columns of
    depth4 values, depth4 bytes to gather a window in, and output.c bytes (rounded up
    to even) for the results of pixels past the last one."""
    depth4 = align4(depth)
    return 3 * depth4 * 2 + depth4 + (out.shape[3] + 1) // 2 * 2


def _window_offsets(ctx: LoweringContext, op: Operator, inp: Tensor, filter_h: int, filter_w: int, win: Window,
                    depth4: int) -> str:
    """The conv_dsp kernel's window offsets for a layer with few input channels (conv_dsp.h
    mcugen_conv_dsp_params_t.offsets), or NULL where it gathers every window row by row."""
    in_c, in_w = inp.shape[3], inp.shape[2]
    span = ((filter_h - 1) * win.dilation_h * in_w + (filter_w - 1) * win.dilation_w + 1) * in_c
    if in_c % 4 == 0 or span > 0x7FFF:
        return "NULL"
    offsets = [(fy * win.dilation_h * in_w + fx * win.dilation_w) * in_c + ic
               for fy in range(filter_h) for fx in range(filter_w) for ic in range(in_c)]
    offsets += [0] * (depth4 - len(offsets))
    return ctx.add_array(f"l{op.index}_window", "int16_t", np.array(offsets, np.int16),
                         f"byte offset of each of a window's {len(offsets)} values from its first")


@chooses("CONV_2D")
def choose_conv(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    operands = _int8_conv_operands(graph, op)
    if operands is None:
        return KernelChoice()
    inp, filt, out = operands
    if filt.shape[3] != inp.shape[3]:  # grouped convolution: the portable kernel
        return KernelChoice()
    return KernelChoice(ARM_DSP, _conv_scratch(inp, out, filt.shape[1] * filt.shape[2] * filt.shape[3]))


def _lower_conv_dsp(ctx: LoweringContext, op: Operator, inp: Tensor, rows: np.ndarray, bias: Tensor | None,
                    out: Tensor, win: Window, filter_h: int, filter_w: int, pairs: list[tuple[int, int]],
                    comment: str) -> LayerCall:
    """A convolution whose filter is `rows` ([output channels][filter_h * filter_w * input.c], OHWI)."""
    channels = out.shape[3]
    depth = rows.shape[1]
    biases = [int(v) for v in bias.data.reshape(-1)] if bias is not None else [0] * channels
    # The input offset is added as each column is widened (SXTAB16 adds it for free) and
    # padded taps are 0 there, so the bias goes in unchanged.
    table = channels_array(ctx, op, pairs, channels, biases, "multiplier, bias, left shift, right shift per output channel")
    words = words_array(ctx, op, "filter", pack_rows_dsp(rows),
                        f"filter {channels}x{depth} packed for the SIMD loop: channel pairs, 4 taps per word")
    params = [
        ("input", dims_init(inp.shape)),
        ("output", dims_init(out.shape)),
        ("filter_h", c_int(filter_h)),
        ("filter_w", c_int(filter_w)),
        *[(name, value) for name, value in win.fields()],
        ("depth4", c_int(align4(depth))),
        ("input_offset", c_int(-inp.quant.zero_point[0])),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("act", act_init(ctx, op, out)),
        ("channels", table),
        ("full_range", "1" if act_range(ctx, op, out) == (-128, 127) else "0"),
        ("output_stride", c_int(ctx.output_stride(out))),
        ("offsets", _window_offsets(ctx, op, inp, filter_h, filter_w, win, align4(depth))),
    ]
    args = [ctx.ptr(inp, const=True), words, ctx.ptr(out), ctx.scratch("int16_t")]
    return LayerCall.of(KERNELS["mcugen_conv_s8_dsp"], op.index, op.op, comment + " [arm-dsp]", params, args,
                        op_macs(ctx.graph, op))


@lowers("CONV_2D")
def lower_conv(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, filt, bias, out = check_tensors(ctx, op, CONV_QUANTIZED_DIM)
    in_c, filter_in_c, out_c = inp.shape[3], filt.shape[3], out.shape[3]
    # Grouped convolution: each filter sees in_c / groups input channels (TFLM's ConvPerChannel groups).
    if filter_in_c < 1 or in_c % filter_in_c != 0:
        raise ctx.unsupported(op, f"filter input depth {filter_in_c} does not divide input depth {in_c}")
    groups = in_c // filter_in_c
    if out_c % groups != 0:
        raise ctx.unsupported(op, f"{out_c} output channels cannot be split into {groups} groups")
    win = window(ctx, op, inp, filt)
    macs = op_macs(ctx.graph, op)
    extra = f", {groups} groups" if groups > 1 else ""
    if ctx.choice(op).variant == ARM_DSP:
        rows = filt.data.reshape(out_c, -1)
        return _lower_conv_dsp(ctx, op, inp, rows, bias, out, win, filt.shape[1], filt.shape[2],
                               requant_pairs(inp, filt, out), describe(op, inp, filt, bias, out, win, extra, macs))
    params = [
        ("input", dims_init(inp.shape)),
        ("output", dims_init(out.shape)),
        ("filter_h", c_int(filt.shape[1])),
        ("filter_w", c_int(filt.shape[2])),
        ("filter_in_c", c_int(filter_in_c)),
        *win.fields(),
        *requant_fields(ctx, op, inp, filt, out),
        ("output_stride", c_int(ctx.output_stride(out))),
    ]
    return LayerCall(op.index, op.op, describe(op, inp, filt, bias, out, win, extra, macs), "mcugen_conv_s8",
                     "mcugen_conv_params_t", params, kernel_args(ctx, op, inp, filt, bias, out), "conv.h", macs)


def _depthwise_dsp_scratch(inp: Tensor, out: Tensor, filter_h: int, filter_w: int, stride_h: int,
                           stride_w: int) -> int:
    """mcugen_depthwise_conv_dsp_scratch_bytes, mirrored (depthwise_conv_dsp.h)."""
    from .depthwise_dsp_scratch import depthwise_dsp_scratch_bytes

    return depthwise_dsp_scratch_bytes(inp.shape, out.shape, filter_h, filter_w, stride_h, stride_w)


@chooses("DEPTHWISE_CONV_2D")
def choose_depthwise(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    operands = _int8_conv_operands(graph, op)
    if operands is None:
        return KernelChoice()
    inp, filt, out = operands
    o = op.options
    dilation = (int(o.get("dilation_hfactor", 1)), int(o.get("dilation_wfactor", 1)))
    if inp.shape[3] == 1:
        # One input channel: every output channel is a filter over the same taps, a convolution.
        return KernelChoice(ARM_DSP, _conv_scratch(inp, out, filt.shape[1] * filt.shape[2]))
    if int(o.get("depth_multiplier", 1)) == 1 and dilation == (1, 1) and out.shape[3] == inp.shape[3]:
        # The kernel walks the longer output side as its rows. A layer narrower than a
        # band (kws: 25x5) walks columns; strips shorter than that would make it walk
        # rows of 5, at twice the cost: strips of a band's height keep the columns.
        narrow = out.shape[2] < DW_DSP_BAND_ROWS < out.shape[1]
        return KernelChoice(ARM_DSP, _depthwise_dsp_scratch(inp, out, filt.shape[1], filt.shape[2],
                                                            int(o.get("stride_h", 1)), int(o.get("stride_w", 1))),
                            min_strip_rows=DW_DSP_BAND_ROWS if narrow else 1)
    return KernelChoice()


def _lower_depthwise_dsp(ctx: LoweringContext, op: Operator, inp: Tensor, filt: Tensor, bias: Tensor | None,
                         out: Tensor, win: Window, comment: str) -> LayerCall:
    channels = out.shape[3]
    pairs = requant_pairs(inp, filt, out)
    zero_point = inp.quant.zero_point[0]
    taps = filt.data.reshape(-1, channels).astype(np.int64)  # [filter_h * filter_w][channels]
    biases = bias.data.reshape(-1).astype(np.int64) if bias is not None else np.zeros(channels, np.int64)
    # Padded taps read the input zero point, so every tap adds filter * (x - zero_point)
    # once -zero_point * sum(filter) is in the bias: TFLM's skipped taps, exactly.
    folded = [wrap_int32(int(b) - zero_point * int(s)) for b, s in zip(biases, taps.sum(axis=0))]
    table = channels_array(ctx, op, pairs, channels, folded,
                           "multiplier, bias - input zero point * sum(filter), left shift, right shift per channel")
    params = [
        ("input", dims_init(inp.shape)),
        ("output", dims_init(out.shape)),
        ("filter_h", c_int(filt.shape[1])),
        ("filter_w", c_int(filt.shape[2])),
        ("stride_h", c_int(win.stride_h)),
        ("stride_w", c_int(win.stride_w)),
        ("pad_h", c_int(win.pad_h)),
        ("pad_w", c_int(win.pad_w)),
        ("input_zero_point", c_int(zero_point)),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("act", act_init(ctx, op, out)),
        ("channels", table),
        ("general", "&mcugen_depthwise_conv_dsp_general" if depthwise_dsp_needs_general(
            out.shape, filt.shape[1], filt.shape[2], win.stride_h, win.stride_w) else "NULL"),
        ("output_stride", c_int(ctx.output_stride(out))),
    ]
    args = [ctx.ptr(inp, const=True), ctx.const_tensor(filt, f"l{op.index}_filter"), ctx.ptr(out),
            ctx.scratch("int16_t")]
    return LayerCall.of(KERNELS["mcugen_depthwise_conv_s8_dsp"], op.index, op.op, comment + " [arm-dsp]", params,
                        args, op_macs(ctx.graph, op))


@lowers("DEPTHWISE_CONV_2D")
def lower_depthwise_conv(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, filt, bias, out = check_tensors(ctx, op, DEPTHWISE_QUANTIZED_DIM)
    if len(op.inputs) > 2 and op.inputs[2] < 0:
        # The schema allows it, but TFLite Micro's depthwise Prepare crashes on a third
        # input that is omitted (two inputs are fine), so no result could be checked
        # against the reference (found by tests/model_fuzz.py).
        raise ctx.unsupported(op, "its bias is an omitted input (-1), which TensorFlow Lite Micro crashes on",
                              "write the layer with two inputs, or give it a bias of zeros")
    if filt.shape[0] != 1:
        raise ctx.unsupported(op, f"depthwise filter {shape_text(filt)} must have leading dimension 1")
    multiplier = int(op.options.get("depth_multiplier", 1))
    in_c, out_c = inp.shape[3], out.shape[3]
    if multiplier < 1 or in_c * multiplier != out_c:
        # TFLM loops over input_depth * depth_multiplier channels; anything else
        # would leave outputs unwritten or write past the tensor.
        raise ctx.unsupported(op, f"option depth_multiplier={multiplier} does not map {in_c} input channels "
                                  f"onto {out_c} output channels")
    win = window(ctx, op, inp, filt)
    macs = op_macs(ctx.graph, op)
    extra = f", depth multiplier {multiplier}" if multiplier > 1 else ""
    comment = describe(op, inp, filt, bias, out, win, extra, macs)
    if ctx.choice(op).variant == ARM_DSP:
        if in_c == 1:
            # [1][h][w][out_c] -> OHWI rows with one input channel
            rows = filt.data.reshape(-1, out_c).T.copy()
            return _lower_conv_dsp(ctx, op, inp, rows, bias, out, win, filt.shape[1], filt.shape[2],
                                   requant_pairs(inp, filt, out), comment + " as a convolution")
        return _lower_depthwise_dsp(ctx, op, inp, filt, bias, out, win, comment)
    params = [
        ("input", dims_init(inp.shape)),
        ("output", dims_init(out.shape)),
        ("filter_h", c_int(filt.shape[1])),
        ("filter_w", c_int(filt.shape[2])),
        ("depth_multiplier", c_int(multiplier)),
        *win.fields(),
        *requant_fields(ctx, op, inp, filt, out),
        ("output_stride", c_int(ctx.output_stride(out))),
    ]
    return LayerCall(op.index, op.op, describe(op, inp, filt, bias, out, win, extra, macs),
                     "mcugen_depthwise_conv_s8", "mcugen_depthwise_conv_params_t", params,
                     kernel_args(ctx, op, inp, filt, bias, out), "depthwise_conv.h", macs)


# TRANSPOSE_CONV's operands: output_shape, filter (OHWI, per-channel along O), input, optional bias.
TRANSPOSE_CONV_QUANTIZED_DIM = 0


def _transpose_conv_tensors(ctx: LoweringContext, op: Operator) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    shape_t, filt, inp, bias, out = (ctx.input(op, 0), ctx.input(op, 1), ctx.input(op, 2), ctx.input(op, 3),
                                     ctx.output(op))
    check_operands(ctx, op, inp, filt, out)
    # TFLM sizes everything from the output tensor and never reads output_shape;
    # a model whose output_shape disagrees is not the model it claims to be.
    if shape_t is None or not shape_t.is_constant or shape_t.dtype != "int32":
        raise ctx.unsupported(op, "output_shape must be a constant int32 tensor")
    if [int(v) for v in shape_t.data.reshape(-1)] != list(out.shape):
        raise ctx.unsupported(op, f"output_shape {shape_t.data.reshape(-1).tolist()} differs from the output "
                                  f"tensor's shape {list(out.shape)}")
    check_filter_quant(ctx, op, filt, out.shape[3], TRANSPOSE_CONV_QUANTIZED_DIM)
    if filt.shape[3] != inp.shape[3]:
        raise ctx.unsupported(op, f"filter {shape_text(filt)} does not match {inp.shape[3]} input channels")
    if inp.shape[0] != out.shape[0]:
        raise ctx.unsupported(op, f"input batch {inp.shape[0]} differs from output batch {out.shape[0]}")
    if bias is not None:
        check_bias(ctx, op, bias, out.shape[3])
    return inp, filt, bias, out


@lowers("TRANSPOSE_CONV")
def lower_transpose_conv(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, filt, bias, out = _transpose_conv_tensors(ctx, op)
    # TFLM's padding is the forward convolution's from the output back to the
    # input: ComputePaddingHeightWidth on the output size, dilation 1.
    win = window(ctx, op, out, filt, dilated=False)
    params = [
        ("input", dims_init(inp.shape)),
        ("output", dims_init(out.shape)),
        ("filter_h", c_int(filt.shape[1])),
        ("filter_w", c_int(filt.shape[2])),
        ("stride_h", c_int(win.stride_h)),
        ("stride_w", c_int(win.stride_w)),
        ("pad_h", c_int(win.pad_h)),
        ("pad_w", c_int(win.pad_w)),
        *requant_fields(ctx, op, inp, filt, out),
    ]
    macs = inp.num_elements * filt.shape[0] * filt.shape[1] * filt.shape[2]
    args = [ctx.ptr(inp, const=True), ctx.const_tensor(filt, f"l{op.index}_filter"),
            ctx.const_tensor(bias, f"l{op.index}_bias") if bias is not None else "NULL", ctx.ptr(out)]
    return LayerCall(op.index, op.op, describe(op, inp, filt, bias, out, win, "", macs), "mcugen_transpose_conv_s8",
                     "mcugen_transpose_conv_params_t", params, args, "transpose_conv.h", macs)
