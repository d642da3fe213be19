"""ADD, SUB, MUL, MAXIMUM and MINIMUM, int8, with broadcasting: TFLM's add_common.cc /
sub_common.cc / mul_common.cc Prepare, computed here, and one broadcast walk baked per layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import Graph, Operator, Tensor
from ...target import ARM_DSP
from .. import fixed_point as fx
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_int, chooses, lowers, shape_text
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


def add_reals(in1: Tensor, in2: Tensor, out: Tensor) -> tuple[float, float, float]:
    """add_common.cc CalculateOpDataAdd (sub_common.cc CalculateOpDataSub is the same
    computation), in double from the float32 scales: input1's, input2's and the
    output's real multipliers."""
    s1, s2, so = in1.quant.scale[0], in2.quant.scale[0], out.quant.scale[0]
    twice_max = 2.0 * max(s1, s2)
    return s1 / twice_max, s2 / twice_max, twice_max / ((1 << ADD_LEFT_SHIFT) * so)


# ---- the arm-dsp ADD / SUB (mcugen/runtime/elementwise_dsp.h) ----

ADD_DSP_SUM, ADD_DSP_BIG_MINUS_SMALL, ADD_DSP_SMALL_MINUS_BIG = 0, 1, 2  # MCUGEN_ADD_DSP_*
EXACT_HALF = (1 << 30, 0)  # TFLM's (multiplier, shift) for 1/2: the larger-scale input's


@dataclass(frozen=True)
class AddDsp:
    """The arm-dsp kernel's constants for one ADD / SUB layer (elementwise_dsp.h)."""

    small: int  # which input (0 or 1) is rescaled with rounding; the other one is exact
    form: int
    small_offset: int
    small_multiplier: int
    small_round: int
    small_shift: int
    big_offset: int
    output_multiplier: int
    output_bias: int
    output_shift: int

    def fields(self) -> list[tuple[str, str]]:
        names = ("small_offset", "small_multiplier", "small_round", "small_shift", "big_offset", "form",
                 "output_multiplier", "output_bias", "output_shift")
        return [(name, c_int(getattr(self, name))) for name in names]

    def outputs(self, small: np.ndarray, big: np.ndarray) -> np.ndarray | None:
        """The kernel's outputs for int8 inputs, SSAT included, step by step as
        elementwise_dsp.c add_one computes them; None if one of its plain int32
        operations would overflow (SMMLAR wraps like the instruction)."""
        t = self.small_offset + small * (1 << 21)
        small_acc = self.small_round + (t >> 31)
        twice_small = (fx.smmlar(t, self.small_multiplier, small_acc) >> self.small_shift) * 2
        twice_big = self.big_offset + (-big if self.form == ADD_DSP_SMALL_MINUS_BIG else big) * (1 << 20)
        twice_sum = twice_big - twice_small if self.form == ADD_DSP_BIG_MINUS_SMALL else twice_big + twice_small
        output_acc = self.output_bias + (twice_sum >> 31)
        for step in (t, small_acc, twice_small, twice_big, twice_sum, output_acc):
            if np.any((step < fx.INT32_MIN) | (step > fx.INT32_MAX)):
                return None
        return np.clip(fx.smmlar(twice_sum, self.output_multiplier, output_acc) >> self.output_shift, -128, 127)


def _tflm_add(x1: np.ndarray, x2: np.ndarray, zps: tuple[int, int, int], pairs: list[tuple[int, int]],
              subtract: bool) -> np.ndarray:
    """TFLM's int8 ADD / SUB (elementwise.c add_sub_one) before the act clamp, clamped to int8."""
    scaled = [fx.requantize((x - zp) * (1 << ADD_LEFT_SHIFT), *pair) for x, zp, pair in zip((x1, x2), zps, pairs)]
    raw = scaled[0] - scaled[1] if subtract else scaled[0] + scaled[1]
    return np.clip(fx.requantize(raw, *pairs[2]) + zps[2], -128, 127)


def add_dsp_constants(op: Operator, in1: Tensor, in2: Tensor, out: Tensor) -> AddDsp | None:
    """The arm-dsp kernel's constants for this layer, or None where it must take the
    portable kernel. The kernel's formula is checked against TFLM's arithmetic for
    all 65536 pairs of int8 inputs: a layer takes it only if every output agrees."""
    reals = add_reals(in1, in2, out)
    if not all(0.0 < r < 1.0 for r in reals):
        return None  # TFLM refuses the layer; the portable lowering says so
    pairs = [quantize_multiplier(r) for r in reals]
    small = 0 if pairs[1] == EXACT_HALF and pairs[0] != EXACT_HALF else 1
    big = 1 - small
    if pairs[big] != EXACT_HALF:
        return None
    small_multiplier, small_shift = pairs[small]
    if small_shift > 0:
        return None
    if small_shift == 0:
        # an exact 1/2 (equal scales) or 0: RoundingDivideByPOT by 0 is no rounding, and
        # the kernel's form needs e >= 1; the multiplier 2^31 - 1 with e = 1 gives v * 2^19
        # exactly for every |v| <= 255 (the check below proves it)
        small_multiplier, e, half = (0x7FFFFFFF if small_multiplier else 0), 1, 1
    else:
        e, half = -small_shift, 1 << (-small_shift - 1)
    out_multiplier, out_shift = pairs[2]
    eo = -out_shift
    if not 1 <= eo <= 31:
        return None
    zps = tuple(int(t.quant.zero_point[0]) for t in (in1, in2, out))
    subtract = op.op == "SUB"
    form = ADD_DSP_SUM if not subtract else (ADD_DSP_BIG_MINUS_SMALL if small == 1 else ADD_DSP_SMALL_MINUS_BIG)
    big_offset = -zps[big] * (1 << 20)
    output_bias = (1 << (eo - 1)) + zps[2] * (1 << eo)
    if not fx.INT32_MIN <= output_bias <= fx.INT32_MAX:
        return None  # an output shift of 25 or more with a large zero point
    consts = AddDsp(small, form, -zps[small] * (1 << 21), small_multiplier, half, e,
                    -big_offset if form == ADD_DSP_SMALL_MINUS_BIG else big_offset, out_multiplier, output_bias, eo)
    grid = np.arange(-128, 128, dtype=np.int64)
    x1, x2 = np.meshgrid(grid, grid, indexing="ij")
    got = consts.outputs(*((x1, x2) if small == 0 else (x2, x1)))
    if got is None or not np.array_equal(got, _tflm_add(x1, x2, zps, pairs, subtract)):
        return None
    return consts


def _inner_contiguous(in1: Tensor, in2: Tensor, out: Tensor) -> bool:
    """Whether the innermost merged dimension steps both inputs by one (same shape, or
    a broadcast of whole rows): the only walk the arm-dsp kernel has."""
    rank = max(len(in1.shape), len(in2.shape), len(out.shape))
    shape1, shape2, out_shape = (_left_pad(s, rank) for s in (in1.shape, in2.shape, out.shape))
    if tuple(max(a, b) if 0 not in (a, b) else 0 for a, b in zip(shape1, shape2)) != out_shape:
        return False
    if any(a != b and 1 not in (a, b) for a, b in zip(shape1, shape2)):
        return False
    dims = merged_broadcast(shape1, shape2, out_shape)
    return len(dims) <= MAX_BROADCAST_DIMS and dims[-1][1:] == (1, 1)


def _add_dsp_layer(graph: Graph, op: Operator) -> AddDsp | None:
    if len(op.inputs) < 2 or min(op.inputs[:2]) < 0 or not op.outputs:
        return None
    in1, in2, out = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    for t in (in1, in2, out):
        if t.dtype != "int8" or t.quant is None or t.quant.per_channel:
            return None
    if op.options.get("fused_activation_function", "NONE") not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        return None
    if not _inner_contiguous(in1, in2, out):
        return None
    return add_dsp_constants(op, in1, in2, out)


@chooses("ADD", "SUB")
def choose_add(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """The arm-dsp kernel for int8 layers whose innermost run is contiguous in both
    inputs (same shapes, or broadcasting whole rows), when its formula reproduces
    TFLM's for every pair of inputs: it has for every layer tried (tests/
    test_kernels_dsp_elementwise_pool.py); the check is what makes taking it safe.
    No scratch."""
    return KernelChoice(ARM_DSP, 0) if _add_dsp_layer(graph, op) is not None else KernelChoice()


@lowers("ADD", "SUB")
def lower_add(ctx: LoweringContext, op: Operator) -> LayerCall:
    in1, in2, out = _operands(ctx, op)
    real1, real2, real_out = add_reals(in1, in2, out)
    in1_rq = smaller_than_one(ctx, op, real1, "input1")
    in2_rq = smaller_than_one(ctx, op, real2, "input2")
    out_rq = smaller_than_one(ctx, op, real_out, "output")
    if ctx.choice(op).variant == ARM_DSP:
        consts = _add_dsp_layer(ctx.graph, op)
        small, big = (in1, in2) if consts.small == 0 else (in2, in1)
        params = consts.fields() + [
            ("act", act_init(ctx, op, out)),
            ("bcast", broadcast_init(ctx, op, small, big, out)),
        ]
        roles = f"small-scale input {small.label()}, exact input {big.label()}"
        kernel = "mcugen_add_s8_dsp" if op.op == "ADD" else "mcugen_sub_s8_dsp"
        return LayerCall.of(KERNELS[kernel], op.index, op.op,
                            _comment(op, in1, in2, out) + f" [arm-dsp: {roles}]", params,
                            [ctx.ptr(small, const=True), ctx.ptr(big, const=True), ctx.ptr(out)])
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
