"""RESHAPE, SQUEEZE, EXPAND_DIMS: no code. The planner gave output and input one buffer."""

from __future__ import annotations

from ...ir import Operator
from ..lowering import LayerCall, LoweringContext, lowers, shape_text


@lowers("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def lower_reshape(ctx: LoweringContext, op: Operator) -> LayerCall:
    src, dst = ctx.input(op, 0), ctx.output(op)
    if src is None or src.nbytes != dst.nbytes:
        raise ctx.unsupported(op, "input and output sizes differ")
    if not src.is_constant and ctx.plan.tensor_offsets.get(src.index) != ctx.plan.tensor_offsets.get(dst.index):
        raise ctx.unsupported(op, "input and output were not given one buffer")  # a planner bug, never input
    return LayerCall(op.index, op.op, f"{op.op} {shape_text(src)} -> {shape_text(dst)} (aliased, no copy)")
