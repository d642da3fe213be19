"""What mcugen knows about each TFLite operator: its cost and how it is planned.

One table, one row per op. Kernels are attached by the code generator's lowering
registry under the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .ir import Graph, Operator


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


@dataclass(frozen=True)
class OpSpec:
    name: str
    macs: Callable[[Graph, Operator], int] = _no_macs
    # Input positions that are parameters baked into the generated code (shapes,
    # paddings, axes), not data: they take neither flash as weights nor arena.
    param_inputs: tuple[int, ...] = ()
    # The output is the input reinterpreted: the planner gives both one buffer.
    aliases_input: bool = False


_SPECS = [
    OpSpec("CONV_2D", _conv_macs),
    OpSpec("DEPTHWISE_CONV_2D", _depthwise_macs),
    OpSpec("FULLY_CONNECTED", _fully_connected_macs),
    OpSpec("ADD"),
    OpSpec("MUL"),
    OpSpec("PAD", param_inputs=(1,)),
    OpSpec("PADV2", param_inputs=(1,)),
    OpSpec("RESHAPE", param_inputs=(1,), aliases_input=True),
    OpSpec("SQUEEZE", aliases_input=True),
    OpSpec("EXPAND_DIMS", param_inputs=(1,), aliases_input=True),
    OpSpec("SOFTMAX"),
    OpSpec("AVERAGE_POOL_2D"),
    OpSpec("MAX_POOL_2D"),
    OpSpec("MEAN", param_inputs=(1,)),
    OpSpec("QUANTIZE"),
    OpSpec("DEQUANTIZE"),
    OpSpec("LOGISTIC"),
    OpSpec("CONCATENATION"),
    OpSpec("STRIDED_SLICE", param_inputs=(1, 2, 3)),
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
    OpSpec("PACK"),
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
