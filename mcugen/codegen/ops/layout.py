"""Data movement, int8: PAD, PADV2, CONCATENATION, STRIDED_SLICE, TRANSPOSE,
RESIZE_NEAREST_NEIGHBOR.

None of these touch values (TFLM requantizes nothing here), so each lowering
checks what TFLM's Prepare checks, resolves shapes, paddings, slices and
permutations to plain extents and strides at generate time, and bakes them.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import Graph, Operator, Tensor
from ...op_shapes import c_div as _c_div
from ...target import ARM_DSP
from ..kernels import KERNELS
from ..lowering import KernelChoice, LayerCall, LoweringContext, c_int, chooses, lowers, shape_text
from ..quant import round_half_away
from .common import require_dtype

PAD_DIMS = 5  # TFLM's PadKernelMaxDimensionCount, MCUGEN_PAD_DIMS
CONCAT_MAX_INPUTS = 10  # TFLM's kMaxInputNum, MCUGEN_CONCAT_MAX_INPUTS
CONCAT_MAX_DIMS = 6  # TFLM's RuntimeShape::kMaxSmallSize
STRIDED_SLICE_MAX_INPUT_DIMS = 4  # TFLM micro strided_slice_common.cc kMaxDim
GATHER_DIMS = 5  # MCUGEN_STRIDED_SLICE_DIMS, MCUGEN_TRANSPOSE_DIMS
TRANSPOSE_MAX_DIMS = 5


def _ints(values: list[int] | tuple[int, ...]) -> str:
    return "{%s}" % ", ".join(c_int(v) for v in values)


def _const_ints(ctx: LoweringContext, op: Operator, pos: int, role: str) -> np.ndarray:
    """A constant int32 parameter input; TFLM reads these as int32 whatever their type."""
    t = ctx.input(op, pos)
    if t is None:
        raise ctx.unsupported(op, f"missing {role} input")
    if not t.is_constant:
        raise ctx.unsupported(op, f"{role} tensor {t.label()} is not constant; TFLM requires a constant {role}")
    if t.dtype != "int32":
        raise ctx.unsupported(op, f"{role} tensor {t.label()} is {t.dtype}; TFLM reads it as int32")
    return np.asarray(t.data, dtype=np.int64).reshape(-1)


def _data_operands(ctx: LoweringContext, op: Operator) -> tuple[Tensor, Tensor]:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    require_dtype(ctx, op, out, "int8", role="output")
    return inp, out


def _product(values: list[int] | tuple[int, ...]) -> int:
    return int(math.prod(values))


# --------------------------------------------------------------------------
# PAD, PADV2
# --------------------------------------------------------------------------

def merged_pad_dims(in_shape: tuple[int, ...], before: list[int], after: list[int]) -> list[tuple[int, int, int]]:
    """(output extent, input extent, padding before) per dimension, outermost first.

    An unpadded dimension folds into the next outer one (that dimension's rows
    simply get longer), so only padded dimensions, plus the outermost, remain."""
    dims: list[tuple[int, int, int]] = []
    for n, b, a in zip(in_shape, before, after):
        if dims and b == 0 and a == 0:
            po, pi, pb = dims[-1]
            dims[-1] = (po * n, pi * n, pb * n)
        else:
            dims.append((n + b + a, n, b))
    return dims or [(1, 1, 0)]


def _pad_value(ctx: LoweringContext, op: Operator, out: Tensor) -> int:
    value_t = ctx.input(op, 2) if op.op == "PADV2" else None
    out_scale, out_zp = (out.quant.scale[0], out.quant.zero_point[0]) if out.quant else (0.0, 0)
    if value_t is None:
        return int(out_zp)
    require_dtype(ctx, op, value_t, "int8", role="constant value")
    if not value_t.is_constant or value_t.num_elements != 1:
        raise ctx.unsupported(op, f"constant value {value_t.label()} must be a constant scalar")
    vq = value_t.quant
    v_scale, v_zp = (vq.scale[0], vq.zero_point[0]) if vq else (0.0, 0)
    if v_zp != out_zp or v_scale != out_scale:
        raise ctx.unsupported(op, "the constant value's scale and zero point differ from the output's; "
                                  "TFLM refuses this PADV2")
    return int(np.asarray(value_t.data).reshape(-1)[0])


@chooses("PAD", "PADV2")
def choose_pad(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    """The word-moving kernel for every int8 pad (it has no per-layer cost: its
    parameters are the portable kernel's). No scratch."""
    if not op.inputs or op.inputs[0] < 0 or not op.outputs:
        return KernelChoice()
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if inp.dtype != "int8" or out.dtype != "int8":
        return KernelChoice()
    return KernelChoice(ARM_DSP, 0)


@lowers("PAD", "PADV2")
def lower_pad(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _data_operands(ctx, op)
    rank = len(inp.shape)
    if rank > PAD_DIMS:
        raise ctx.unsupported(op, f"input has {rank} dimensions; TFLM pads at most {PAD_DIMS}")
    pads = _const_ints(ctx, op, 1, "paddings")
    if len(out.shape) != rank or pads.size != 2 * rank:
        raise ctx.unsupported(op, f"paddings hold {pads.size} values for a rank-{rank} input")
    before, after = [int(v) for v in pads[0::2]], [int(v) for v in pads[1::2]]
    if min(before + after, default=0) < 0:
        raise ctx.unsupported(op, f"negative paddings {pads.reshape(-1, 2).tolist()} are not supported")
    expected = tuple(n + b + a for n, b, a in zip(inp.shape, before, after))
    if expected != tuple(out.shape):
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not the padded input {list(expected)}")
    pad_value = _pad_value(ctx, op, out)
    dims = merged_pad_dims(inp.shape, before, after)
    dims = [(1, 1, 0)] * (PAD_DIMS - len(dims)) + dims
    params = [
        ("out_shape", _ints([d[0] for d in dims])),
        ("before", _ints([d[2] for d in dims])),
        ("in_shape", _ints([d[1] for d in dims])),
        ("pad_value", c_int(pad_value)),
    ]
    args = [ctx.ptr(inp, const=True), ctx.ptr(out)]
    pairs = ", ".join(f"{b}+{a}" for b, a in zip(before, after))
    comment = f"{op.op} in {shape_text(inp)} -> out {shape_text(out)}, paddings [{pairs}], value {pad_value}"
    if ctx.choice(op).variant == ARM_DSP:
        return LayerCall.of(KERNELS["mcugen_pad_s8_dsp"], op.index, op.op, comment + " [arm-dsp]", params, args)
    return LayerCall(op.index, op.op, comment, "mcugen_pad_s8", "mcugen_pad_params_t", params, args, "pad.h")


# --------------------------------------------------------------------------
# CONCATENATION
# --------------------------------------------------------------------------

def _quant_pair(t: Tensor) -> tuple[float, int]:
    """TFLM's params.scale / zero_point: (0, 0) when the tensor is not quantized."""
    if t.quant is None:
        return 0.0, 0
    return t.quant.scale[0], t.quant.zero_point[0]


@lowers("CONCATENATION")
def lower_concatenation(ctx: LoweringContext, op: Operator) -> LayerCall:
    out = ctx.output(op)
    require_dtype(ctx, op, out, "int8", role="output")
    inputs = [ctx.input(op, i) for i in range(len(op.inputs))]
    if not inputs or len(inputs) > CONCAT_MAX_INPUTS:
        raise ctx.unsupported(op, f"{len(inputs)} inputs; TFLM concatenates 1 to {CONCAT_MAX_INPUTS}")
    if op.options.get("fused_activation_function", "NONE") != "NONE":
        raise ctx.unsupported(op, f"fused activation {op.options['fused_activation_function']} is not supported; "
                                  "TFLM requires NONE")
    rank = len(out.shape)
    if rank > CONCAT_MAX_DIMS:
        raise ctx.unsupported(op, f"output has {rank} dimensions; TFLM concatenates at most {CONCAT_MAX_DIMS}")
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ctx.unsupported(op, f"axis {op.options.get('axis')} is out of range for rank {rank}")
    out_q = _quant_pair(out)
    for i, t in enumerate(inputs):
        require_dtype(ctx, op, t, "int8", role=f"input {i}")
        if _quant_pair(t) != out_q:
            raise ctx.unsupported(op, f"input {t.label()} is quantized (scale {_quant_pair(t)[0]:.6g}, zero point "
                                      f"{_quant_pair(t)[1]}) unlike the output (scale {out_q[0]:.6g}, zero point "
                                      f"{out_q[1]}); TFLM requires equal quantization")
        if len(t.shape) != rank or any(t.shape[d] != out.shape[d] for d in range(rank) if d != axis):
            raise ctx.unsupported(op, f"input shape {list(t.shape)} does not fit output {list(out.shape)} "
                                      f"along axis {axis}")
    if sum(t.shape[axis] for t in inputs) != out.shape[axis]:
        raise ctx.unsupported(op, f"inputs do not sum to the output's extent {out.shape[axis]} on axis {axis}")
    if ctx.call is not None and ctx.call.no_code:
        # The plan put every input in its slice of the output: the producers wrote it.
        return LayerCall(op.index, op.op, f"CONCATENATION in {' + '.join(shape_text(t) for t in inputs)} -> out "
                                          f"{shape_text(out)}, axis {axis} (in place: each input made in its slice)")
    sizes = [_product(t.shape[axis:]) for t in inputs]
    sizes += [0] * (CONCAT_MAX_INPUTS - len(sizes))
    params = [
        ("outer", c_int(_product(out.shape[:axis]))),
        ("num_inputs", c_int(len(inputs))),
        ("copy_size", _ints(sizes)),
    ]
    pointers = ", ".join(ctx.ptr(t, const=True) for t in inputs)
    args = [f"(const int8_t *const[]){{{pointers}}}", ctx.ptr(out)]
    comment = (f"CONCATENATION in {' + '.join(shape_text(t) for t in inputs)} -> out {shape_text(out)}, "
               f"axis {axis}")
    return LayerCall(op.index, op.op, comment, "mcugen_concatenation_s8", "mcugen_concatenation_params_t",
                     params, args, "concatenation.h")


# --------------------------------------------------------------------------
# Strided gathers: STRIDED_SLICE, TRANSPOSE
# --------------------------------------------------------------------------

def element_strides(shape: tuple[int, ...] | list[int]) -> list[int]:
    strides, acc = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = acc
        acc *= shape[d]
    return strides


def merged_gather(dims: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(count, input step) per output dimension, outermost first: dimensions that
    take one element are dropped, and an outer dimension that continues its
    inner neighbour's run merges into it."""
    merged: list[tuple[int, int]] = []
    for count, step in dims:
        if count == 1:
            continue
        if merged and merged[-1][1] == step * count:
            merged[-1] = (merged[-1][0] * count, step)
        else:
            merged.append((count, step))
    return merged or [(1, 0)]


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else (lo if v < lo else v)


def _slice_start(begin: int, stride: int, size: int, masked: bool) -> int:
    """TFLM's StridedSliceStartForAxis (the one Eval uses): clamp, then the mask."""
    start = begin + size if begin < 0 else begin
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if masked:
        start = 0 if stride > 0 else size - 1
    return start


def _slice_end(end: int, stride: int, size: int, start: int, masked: bool, shrink: bool) -> int:
    """TFLM's StridedSliceEndForAxis with offset false (micro never sets it)."""
    if shrink:
        return start if start >= size else start + 1
    stop = end + size if end < 0 else end
    stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    if masked:
        stop = size if stride > 0 else -1
    return stop


def _loop_count(start: int, stop: int, stride: int) -> int:
    """Iterations of `for (i = start; stride > 0 ? i < stop : i > stop; i += stride)`."""
    span = stop - start if stride > 0 else start - stop
    return max(0, -(-span // abs(stride)))


def _checked_output_shape(begin: list[int], end: list[int], strides: list[int], shape: tuple[int, ...],
                          begin_mask: int, end_mask: int, shrink_mask: int) -> list[int]:
    """TFLM's CheckOutputSize: StartForAxis / StopForAxis (mask, then clamp) and a
    float32 ceil of the span over the stride; the output must have this shape."""
    dims = []
    big, small = (1 << 31) - 1, -(1 << 31)
    for axis, size in enumerate(shape):
        stride = strides[axis]
        if size == 0:
            start = stop = 0
        else:
            start = begin[axis]
            if begin_mask & (1 << axis):
                start = small if stride > 0 else big
            start = start + size if start < 0 else start
            start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
            if shrink_mask & (1 << axis):
                stop = start + 1
            else:
                stop = end[axis]
                if end_mask & (1 << axis):
                    stop = big if stride > 0 else small
                stop = stop + size if stop < 0 else stop
                stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
        if shrink_mask & (1 << axis):
            continue
        extent = math.ceil(float(np.float32(stop - start) / np.float32(stride)))
        dims.append(max(0, int(extent)))
    return dims


def _gather_init(start: int, dims: list[tuple[int, int]]) -> list[tuple[str, str]]:
    dims = [(1, 0)] * (GATHER_DIMS - len(dims)) + dims
    return [("start", c_int(start)), ("count", _ints([d[0] for d in dims])), ("step", _ints([d[1] for d in dims]))]


@lowers("STRIDED_SLICE")
def lower_strided_slice(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _data_operands(ctx, op)
    opts = op.options
    for name in ("ellipsis_mask", "new_axis_mask"):
        if int(opts.get(name, 0) or 0) != 0:
            raise ctx.unsupported(op, f"option {name}={opts[name]} is not supported (TFLM micro ignores it, so its "
                                      "result would not be the model's slice)")
    if opts.get("offset", False):
        raise ctx.unsupported(op, "option offset=True is not supported (TFLM micro ignores it)")
    rank = len(inp.shape)
    if rank > STRIDED_SLICE_MAX_INPUT_DIMS:
        raise ctx.unsupported(op, f"input has {rank} dimensions; TFLM slices at most {STRIDED_SLICE_MAX_INPUT_DIMS}")
    begin, end, strides = ([int(v) for v in _const_ints(ctx, op, i, role)]
                           for i, role in ((1, "begin"), (2, "end"), (3, "strides")))
    if not len(begin) == len(end) == len(strides) == rank:
        raise ctx.unsupported(op, f"begin/end/strides hold {len(begin)}/{len(end)}/{len(strides)} values for a "
                                  f"rank-{rank} input")
    if 0 in strides:
        raise ctx.unsupported(op, "a stride is 0; TFLM requires non-zero strides")
    bm, em, sm = (int(opts.get(k, 0) or 0) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
    if _checked_output_shape(begin, end, strides, inp.shape, bm, em, sm) != list(out.shape):
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not what TFLM computes for this slice")
    in_strides = element_strides(inp.shape)
    start_offset, dims = 0, []
    for axis, size in enumerate(inp.shape):
        s = strides[axis]
        first = _slice_start(begin[axis], s, size, bool(bm & (1 << axis)))
        stop = _slice_end(end[axis], s, size, first, bool(em & (1 << axis)), bool(sm & (1 << axis)))
        count = _loop_count(first, stop, s)
        if count:
            start_offset += first * in_strides[axis]
        dims.append((count, s * in_strides[axis]))
    if _product([c for c, _ in dims]) != out.num_elements:
        raise ctx.unsupported(op, f"the slice takes {_product([c for c, _ in dims])} elements but the output holds "
                                  f"{out.num_elements}")
    merged = merged_gather(dims) if out.num_elements else [(0, 0)]
    if len(merged) > GATHER_DIMS:
        raise ctx.unsupported(op, f"slice needs {len(merged)} dimensions")
    spec = ", ".join(f"{b}:{e}:{s}" for b, e, s in zip(begin, end, strides))
    comment = (f"STRIDED_SLICE in {shape_text(inp)} -> out {shape_text(out)}, [{spec}], masks begin={bm} end={em} "
               f"shrink={sm}")
    return LayerCall(op.index, op.op, comment, "mcugen_strided_slice_s8", "mcugen_strided_slice_params_t",
                     _gather_init(start_offset if out.num_elements else 0, merged),
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "strided_slice.h")


@lowers("TRANSPOSE")
def lower_transpose(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _data_operands(ctx, op)
    rank = len(inp.shape)
    if rank > TRANSPOSE_MAX_DIMS:
        raise ctx.unsupported(op, f"input has {rank} dimensions; TFLM transposes at most {TRANSPOSE_MAX_DIMS}")
    perm = [int(v) for v in _const_ints(ctx, op, 1, "perm")]
    if sorted(perm) != list(range(rank)):
        raise ctx.unsupported(op, f"perm {perm} is not a permutation of {rank} dimensions")
    if tuple(inp.shape[p] for p in perm) != tuple(out.shape):
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not the input permuted by {perm}")
    in_strides = element_strides(inp.shape)
    merged = merged_gather([(inp.shape[p], in_strides[p]) for p in perm])
    merged = [(1, 0)] * (GATHER_DIMS - len(merged)) + merged
    params = [("shape", _ints([d[0] for d in merged])), ("stride", _ints([d[1] for d in merged]))]
    comment = f"TRANSPOSE in {shape_text(inp)} -> out {shape_text(out)}, perm {perm}"
    return LayerCall(op.index, op.op, comment, "mcugen_transpose_s8", "mcugen_transpose_params_t",
                     params, [ctx.ptr(inp, const=True), ctx.ptr(out)], "transpose.h")


# --------------------------------------------------------------------------
# RESIZE_NEAREST_NEIGHBOR
# --------------------------------------------------------------------------

def nearest_neighbor(index: int, in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> int:
    """TFLM's GetNearestNeighbor, in float32 exactly as the reference computes it."""
    f = np.float32
    if align_corners and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel else f(0.0)
    pos = (f(index) + offset) * scale
    value = round_half_away(float(pos)) if align_corners else math.floor(float(pos))
    value = min(int(value), in_size - 1)
    if half_pixel:
        value = max(0, value)
    return value


@lowers("RESIZE_NEAREST_NEIGHBOR")
def lower_resize_nearest(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _data_operands(ctx, op)
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ctx.unsupported(op, "input and output must be 4-D (NHWC); TFLM requires it")
    size = [int(v) for v in _const_ints(ctx, op, 1, "size")]
    batches, in_h, in_w, depth = inp.shape
    if len(size) != 2 or tuple(size) != tuple(out.shape[1:3]) or out.shape[0] != batches or out.shape[3] != depth:
        raise ctx.unsupported(op, f"size {size} does not match output shape {list(out.shape)}")
    align, half = bool(op.options.get("align_corners", False)), bool(op.options.get("half_pixel_centers", False))
    out_h, out_w = size
    rows = [nearest_neighbor(y, in_h, out_h, align, half) * in_w * depth for y in range(out_h)]
    cols = [nearest_neighbor(x, in_w, out_w, align, half) * depth for x in range(out_w)]
    row_arr = ctx.add_array(f"l{op.index}_rows", "int32_t", np.array(rows, dtype=np.int32),
                            "input row offset per output row")
    col_arr = ctx.add_array(f"l{op.index}_cols", "int32_t", np.array(cols, dtype=np.int32),
                            "input column offset per output column")
    params = [
        ("batches", c_int(batches)),
        ("out_height", c_int(out_h)),
        ("out_width", c_int(out_w)),
        ("depth", c_int(depth)),
        ("in_batch_stride", c_int(in_h * in_w * depth)),
        ("row_offset", row_arr),
        ("col_offset", col_arr),
    ]
    comment = (f"RESIZE_NEAREST_NEIGHBOR in {shape_text(inp)} -> out {shape_text(out)}, "
               f"align_corners={align}, half_pixel_centers={half}")
    return LayerCall(op.index, op.op, comment, "mcugen_resize_nearest_s8", "mcugen_resize_nearest_params_t",
                     params, [ctx.ptr(inp, const=True), ctx.ptr(out)], "resize_nearest.h")


# --------------------------------------------------------------------------
# SPLIT, SPLIT_V, UNPACK, PACK
# --------------------------------------------------------------------------

def _axis(ctx: LoweringContext, op: Operator, axis: int, rank: int) -> int:
    """A possibly negative axis, checked against the rank as TFLM's Eval checks it."""
    resolved = axis + rank if axis < 0 else axis
    if not 0 <= resolved < rank:
        raise ctx.unsupported(op, f"axis {axis} is out of range for rank {rank}")
    return resolved


def _scalar_axis(ctx: LoweringContext, op: Operator, pos: int, rank: int) -> int:
    values = _const_ints(ctx, op, pos, "axis")
    if values.size != 1:
        raise ctx.unsupported(op, f"axis tensor holds {values.size} values; TFLM reads exactly one")
    return _axis(ctx, op, int(values[0]), rank)


def _same_quant(ctx: LoweringContext, op: Operator, ref: Tensor, others: list[Tensor]) -> None:
    """These ops copy int8 codes unchanged. TFLite requires every operand to share
    one scale and zero point for that copy to mean anything (TFLM does not
    check, and would copy anyway), so a model that differs is refused."""
    want = _quant_pair(ref)
    for t in others:
        if _quant_pair(t) != want:
            raise ctx.unsupported(op, f"{t.label()} is quantized (scale {_quant_pair(t)[0]:.6g}, zero point "
                                      f"{_quant_pair(t)[1]}) unlike {ref.label()} (scale {want[0]:.6g}, zero point "
                                      f"{want[1]}); TFLite requires equal quantization")


def _int8_outputs(ctx: LoweringContext, op: Operator) -> list[Tensor]:
    outs = [ctx.output(op, k) for k in range(len(op.outputs))]
    for k, t in enumerate(outs):
        require_dtype(ctx, op, t, "int8", role=f"output {k}")
        if t.num_elements == 0:
            raise ctx.unsupported(op, f"output {t.label()} is empty")
    return outs


def _split_call(ctx: LoweringContext, op: Operator, inp: Tensor, outs: list[Tensor], axis: int,
                extents: list[int], detail: str) -> LayerCall:
    """The one copy kernel behind SPLIT, SPLIT_V and UNPACK: output k takes a run of
    extents[k] * inner elements from every one of `outer` input slices."""
    inner = _product(inp.shape[axis + 1:])
    sizes = ctx.add_array(f"l{op.index}_copy_size", "int32_t", np.array([e * inner for e in extents], dtype=np.int32),
                          "elements per output per outer slice")
    params = [("outer", c_int(_product(inp.shape[:axis]))), ("num_outputs", c_int(len(outs))), ("copy_size", sizes)]
    pointers = ", ".join(ctx.ptr(t) for t in outs)
    comment = (f"{op.op} in {shape_text(inp)} -> out {' + '.join(shape_text(t) for t in outs)}, axis {axis}"
               f"{detail}")
    return LayerCall(op.index, op.op, comment, "mcugen_split_s8", "mcugen_split_params_t", params,
                     [ctx.ptr(inp, const=True), f"(int8_t *const[]){{{pointers}}}"], "split.h")


def _check_split_shapes(ctx: LoweringContext, op: Operator, inp: Tensor, outs: list[Tensor], axis: int) -> None:
    rank = len(inp.shape)
    for t in outs:
        if len(t.shape) != rank or any(t.shape[d] != inp.shape[d] for d in range(rank) if d != axis):
            raise ctx.unsupported(op, f"output shape {list(t.shape)} does not fit input {list(inp.shape)} "
                                      f"split along axis {axis}")
    if sum(t.shape[axis] for t in outs) != inp.shape[axis]:
        raise ctx.unsupported(op, f"outputs do not sum to the input's extent {inp.shape[axis]} on axis {axis}")


@lowers("SPLIT")
def lower_split(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp = ctx.input(op, 1)
    require_dtype(ctx, op, inp, "int8")
    outs = _int8_outputs(ctx, op)
    axis = _scalar_axis(ctx, op, 0, len(inp.shape))
    num_splits = int(op.options.get("num_splits", len(outs)) or 0)
    if num_splits != len(outs):
        raise ctx.unsupported(op, f"option num_splits={num_splits} differs from the {len(outs)} outputs")
    _check_split_shapes(ctx, op, inp, outs, axis)
    # TFLM sizes every output's copy from output 0: the split must be even.
    if len({t.shape[axis] for t in outs}) != 1:
        raise ctx.unsupported(op, "outputs differ in size along the axis; SPLIT splits evenly")
    _same_quant(ctx, op, inp, outs)
    return _split_call(ctx, op, inp, outs, axis, [t.shape[axis] for t in outs], f", {len(outs)} even parts")


@lowers("SPLIT_V")
def lower_split_v(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp = ctx.input(op, 0)
    require_dtype(ctx, op, inp, "int8")
    outs = _int8_outputs(ctx, op)
    axis = _scalar_axis(ctx, op, 2, len(inp.shape))
    _check_split_shapes(ctx, op, inp, outs, axis)
    # TFLM takes the sizes from the output shapes; size_splits must agree with
    # them (one -1 standing for the rest), or the model is not what it says.
    splits = [int(v) for v in _const_ints(ctx, op, 1, "size_splits")]
    extents = [t.shape[axis] for t in outs]
    if len(splits) != len(outs) or any(s != e and s != -1 for s, e in zip(splits, extents)) or splits.count(-1) > 1:
        raise ctx.unsupported(op, f"size_splits {splits} does not match the outputs' extents {extents} on axis {axis}")
    _same_quant(ctx, op, inp, outs)
    return _split_call(ctx, op, inp, outs, axis, extents, f", sizes {extents}")


@lowers("UNPACK")
def lower_unpack(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp = ctx.input(op, 0)
    require_dtype(ctx, op, inp, "int8")
    outs = _int8_outputs(ctx, op)
    rank = len(inp.shape)
    axis = _axis(ctx, op, int(op.options.get("axis", 0) or 0), rank)
    num = int(op.options.get("num", 0) or 0)
    if num != len(outs) or num != inp.shape[axis]:
        raise ctx.unsupported(op, f"option num={num} does not match {len(outs)} outputs and extent "
                                  f"{inp.shape[axis]} on axis {axis}")
    expected = tuple(inp.shape[:axis] + inp.shape[axis + 1:])
    for t in outs:
        if tuple(t.shape) != expected:
            raise ctx.unsupported(op, f"output shape {list(t.shape)} is not the input without axis {axis}")
    _same_quant(ctx, op, inp, outs)
    return _split_call(ctx, op, inp, outs, axis, [1] * num, "")


@lowers("PACK")
def lower_pack(ctx: LoweringContext, op: Operator) -> LayerCall:
    out = ctx.output(op)
    require_dtype(ctx, op, out, "int8", role="output")
    inputs = [ctx.input(op, i) for i in range(len(op.inputs))]
    for i, t in enumerate(inputs):
        require_dtype(ctx, op, t, "int8", role=f"input {i}")
    count = int(op.options.get("values_count", 0) or 0)
    if count != len(inputs) or count < 1:
        raise ctx.unsupported(op, f"option values_count={count} differs from the {len(inputs)} inputs")
    rank = len(out.shape)
    axis = _axis(ctx, op, int(op.options.get("axis", 0) or 0), rank)
    shape = tuple(inputs[0].shape)
    if tuple(out.shape) != shape[:axis] + (count,) + shape[axis:]:
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not {count} inputs of shape {list(shape)} "
                                  f"stacked on axis {axis}")
    for t in inputs:
        if tuple(t.shape) != shape:
            raise ctx.unsupported(op, f"input shape {list(t.shape)} differs from {list(shape)}")
    _same_quant(ctx, op, out, inputs)
    params = [
        ("outer", c_int(_product(out.shape[:axis]))),
        ("num_inputs", c_int(count)),
        ("copy_size", c_int(_product(out.shape[axis + 1:]))),
    ]
    pointers = ", ".join(ctx.ptr(t, const=True) for t in inputs)
    comment = f"PACK in {' + '.join(shape_text(t) for t in inputs)} -> out {shape_text(out)}, axis {axis}"
    return LayerCall(op.index, op.op, comment, "mcugen_pack_s8", "mcugen_pack_params_t", params,
                     [f"(const int8_t *const[]){{{pointers}}}", ctx.ptr(out)], "pack.h")


# --------------------------------------------------------------------------
# ARG_MAX
# --------------------------------------------------------------------------

@lowers("ARG_MAX")
def lower_arg_max(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = ctx.input(op, 0), ctx.output(op)
    require_dtype(ctx, op, inp, "int8")
    if out.dtype != "int32":
        raise ctx.unsupported(op, f"output type {out.dtype} is not supported; TFLM's ARG_MAX writes only int32")
    axis_t = ctx.input(op, 1)
    if axis_t is not None and axis_t.dtype != "int32":
        raise ctx.unsupported(op, f"axis type {axis_t.dtype} is not supported; TFLM's ARG_MAX reads only int32")
    rank = len(inp.shape)
    if rank == 0:
        raise ctx.unsupported(op, "input is a scalar")
    axis = _scalar_axis(ctx, op, 1, rank)
    if tuple(out.shape) != tuple(inp.shape[:axis] + inp.shape[axis + 1:]):
        raise ctx.unsupported(op, f"output shape {list(out.shape)} is not the input without axis {axis}")
    if inp.num_elements == 0:
        raise ctx.unsupported(op, "input is empty")
    params = [
        ("outer", c_int(_product(inp.shape[:axis]))),
        ("axis_size", c_int(inp.shape[axis])),
        ("inner", c_int(_product(inp.shape[axis + 1:]))),
    ]
    comment = f"ARG_MAX in {shape_text(inp)} -> out {shape_text(out)} int32, axis {axis}"
    return LayerCall(op.index, op.op, comment, "mcugen_arg_max_s8", "mcugen_arg_max_params_t", params,
                     [ctx.ptr(inp, const=True), ctx.ptr(out)], "arg_max.h")


# --------------------------------------------------------------------------
# RESIZE_BILINEAR
# --------------------------------------------------------------------------

BILINEAR_ONE = 1 << 10  # TFLM's integer resize works in 1/1024ths of a pixel


def bilinear_scale_10(in_size: int, out_size: int, align_corners: bool) -> int:
    """TFLM ResizeBilinearInteger's height_scale_10 / width_scale_10."""
    if align_corners and out_size > 1:
        return (BILINEAR_ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    return (BILINEAR_ONE * in_size + out_size // 2) // out_size


def bilinear_taps(in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> list[tuple[int, int, int]]:
    """(lower index, upper index, weight of the upper in 1/1024ths) per output
    index: TFLM's ComputeInterpolationValuesInteger, with C's division."""
    scale = bilinear_scale_10(in_size, out_size, align_corners)
    taps = []
    for i in range(out_size):
        scaled = i * scale + _c_div(scale, 2) - (1 << 9) if half_pixel else i * scale
        lo = max(_c_div(scaled, BILINEAR_ONE), 0)
        hi = min(_c_div(scaled + BILINEAR_ONE - 1, BILINEAR_ONE), in_size - 1)
        taps.append((lo, hi, scaled - BILINEAR_ONE * lo))
    return taps


def _bilinear_table(ctx: LoweringContext, op: Operator, name: str, taps: list[tuple[int, int, int]], in_size: int,
                    step: int) -> str:
    for lo, hi, frac in taps:
        # lo past the edge would be an out-of-bounds read in TFLM; the weight bound keeps int32 exact.
        if not (0 <= lo < in_size and 0 <= hi < in_size and -(1 << 9) <= frac < BILINEAR_ONE):
            raise ctx.unsupported(op, f"resize reads input index {lo}/{hi} (weight {frac}/1024) of {in_size}; "
                                      "these sizes are not supported")
    flat = np.array([(lo * step, hi * step, frac) for lo, hi, frac in taps], dtype=np.int64)
    return ctx.add_array(f"l{op.index}_{name}", "mcugen_bilinear_tap_t", flat,
                         f"{name}: lower offset, upper offset, upper weight /1024", group=3)


@lowers("RESIZE_BILINEAR")
def lower_resize_bilinear(ctx: LoweringContext, op: Operator) -> LayerCall:
    inp, out = _data_operands(ctx, op)
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ctx.unsupported(op, "input and output must be 4-D (NHWC); TFLM requires it")
    size = [int(v) for v in _const_ints(ctx, op, 1, "size")]
    batches, in_h, in_w, depth = inp.shape
    if len(size) != 2 or tuple(size) != tuple(out.shape[1:3]) or out.shape[0] != batches or out.shape[3] != depth:
        raise ctx.unsupported(op, f"size {size} does not match output shape {list(out.shape)}")
    if min(size + [in_h, in_w]) < 1:
        raise ctx.unsupported(op, f"empty image: input {list(inp.shape)}, size {size}")
    align, half = bool(op.options.get("align_corners", False)), bool(op.options.get("half_pixel_centers", False))
    if align and half:
        raise ctx.unsupported(op, "options align_corners=True with half_pixel_centers=True are not supported; "
                                  "TFLM refuses them")
    _same_quant(ctx, op, inp, [out])
    out_h, out_w = size
    for n_in, n_out in ((in_h, out_h), (in_w, out_w)):
        if n_out * bilinear_scale_10(n_in, n_out, align) >= 1 << 31:
            raise ctx.unsupported(op, f"resizing {n_in} to {n_out} overflows TFLM's int32 positions")
    rows = _bilinear_table(ctx, op, "rows", bilinear_taps(in_h, out_h, align, half), in_h, in_w * depth)
    cols = _bilinear_table(ctx, op, "cols", bilinear_taps(in_w, out_w, align, half), in_w, depth)
    params = [
        ("batches", c_int(batches)),
        ("out_height", c_int(out_h)),
        ("out_width", c_int(out_w)),
        ("depth", c_int(depth)),
        ("in_batch_stride", c_int(in_h * in_w * depth)),
        ("row", rows),
        ("col", cols),
    ]
    comment = (f"RESIZE_BILINEAR in {shape_text(inp)} -> out {shape_text(out)}, "
               f"align_corners={align}, half_pixel_centers={half}")
    return LayerCall(op.index, op.op, comment, "mcugen_resize_bilinear_s8", "mcugen_resize_bilinear_params_t",
                     params, [ctx.ptr(inp, const=True), ctx.ptr(out)], "resize_bilinear.h")
