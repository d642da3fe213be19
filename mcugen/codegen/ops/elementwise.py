"""ADD, SUB, MUL, MAXIMUM and MINIMUM, int8, with broadcasting: TFLM's add_common.cc /
sub_common.cc / mul_common.cc Prepare, computed here, and one broadcast walk baked per layer."""

from __future__ import annotations

from ...ir import Operator, Tensor
from ..lowering import LayerCall, LoweringContext, c_int, lowers, shape_text
from ..quant import quantize_multiplier
from .common import act_init, describe_quant, require_dtype

MAX_BROADCAST_DIMS = 6  # MCUGEN_BROADCAST_MAX_DIMS in elementwise.h
ADD_LEFT_SHIFT = 20  # TFLM: 20 for int8 (15 is the int16 variant)


def broadcast_shape(ctx: LoweringContext, op: Operator, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of two shapes, or a refusal naming them."""
    rank = max(len(a), len(b))
    ea, eb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(ea, eb):
        if x != y and 1 not in (x, y):
            raise ctx.unsupported(op, f"input shapes {list(a)} and {list(b)} do not broadcast")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def merged_broadcast(shape1: tuple[int, ...], shape2: tuple[int, ...],
                     out_shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(extent, input1 stride, input2 stride) per dimension, outermost first, with
    size-1 output dimensions dropped and neighbours merged whenever both inputs
    step through them as one run (same shape: a single flat dimension)."""
    rank = len(out_shape)
    dims: list[tuple[int, int, int]] = []
    strides = []
    for shape in (shape1, shape2):
        ext = (1,) * (rank - len(shape)) + tuple(shape)
        s, acc = [0] * rank, 1
        for d in range(rank - 1, -1, -1):
            s[d] = 0 if ext[d] == 1 else acc
            acc *= ext[d]
        strides.append(s)
    for d in range(rank):
        if out_shape[d] != 1:
            dims.append((out_shape[d], strides[0][d], strides[1][d]))
    merged: list[tuple[int, int, int]] = []
    for extent, s1, s2 in dims:
        if merged:
            pe, p1, p2 = merged[-1]
            # the outer dimension continues the inner run for both inputs
            if p1 == s1 * extent and p2 == s2 * extent:
                merged[-1] = (pe * extent, s1, s2)
                continue
        merged.append((extent, s1, s2))
    return merged or [(1, 0, 0)]


def _left_pad(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    return (1,) * (rank - len(shape)) + tuple(shape)


def broadcast_init(ctx: LoweringContext, op: Operator, in1: Tensor, in2: Tensor, out: Tensor) -> str:
    # TFLM extends all three shapes with leading 1s to a common rank, so only that must agree
    rank = max(len(in1.shape), len(in2.shape), len(out.shape))
    shape1, shape2, out_shape = (_left_pad(s, rank) for s in (in1.shape, in2.shape, out.shape))
    if broadcast_shape(ctx, op, shape1, shape2) != out_shape:
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not the broadcast of "
                                  f"{list(in1.shape)} and {list(in2.shape)}")
    dims = merged_broadcast(shape1, shape2, out_shape)
    if len(dims) > MAX_BROADCAST_DIMS:
        raise ctx.unsupported(op, f"broadcasting {list(in1.shape)} with {list(in2.shape)} needs {len(dims)} "
                                  f"dimensions; mcugen supports {MAX_BROADCAST_DIMS}")
    pad = [(1, 0, 0)] * (MAX_BROADCAST_DIMS - len(dims))
    full = dims + pad  # unused trailing slots; the kernel reads only `rank`

    def row(i: int) -> str:
        return "{%s}" % ", ".join(c_int(d[i]) for d in full)

    outer = 1
    for extent, _, _ in dims[:-1]:
        outer *= extent
    return "{.rank = %d, .outer = %s, .shape = %s, .stride1 = %s, .stride2 = %s}" % (
        len(dims), c_int(outer), row(0), row(1), row(2))


def requant_init(pair: tuple[int, int]) -> str:
    return "{.multiplier = %s, .shift = %s}" % (c_int(pair[0]), c_int(pair[1]))


def smaller_than_one(ctx: LoweringContext, op: Operator, real: float, what: str) -> tuple[int, int]:
    """TFLM's QuantizeMultiplierSmallerThanOneExp, which fails Prepare outside (0, 1)."""
    if not 0.0 < real < 1.0:
        raise ctx.unsupported(op, f"{what} multiplier {real:.6g} is outside (0, 1); TFLM refuses this {op.op}")
    return quantize_multiplier(real)


def _operands(ctx: LoweringContext, op: Operator) -> tuple[Tensor, Tensor, Tensor]:
    in1, in2, out = ctx.input(op, 0), ctx.input(op, 1), ctx.output(op)
    require_dtype(ctx, op, in1, "int8")
    require_dtype(ctx, op, in2, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    for t in (in1, in2, out):
        if t.quant is None or t.quant.per_channel:
            raise ctx.unsupported(op, f"tensor {t.label()} must be per-tensor quantized")
    return in1, in2, out


def _comment(op: Operator, in1: Tensor, in2: Tensor, out: Tensor) -> str:
    operand = {"ADD": "+", "SUB": "-", "MUL": "*"}[op.op]
    consts = [t.label() for t in (in1, in2) if t.is_constant]
    bcast = "same shape" if in1.shape == in2.shape else "broadcast"
    extra = f", const {', '.join(consts)}" if consts else ""
    return (f"{op.op} in {shape_text(in1)} {operand} {shape_text(in2)} -> out {shape_text(out)}, {bcast}{extra}, "
            f"{op.options.get('fused_activation_function', 'NONE')}")


@lowers("ADD", "SUB")
def lower_add(ctx: LoweringContext, op: Operator) -> LayerCall:
    in1, in2, out = _operands(ctx, op)
    s1, s2, so = in1.quant.scale[0], in2.quant.scale[0], out.quant.scale[0]
    # add_common.cc CalculateOpDataAdd (sub_common.cc CalculateOpDataSub is the
    # same computation), in double from the float32 scales
    twice_max = 2.0 * max(s1, s2)
    in1_rq = smaller_than_one(ctx, op, s1 / twice_max, "input1")
    in2_rq = smaller_than_one(ctx, op, s2 / twice_max, "input2")
    out_rq = smaller_than_one(ctx, op, twice_max / ((1 << ADD_LEFT_SHIFT) * so), "output")
    params = [
        ("input1_offset", c_int(-in1.quant.zero_point[0])),
        ("input2_offset", c_int(-in2.quant.zero_point[0])),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("left_shift", c_int(ADD_LEFT_SHIFT)),
        ("input1", requant_init(in1_rq)),
        ("input2", requant_init(in2_rq)),
        ("output", requant_init(out_rq)),
        ("act", act_init(ctx, op, out)),
        ("bcast", broadcast_init(ctx, op, in1, in2, out)),
    ]
    args = [ctx.ptr(in1, const=True), ctx.ptr(in2, const=True), ctx.ptr(out)]
    kernel, params_type = {"ADD": ("mcugen_add_s8", "mcugen_add_params_t"),
                           "SUB": ("mcugen_sub_s8", "mcugen_sub_params_t")}[op.op]
    return LayerCall(op.index, op.op, _comment(op, in1, in2, out), kernel, params_type,
                     params, args, "elementwise.h")


@lowers("MUL")
def lower_mul(ctx: LoweringContext, op: Operator) -> LayerCall:
    in1, in2, out = _operands(ctx, op)
    # mul_common.cc CalculateOpDataMul: (double)s1 * (double)s2 / (double)s_out
    real = in1.quant.scale[0] * in2.quant.scale[0] / out.quant.scale[0]
    params = [
        ("input1_offset", c_int(-in1.quant.zero_point[0])),
        ("input2_offset", c_int(-in2.quant.zero_point[0])),
        ("output_offset", c_int(out.quant.zero_point[0])),
        ("output", requant_init(quantize_multiplier(real))),
        ("act", act_init(ctx, op, out)),
        ("bcast", broadcast_init(ctx, op, in1, in2, out)),
    ]
    args = [ctx.ptr(in1, const=True), ctx.ptr(in2, const=True), ctx.ptr(out)]
    return LayerCall(op.index, op.op, _comment(op, in1, in2, out), "mcugen_mul_s8", "mcugen_mul_params_t",
                     params, args, "elementwise.h")


@lowers("MAXIMUM", "MINIMUM")
def lower_maximum_minimum(ctx: LoweringContext, op: Operator) -> LayerCall:
    in1, in2, out = _operands(ctx, op)
    # maximum_minimum.cc has no Prepare: it compares raw int8 values and ignores
    # every scale and zero point. That is only the real max/min when all three
    # tensors share one quantization (what the converter emits), so demand it.
    quants = {(float(t.quant.scale[0]), int(t.quant.zero_point[0])) for t in (in1, in2, out)}
    if len(quants) != 1:
        raise ctx.unsupported(op, "inputs and output must share one quantization (TFLM compares raw int8 "
                                  "values); got " + ", ".join(f"{t.label()} {describe_quant(t)}" for t in (in1, in2, out)))
    params = [("bcast", broadcast_init(ctx, op, in1, in2, out))]
    args = [ctx.ptr(in1, const=True), ctx.ptr(in2, const=True), ctx.ptr(out)]
    kernel = "mcugen_maximum_s8" if op.op == "MAXIMUM" else "mcugen_minimum_s8"
    consts = [t.label() for t in (in1, in2) if t.is_constant]
    comment = (f"{op.op} in {shape_text(in1)}, {shape_text(in2)} -> out {shape_text(out)}, "
               f"{'same shape' if in1.shape == in2.shape else 'broadcast'}"
               f"{', const ' + ', '.join(consts) if consts else ''}")
    return LayerCall(op.index, op.op, comment, kernel, "mcugen_minmax_params_t", params, args, "elementwise.h")
