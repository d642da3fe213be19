"""Fold operators whose result is known ahead of time into constants.

Converters leave shape arithmetic in graphs, e.g. SHAPE -> STRIDED_SLICE -> PACK
-> RESHAPE to flatten with a dynamic batch. With static shapes every step is a
constant; evaluating them here keeps them out of the firmware and the arena.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .ir import Graph, Operator, Tensor

_Evaluator = Callable[[Operator, list[Tensor | None], Tensor], np.ndarray | None]


def _shape(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    src = ins[0]
    if src is None or any(d < 0 for d in src.shape):
        return None
    return np.array(src.shape, dtype=out.dtype)


def _strided_slice(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
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


def _pack(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return np.stack([t.data for t in ins], axis=op.options.get("axis", 0))  # type: ignore[union-attr]


def _concatenation(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    if out.quant is not None:  # quantized concatenation rescales; not shape arithmetic
        return None
    return np.concatenate([t.data for t in ins], axis=op.options.get("axis", 0))  # type: ignore[union-attr]


def _reshape_like(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return ins[0].data.reshape(out.shape)  # type: ignore[union-attr]


def _cast(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return ins[0].data.astype(out.dtype)  # type: ignore[union-attr]


def _gather(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    return np.take(ins[0].data, ins[1].data, axis=op.options.get("axis", 0))  # type: ignore[union-attr]


# Ops evaluated here when every input is constant (SHAPE only needs a static shape).
_EVALUATORS: dict[str, _Evaluator] = {
    "SHAPE": _shape,
    "STRIDED_SLICE": _strided_slice,
    "PACK": _pack,
    "CONCATENATION": _concatenation,
    "RESHAPE": _reshape_like,
    "SQUEEZE": _reshape_like,
    "EXPAND_DIMS": _reshape_like,
    "CAST": _cast,
    "GATHER": _gather,
}
_NEEDS_ONLY_SHAPE = {"SHAPE"}


def fold_constants(graph: Graph) -> list[Operator]:
    """Evaluate foldable operators in place; returns the operators removed."""
    folded: list[Operator] = []
    kept: list[Operator] = []
    graph_outputs = set(graph.outputs)
    for op in graph.operators:
        evaluator = _EVALUATORS.get(op.op)
        ins = graph.op_inputs(op)
        outs = graph.op_outputs(op)
        foldable = (
            evaluator is not None
            and len(outs) == 1
            and not (set(op.outputs) & graph_outputs)
            and (op.op in _NEEDS_ONLY_SHAPE or all(t is None or t.is_constant for t in ins))
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
