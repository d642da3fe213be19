"""Fold operators whose result is known ahead of time into constants.

Converters leave shape arithmetic in graphs, e.g. SHAPE -> STRIDED_SLICE -> PACK
-> RESHAPE to flatten with a dynamic batch. With static shapes every step is a
constant; evaluating them here keeps them out of the firmware and the arena. Which
ops fold, and how, is part of each op's definition (mcugen/ops.py: OpSpec.fold).
"""

from __future__ import annotations

import numpy as np

from .ir import Graph, Operator
from .ops import spec_for

def fold_constants(graph: Graph) -> list[Operator]:
    """Evaluate foldable operators in place; returns the operators removed."""
    folded: list[Operator] = []
    kept: list[Operator] = []
    graph_outputs = set(graph.outputs)
    for op in graph.operators:
        spec = spec_for(op)
        evaluator = spec.fold
        ins = graph.op_inputs(op)
        outs = graph.op_outputs(op)
        foldable = (
            evaluator is not None
            and len(outs) == 1
            and not (set(op.outputs) & graph_outputs)
            and (spec.fold_needs_only_shape or all(t is None or t.is_constant for t in ins))
        )
        value = None
        if foldable:
            try:
                value = evaluator(op, ins, outs[0])  # type: ignore[misc]
            except (IndexError, ValueError, TypeError):
                value = None  # leave it to the runtime, which will report it properly
        if value is None or tuple(value.shape) != outs[0].shape and value.size != outs[0].num_elements:
            kept.append(op)
            continue
        # np.array, not ascontiguousarray: the latter turns 0-d scalars into shape (1,)
        outs[0].data = np.array(value, dtype=outs[0].dtype).reshape(outs[0].shape)
        folded.append(op)
    # op.index keeps the layer's position in the file, so messages match Netron.
    graph.operators = kept
    return folded
