"""What mcugen knows about each TFLite operator, one definition per op: its cost
(MACs), which inputs are baked parameters, whether its output aliases its input,
how it folds when its inputs are constant, and whether it converts at a model's
edges. The code generator attaches each op's kernels (its lowering and kernel
choice, mcugen/codegen/ops/) under the same name; it refuses to register a
lowering for an op this table does not define.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import op_shapes
from .ir import Graph, Operator, Tensor
from .op_shapes import tflm_out_size


def _prod(values: tuple[int, ...] | list[int]) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def _conv_macs(graph: Graph, op: Operator) -> int:
    # filter [out_c, kh, kw, in_c_per_group]: every output element takes kh*kw*in_c MACs
    out = graph.tensor(op.outputs[0])
    filt = graph.tensor(op.inputs[1])
    return out.num_elements * _prod(filt.shape[1:])


def _depthwise_macs(graph: Graph, op: Operator) -> int:
    # filter [1, kh, kw, out_c]: one kh*kw window per output element
    out = graph.tensor(op.outputs[0])
    filt = graph.tensor(op.inputs[1])
    return out.num_elements * filt.shape[1] * filt.shape[2]


def _fully_connected_macs(graph: Graph, op: Operator) -> int:
    # weights [units, in_features]
    out = graph.tensor(op.outputs[0])
    weights = graph.tensor(op.inputs[1])
    return out.num_elements * weights.shape[-1]


def _transpose_conv_macs(graph: Graph, op: Operator) -> int:
    # every input element scatters into kh*kw*out_c outputs
    filt = graph.tensor(op.inputs[1])
    inp = graph.tensor(op.inputs[2])
    return inp.num_elements * filt.shape[0] * filt.shape[1] * filt.shape[2]


def _no_macs(graph: Graph, op: Operator) -> int:
    return 0


# The one custom op mcugen compiles: SSD detectors' box decoding and non-max suppression
# (TFLite Micro's detection_postprocess.cc), float32 in and out.
DETECTION_POSTPROCESS = "CUSTOM:TFLite_Detection_PostProcess"


# ---- Folding: an op's value when its inputs are constant (None: leave it to run) ----



def _fold_shape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    src = ins[0]
    if src is None or any(d < 0 for d in src.shape):
        return None
    return np.array(src.shape, dtype=out.dtype)


def _fold_strided_slice(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    o = op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0) or o.get("offset", False):
        return None
    data, begin, end, strides = (t.data for t in ins[:4])  # type: ignore[union-attr]
    index = []
    for axis in range(data.ndim):
        b = None if o.get("begin_mask", 0) >> axis & 1 else int(begin[axis])
        e = None if o.get("end_mask", 0) >> axis & 1 else int(end[axis])
        s = int(strides[axis])
        if o.get("shrink_axis_mask", 0) >> axis & 1:
            index.append(int(begin[axis]))
        else:
            index.append(slice(b, e, s))
    return np.asarray(data[tuple(index)])


def _fold_pack(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return np.stack([t.data for t in ins], axis=op.options.get("axis", 0))  # type: ignore[union-attr]


def _fold_concatenation(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if out.quant is not None:  # quantized concatenation rescales; not shape arithmetic
        return None
    return np.concatenate([t.data for t in ins], axis=op.options.get("axis", 0))  # type: ignore[union-attr]


def _fold_reshape_like(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return ins[0].data.reshape(out.shape)  # type: ignore[union-attr]


def _fold_cast(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return ins[0].data.astype(out.dtype)  # type: ignore[union-attr]


def _fold_gather(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return np.take(ins[0].data, ins[1].data, axis=op.options.get("axis", 0))  # type: ignore[union-attr]




# ---- Padding and row windows: which input rows an output row reads ----

def tflm_padding(padding: str, image: int, filter_size: int, stride: int, dilation: int) -> int:
    """TFLM's ComputePaddingWithOffset: the padding before the image (the odd
    extra row or column, if any, goes after it and needs no code)."""
    out = tflm_out_size(padding, image, filter_size, stride, dilation)
    if out is None:
        return 0
    effective = (filter_size - 1) * dilation + 1
    total = max(0, (out - 1) * stride + effective - image)
    return total // 2


def conv_padding(op: Operator, in_hw: tuple[int, int], filter_hw: tuple[int, int], strides: tuple[int, int],
                 dilations: tuple[int, int]) -> tuple[int, int]:
    """A convolution's padding before the image (rows, columns) as TFLM's Prepare works it
    out: both axes' output sizes first, and no padding if either fails."""
    if op.explicit_padding is not None:
        return op.explicit_padding
    padding = op.options.get("padding")
    sizes_ok = all(tflm_out_size(padding, i, f, s, d) is not None
                   for i, f, s, d in zip(in_hw, filter_hw, strides, dilations))
    if not sizes_ok:
        return 0, 0
    return (tflm_padding(padding, in_hw[0], filter_hw[0], strides[0], dilations[0]),
            tflm_padding(padding, in_hw[1], filter_hw[1], strides[1], dilations[1]))


def pool_padding(stride: int, image: int, filter_size: int, out_size: int) -> int:
    """TFLM's ComputePadding: the padding before the first element (the odd
    leftover of SAME padding goes after the last)."""
    total = max((out_size - 1) * stride + filter_size - image, 0)
    return total // 2


@dataclass(frozen=True)
class RowWindow:
    """Output row y of a layer reads input rows y * stride - pad ... + extent - 1 (those
    inside the image): what lets the planner run a layer a few rows at a time."""

    stride: int
    pad: int
    extent: int
    pad_cols: int = 0  # the padding before the first column, which every strip keeps

    def input_rows(self, start: int, stop: int, height: int) -> tuple[int, int]:
        """The input rows [lo, hi) that output rows [start, stop) read."""
        lo = min(max(0, start * self.stride - self.pad), height)
        hi = min(height, (stop - 1) * self.stride - self.pad + self.extent)
        return lo, max(lo, hi)


def _is_nhwc_single(graph: Graph, op: Operator) -> bool:
    """One image in, one out, both 4-D: rows of both are contiguous runs of bytes."""
    if not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        return False
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return len(inp.shape) == 4 and len(out.shape) == 4 and inp.shape[0] == 1 and out.shape[0] == 1


def _conv_rows(graph: Graph, op: Operator) -> RowWindow | None:
    if not _is_nhwc_single(graph, op) or len(op.inputs) < 2 or op.inputs[1] < 0:
        return None
    o = op.options
    inp, filt = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
    if len(filt.shape) != 4 or o.get("padding") not in ("SAME", "VALID"):
        return None
    strides = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    dilations = (int(o.get("dilation_hfactor", 1)), int(o.get("dilation_wfactor", 1)))
    if min(strides + dilations) < 1:
        return None
    pad_h, pad_w = conv_padding(op, (inp.shape[1], inp.shape[2]), (filt.shape[1], filt.shape[2]), strides,
                                dilations)
    return RowWindow(strides[0], pad_h, (filt.shape[1] - 1) * dilations[0] + 1, pad_w)


def _pool_rows(graph: Graph, op: Operator) -> RowWindow | None:
    if not _is_nhwc_single(graph, op):
        return None
    o = op.options
    fh, fw, sh, sw = (int(o.get(k, 0)) for k in ("filter_height", "filter_width", "stride_h", "stride_w"))
    if min(fh, fw, sh, sw) < 1:
        return None
    if op.explicit_padding is not None:
        return RowWindow(sh, op.explicit_padding[0], fh, op.explicit_padding[1])
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return RowWindow(sh, pool_padding(sh, inp.shape[1], fh, out.shape[1]), fh,
                     pool_padding(sw, inp.shape[2], fw, out.shape[2]))


def _elementwise_rows(graph: Graph, op: Operator) -> RowWindow | None:
    """Same-shape inputs and output: row y reads row y of each input."""
    if len(op.outputs) != 1:
        return None
    out = graph.tensor(op.outputs[0])
    ins = [graph.tensor(t) for t in data_inputs(op)]
    if len(out.shape) != 4 or out.shape[0] != 1 or not ins or any(t.shape != out.shape for t in ins):
        return None
    return RowWindow(1, 0, 1)


@dataclass(frozen=True)
class OpSpec:
    name: str
    macs: Callable[[Graph, Operator], int] = _no_macs
    # Input positions that are parameters baked into the generated code (shapes,
    # paddings, axes), not data: they take neither flash as weights nor arena.
    param_inputs: tuple[int, ...] = ()
    # The output is the input reinterpreted: the planner gives both one buffer.
    aliases_input: bool = False
    # Its value ahead of time, when every input is constant (mcugen/fold.py).
    fold: Callable[[Operator, list[Tensor | None], Tensor], np.ndarray | None] | None = None
    fold_needs_only_shape: bool = False  # SHAPE: a static shape is enough
    # Converts between int8 and float/uint8: allowed at a model's edges (mcugen/model_check.py).
    edge: bool = False
    # Which input rows each output row reads (None: the layer runs whole, never in strips).
    rows: Callable[[Graph, Operator], RowWindow | None] | None = None
    # Element i of the output depends on element i of each input only, and every kernel
    # reads it before writing it: the output may take the buffer of a same-sized input
    # that dies here (in place).
    elementwise: bool = False
    # The option table the schema gives this op (None: it has none). A model that
    # carries another table is refused; one that carries none reads the defaults.
    options: str | None = None
    # The shape its output must have (mcugen/op_shapes.py); None where no rule is known.
    output_shape: Callable[[Graph, Operator], tuple[int, ...] | None] | None = None
    # For reshapes, which keep the elements but not the shape: how many there must be.
    output_elements: Callable[[Graph, Operator], int | None] | None = None
    # How many inputs (the first `low` may not be omitted) and outputs it takes; None: no upper bound.
    inputs: tuple[int, int | None] = (0, None)
    outputs: tuple[int, int | None] = (1, 1)


_SPECS = [
    OpSpec("CONV_2D", _conv_macs, rows=_conv_rows, options="Conv2DOptions", output_shape=op_shapes.conv_2d,
           inputs=(2, 3)),
    OpSpec("DEPTHWISE_CONV_2D", _depthwise_macs, rows=_conv_rows, options="DepthwiseConv2DOptions",
           output_shape=op_shapes.depthwise_conv_2d, inputs=(2, 3)),
    OpSpec("FULLY_CONNECTED", _fully_connected_macs, options="FullyConnectedOptions",
           output_shape=op_shapes.fully_connected, inputs=(2, 3)),
    OpSpec("ADD", rows=_elementwise_rows, elementwise=True, options="AddOptions", output_shape=op_shapes.broadcast,
           inputs=(2, 2)),
    OpSpec("MUL", rows=_elementwise_rows, elementwise=True, options="MulOptions", output_shape=op_shapes.broadcast,
           inputs=(2, 2)),
    OpSpec("PAD", param_inputs=(1,), options="PadOptions", output_shape=op_shapes.pad, inputs=(2, 2)),
    OpSpec("PADV2", param_inputs=(1,), options="PadV2Options", output_shape=op_shapes.pad, inputs=(2, 3)),
    OpSpec("RESHAPE", param_inputs=(1,), aliases_input=True, fold=_fold_reshape_like, options="ReshapeOptions",
           output_elements=op_shapes.same_elements, inputs=(1, 2)),
    OpSpec("SQUEEZE", aliases_input=True, fold=_fold_reshape_like, options="SqueezeOptions",
           output_elements=op_shapes.same_elements, inputs=(1, 1)),
    OpSpec("EXPAND_DIMS", param_inputs=(1,), aliases_input=True, fold=_fold_reshape_like,
           options="ExpandDimsOptions", output_elements=op_shapes.same_elements, inputs=(2, 2)),
    OpSpec("SOFTMAX", options="SoftmaxOptions", output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("AVERAGE_POOL_2D", rows=_pool_rows, options="Pool2DOptions", output_shape=op_shapes.pool_2d,
           inputs=(1, 1)),
    OpSpec("MAX_POOL_2D", rows=_pool_rows, options="Pool2DOptions", output_shape=op_shapes.pool_2d, inputs=(1, 1)),
    OpSpec("MEAN", param_inputs=(1,), options="ReducerOptions", inputs=(2, 2)),
    OpSpec("QUANTIZE", edge=True, rows=_elementwise_rows, elementwise=True, options="QuantizeOptions",
           output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("DEQUANTIZE", edge=True, options="DequantizeOptions", output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("LOGISTIC", rows=_elementwise_rows, elementwise=True, output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("CONCATENATION", fold=_fold_concatenation, options="ConcatenationOptions",
           output_shape=op_shapes.concatenation, inputs=(1, None)),
    OpSpec("STRIDED_SLICE", param_inputs=(1, 2, 3), fold=_fold_strided_slice, options="StridedSliceOptions",
           inputs=(4, 4)),
    OpSpec("TRANSPOSE", param_inputs=(1,), options="TransposeOptions", inputs=(2, 2)),
    OpSpec("RESIZE_NEAREST_NEIGHBOR", param_inputs=(1,), options="ResizeNearestNeighborOptions", inputs=(2, 2)),
    OpSpec("HARD_SWISH", rows=_elementwise_rows, elementwise=True, options="HardSwishOptions",
           output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    # Costed and planned; whether mcugen has a kernel is the code generator's
    # registry (mcugen.codegen.lowering.LOWERINGS), not this table.
    OpSpec("TRANSPOSE_CONV", _transpose_conv_macs, param_inputs=(0,), options="TransposeConvOptions", inputs=(3, 4)),
    OpSpec("BATCH_MATMUL", options="BatchMatMulOptions", inputs=(2, 2)),
    OpSpec("RELU", rows=_elementwise_rows, elementwise=True, output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("RELU6", rows=_elementwise_rows, elementwise=True, output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("TANH", rows=_elementwise_rows, elementwise=True, output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("SUB", rows=_elementwise_rows, elementwise=True, options="SubOptions", output_shape=op_shapes.broadcast,
           inputs=(2, 2)),
    OpSpec("RESIZE_BILINEAR", param_inputs=(1,), options="ResizeBilinearOptions", inputs=(2, 2)),
    OpSpec("PACK", fold=_fold_pack, options="PackOptions", inputs=(1, None)),
    OpSpec("UNPACK", options="UnpackOptions", inputs=(1, 1), outputs=(1, None)),
    OpSpec("SPLIT", param_inputs=(0,), options="SplitOptions", inputs=(2, 2), outputs=(1, None)),
    OpSpec("SPLIT_V", param_inputs=(1, 2), options="SplitVOptions", inputs=(3, 3), outputs=(1, None)),
    OpSpec("SLICE", param_inputs=(1, 2), options="SliceOptions", inputs=(3, 3)),
    OpSpec("LEAKY_RELU", rows=_elementwise_rows, elementwise=True, options="LeakyReluOptions",
           output_shape=op_shapes.same_as_input, inputs=(1, 1)),
    OpSpec("PRELU", inputs=(2, 2)),
    OpSpec("MAXIMUM", options="MaximumMinimumOptions", output_shape=op_shapes.broadcast, inputs=(2, 2)),
    OpSpec("MINIMUM", options="MaximumMinimumOptions", output_shape=op_shapes.broadcast, inputs=(2, 2)),
    OpSpec("SQUARED_DIFFERENCE", options="SquaredDifferenceOptions", output_shape=op_shapes.broadcast, inputs=(2, 2)),
    OpSpec("ARG_MAX", param_inputs=(1,), options="ArgMaxOptions", inputs=(2, 2)),
    # Inputs: box encodings, class scores, anchors (a float32 constant, counted as its
    # weights); outputs: boxes, classes, scores, number of detections. Options come
    # from its flexbuffer (mcugen/tflite_reader.py).
    OpSpec(DETECTION_POSTPROCESS, inputs=(3, 3), outputs=(4, 4)),
    # Shape arithmetic mcugen only ever folds (no kernel).
    OpSpec("SHAPE", fold=_fold_shape, fold_needs_only_shape=True, options="ShapeOptions", inputs=(1, 1)),
    OpSpec("CAST", fold=_fold_cast, options="CastOptions", inputs=(1, 1)),
    OpSpec("GATHER", fold=_fold_gather, options="GatherOptions", inputs=(2, 2)),
]
OP_SPECS: dict[str, OpSpec] = {s.name: s for s in _SPECS}


def spec_for(op: Operator) -> OpSpec:
    """The op's row, or a no-cost placeholder for ops this table does not list."""
    return OP_SPECS.get(op.op) or OpSpec(op.op)


def op_macs(graph: Graph, op: Operator) -> int:
    return spec_for(op).macs(graph, op)


def data_inputs(op: Operator) -> list[int]:
    """Input tensor indices that carry data (not baked parameters), omitted ones dropped."""
    params = spec_for(op).param_inputs
    return [t for pos, t in enumerate(op.inputs) if t >= 0 and pos not in params]


def row_window(graph: Graph, op: Operator) -> RowWindow | None:
    """How the op's output rows read its input rows, if it can run a few rows at a time."""
    rows = spec_for(op).rows
    return rows(graph, op) if rows is not None else None
