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

from .ir import Graph, Operator, Tensor


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


_SPECS = [
    OpSpec("CONV_2D", _conv_macs),
    OpSpec("DEPTHWISE_CONV_2D", _depthwise_macs),
    OpSpec("FULLY_CONNECTED", _fully_connected_macs),
    OpSpec("ADD"),
    OpSpec("MUL"),
    OpSpec("PAD", param_inputs=(1,)),
    OpSpec("PADV2", param_inputs=(1,)),
    OpSpec("RESHAPE", param_inputs=(1,), aliases_input=True, fold=_fold_reshape_like),
    OpSpec("SQUEEZE", aliases_input=True, fold=_fold_reshape_like),
    OpSpec("EXPAND_DIMS", param_inputs=(1,), aliases_input=True, fold=_fold_reshape_like),
    OpSpec("SOFTMAX"),
    OpSpec("AVERAGE_POOL_2D"),
    OpSpec("MAX_POOL_2D"),
    OpSpec("MEAN", param_inputs=(1,)),
    OpSpec("QUANTIZE", edge=True),
    OpSpec("DEQUANTIZE", edge=True),
    OpSpec("LOGISTIC"),
    OpSpec("CONCATENATION", fold=_fold_concatenation),
    OpSpec("STRIDED_SLICE", param_inputs=(1, 2, 3), fold=_fold_strided_slice),
    OpSpec("TRANSPOSE", param_inputs=(1,)),
    OpSpec("RESIZE_NEAREST_NEIGHBOR", param_inputs=(1,)),
    OpSpec("HARD_SWISH"),
    # Costed and planned; whether mcugen has a kernel is the code generator's
    # registry (mcugen.codegen.lowering.LOWERINGS), not this table.
    OpSpec("TRANSPOSE_CONV", _transpose_conv_macs, param_inputs=(0,)),
    OpSpec("BATCH_MATMUL"),
    OpSpec("RELU"),
    OpSpec("RELU6"),
    OpSpec("TANH"),
    OpSpec("SUB"),
    OpSpec("RESIZE_BILINEAR", param_inputs=(1,)),
    OpSpec("PACK", fold=_fold_pack),
    OpSpec("UNPACK"),
    OpSpec("SPLIT", param_inputs=(0,)),
    OpSpec("SPLIT_V", param_inputs=(1, 2)),
    OpSpec("SLICE", param_inputs=(1, 2)),
    OpSpec("LEAKY_RELU"),
    OpSpec("PRELU"),
    OpSpec("MAXIMUM"),
    OpSpec("MINIMUM"),
    OpSpec("SQUARED_DIFFERENCE"),
    OpSpec("ARG_MAX", param_inputs=(1,)),
    # Shape arithmetic mcugen only ever folds (no kernel).
    OpSpec("SHAPE", fold=_fold_shape, fold_needs_only_shape=True),
    OpSpec("CAST", fold=_fold_cast),
    OpSpec("GATHER", fold=_fold_gather),
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
