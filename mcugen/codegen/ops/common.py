"""Helpers shared by several lowerings."""

from __future__ import annotations

from ...ir import Operator, Tensor
from ..lowering import LoweringContext, c_int
from ..quant import activation_range


def act_range(ctx: LoweringContext, op: Operator, out: Tensor) -> tuple[int, int]:
    fused = op.options.get("fused_activation_function", "NONE")
    if fused not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise ctx.unsupported(op, f"fused activation {fused} is not supported",
                              "supported fused activations: NONE, RELU, RELU6, RELU_N1_TO_1")
    return activation_range(fused, out)


def act_init(ctx: LoweringContext, op: Operator, out: Tensor) -> str:
    lo, hi = act_range(ctx, op, out)
    return "{.min = %s, .max = %s}" % (c_int(lo), c_int(hi))


def require_dtype(ctx: LoweringContext, op: Operator, t: Tensor | None, *dtypes: str, role: str = "input") -> None:
    if t is None:
        raise ctx.unsupported(op, f"missing {role}")
    if t.dtype not in dtypes:
        raise ctx.unsupported(op, f"{role} {t.label()} is {t.dtype}; mcugen supports {' or '.join(dtypes)} here")


def requant_array(ctx: LoweringContext, name: str, pairs: list[tuple[int, int]], comment: str) -> str:
    """A const mcugen_requant_t array: {multiplier, shift} per channel (or one)."""
    import numpy as np

    flat = np.array([v for pair in pairs for v in pair], dtype=np.int64)
    return ctx.add_array(name, "mcugen_requant_t", flat, comment, group=2)


def describe_quant(t: Tensor) -> str:
    if t.quant is None:
        return ""
    if t.quant.per_channel:
        return f"per-channel({len(t.quant.scale)})"
    return f"s={t.quant.scale[0]:.6g} zp={t.quant.zero_point[0]}"
