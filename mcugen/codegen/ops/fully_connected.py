"""FULLY_CONNECTED, int8 weights, int32 bias, per-tensor or per-channel."""

from __future__ import annotations

from ...ir import Graph, Operator
from ...ops import op_macs
from ...target import ARM_DSP
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_int, chooses, lowers, shape_text
from ..quant import quantize_multiplier
from .common import act_init, describe_quant, require_dtype, requant_array
from .dsp import align4, channels_array, pack_rows_dsp, words_array


@chooses("FULLY_CONNECTED")
def choose_fully_connected(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """The arm-dsp kernel for int8 activations and symmetric int8 weights; it widens
    the input as it reads it, so it needs no scratch."""
    if len(op.inputs) < 2 or min(op.inputs[:2]) < 0 or not op.outputs:
        return KernelChoice()
    inp, weights, out = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    if any(t.dtype != "int8" or t.quant is None for t in (inp, weights, out)) or not weights.is_constant:
        return KernelChoice()
    if any(z != 0 for z in weights.quant.zero_point) or op.options.get("weights_format", 0) != 0:
        return KernelChoice()
    return KernelChoice(ARM_DSP, 0)


@lowers("FULLY_CONNECTED")
def lower_fully_connected(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, weights, bias, out = ctx.input(op, 0), ctx.input(op, 1), ctx.input(op, 2), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, weights, "int8", role="weights")
    require_dtype(ctx, op, out, "int8", role="output")
    if not weights.is_constant:
        raise ctx.unsupported(op, "weights are not constant")
    if bias is not None and (bias.dtype != "int32" or not bias.is_constant):
        raise ctx.unsupported(op, f"bias must be constant int32, not {bias.dtype}")
    if op.options.get("weights_format", 0) != 0:
        raise ctx.unsupported(op, "shuffled weights format is not supported")
    units, depth = weights.shape[0], weights.shape[-1]
    batches = inp.num_elements // depth
    in_scale, out_scale = inp.quant.scale[0], out.quant.scale[0]
    per_channel = weights.quant.per_channel
    # TFLM: real multiplier = (double)input_scale * (double)filter_scale / (double)output_scale
    pairs = [quantize_multiplier(in_scale * s / out_scale) for s in weights.quant.scale]
    macs = op_macs(ctx.graph, op)
    comment = (f"FULLY_CONNECTED in {shape_text(inp)} -> out {shape_text(out)}, weights {shape_text(weights)} "
               f"{describe_quant(weights)}, {op.options.get('fused_activation_function', 'NONE')}, {macs:,} MACs")
    if ctx.choice(op).variant == ARM_DSP:
        biases = [int(v) for v in bias.data.reshape(-1)] if bias is not None else [0] * units
        table = channels_array(ctx, op, pairs, units, biases, "multiplier, bias, left shift, right shift per unit")
        rows = weights.data.reshape(units, depth)
        words = words_array(ctx, op, "weights", pack_rows_dsp(rows),
                            f"weights {units}x{depth} packed for the SIMD loop: unit pairs, 4 values per word")
        dsp_params = [
            ("batches", c_int(batches)),
            ("depth", c_int(depth)),
            ("depth4", c_int(align4(depth))),
            ("units", c_int(units)),
            ("input_offset", c_int(-inp.quant.zero_point[0])),
            ("output_offset", c_int(out.quant.zero_point[0])),
            ("act", act_init(ctx, op, out)),
            ("channels", table),
        ]
        return LayerCall.of(KERNELS["mcugen_fully_connected_s8_dsp"], op.index, op.op, comment + " [arm-dsp]",
                            dsp_params, [ctx.ptr(inp, const=True), words, ctx.ptr(out)], macs)
    requant = requant_array(ctx, f"l{op.index}_requant", pairs, "multiplier, shift per unit" if per_channel else
                            "multiplier, shift")
    params = [
        ("batches", c_int(batches)),
        ("accum_depth", c_int(depth)),
        ("output_depth", c_int(units)),
        ("input_offset", c_int(-inp.quant.zero_point[0])),
        ("weights_offset", c_int(-weights.quant.zero_point[0])),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("act", act_init(ctx, op, out)),
        ("requant", requant),
        ("per_channel", "1" if per_channel else "0"),
    ]
    args = [
        ctx.ptr(inp, const=True),
        ctx.const_tensor(weights, f"l{op.index}_weights"),
        ctx.const_tensor(bias, f"l{op.index}_bias") if bias is not None else "NULL",
        ctx.ptr(out),
    ]
    return LayerCall(op.index, op.op, comment, "mcugen_fully_connected_s8", "mcugen_fully_connected_params_t",
                     params, args, "fully_connected.h", macs)
