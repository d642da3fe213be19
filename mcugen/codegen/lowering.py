"""Lowering: one IR operator -> one typed kernel call with its constants baked in.

Each op family has a module under ``mcugen/codegen/ops/`` that registers a
lowering function with ``@lowers("OP")``. A lowering computes every constant the
kernel needs (multipliers, shifts, offsets, ranges, shapes) in Python and
returns a LayerCall; it raises UnsupportedOpError for options it cannot honour,
before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import McugenError
from ..ir import Graph, Operator, Tensor
from ..planner import MemoryPlan

C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "float32": "float",
}


class UnsupportedOpError(McugenError):
    """An op, or an option of an op, that mcugen has no kernel for."""

    exit_code = 1

    def __init__(self, op: Operator, detail: str, hint: str | None = None):
        super().__init__(f"layer {op.index} ({op.op}): {detail}",
                         hint or "mcugen cannot compile this model; see README for the supported ops and options")
        self.op = op


@dataclass
class ConstArray:
    """A constant C array emitted once, in flash on MCUs, aligned to 16 bytes."""

    name: str
    ctype: str
    values: np.ndarray
    comment: str = ""
    group: int = 1  # >1: an array of structs, `group` integers each

    @property
    def count(self) -> int:
        return len(self.values) // self.group

    @property
    def nbytes(self) -> int:
        return int(self.values.size * (4 if self.group > 1 else self.values.dtype.itemsize))


@dataclass
class LayerCall:
    index: int
    op: str
    comment: str
    kernel: str | None = None  # None: no code runs (an aliased reshape)
    params_type: str | None = None
    params: list[tuple[str, str]] = field(default_factory=list)  # (field, C initializer)
    args: list[str] = field(default_factory=list)  # C expressions after &params
    header: str | None = None  # runtime header declaring the kernel
    macs: int = 0


Lowering = Callable[["LoweringContext", Operator], LayerCall]
LOWERINGS: dict[str, Lowering] = {}


def lowers(*ops: str) -> Callable[[Lowering], Lowering]:
    def register(fn: Lowering) -> Lowering:
        for op in ops:
            LOWERINGS[op] = fn
        return fn
    return register


def c_int(v: int) -> str:
    v = int(v)
    if v == -(1 << 31):
        return "INT32_MIN"  # the literal 2147483648 does not fit int
    return str(v)


def c_float(v: float) -> str:
    """A float literal that reads back as exactly the same float32."""
    f = np.float32(v)
    if not np.isfinite(f):
        raise ValueError(f"non-finite constant {v}")
    text = np.format_float_scientific(f, unique=True, precision=None)
    return f"{text}f"


def dims_init(shape: tuple[int, ...]) -> str:
    """NHWC mcugen_dims_t initializer; lower ranks are padded with leading 1s."""
    if len(shape) > 4:
        raise ValueError(f"rank {len(shape)}")
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    return "{.n = %d, .h = %d, .w = %d, .c = %d}" % padded


def shape_text(t: Tensor) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


class LoweringContext:
    """What a lowering may ask: tensors, their arena pointers, and const arrays."""

    def __init__(self, graph: Graph, plan: MemoryPlan, arena_symbol: str = "mcugen_arena"):
        self.graph = graph
        self.plan = plan
        self.arena_symbol = arena_symbol
        self.arrays: list[ConstArray] = []
        self._array_names: set[str] = set()
        self._tensor_arrays: dict[int, str] = {}
        self.current: Operator | None = None

    def tensor(self, index: int) -> Tensor:
        return self.graph.tensor(index)

    def input(self, op: Operator, pos: int) -> Tensor | None:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return None
        return self.graph.tensor(op.inputs[pos])

    def output(self, op: Operator, pos: int = 0) -> Tensor:
        return self.graph.tensor(op.outputs[pos])

    def ptr(self, t: Tensor, const: bool = False) -> str:
        """C expression for a tensor's data: its arena slot, or its const array."""
        ctype = C_TYPES.get(t.dtype)
        if ctype is None:
            raise UnsupportedOpError(self.current, f"tensor {t.label()} has type {t.dtype}")  # type: ignore[arg-type]
        if t.is_constant:
            return self.const_tensor(t)
        offset = self.plan.tensor_offsets[t.index]
        qual = "const " if const else ""
        return f"({qual}{ctype} *)({self.arena_symbol} + {offset})"

    def const_tensor(self, t: Tensor, name: str | None = None) -> str:
        """The const array holding a constant tensor, emitted once however often it is used."""
        if t.index in self._tensor_arrays:
            return self._tensor_arrays[t.index]
        ctype = C_TYPES[t.dtype]
        label = name or f"l{self.current.index if self.current else 0}_t{t.index}"
        array = self.add_array(label, ctype, t.data, f"{t.label()} {shape_text(t)} {t.dtype}")
        self._tensor_arrays[t.index] = array
        return array

    def add_array(self, name: str, ctype: str, values: np.ndarray | list, comment: str = "", group: int = 1) -> str:
        base = f"mcugen_{name}"
        unique = base
        n = 1
        while unique in self._array_names:
            n += 1
            unique = f"{base}_{n}"
        self._array_names.add(unique)
        self.arrays.append(ConstArray(unique, ctype, np.asarray(values).reshape(-1), comment, group))
        return unique

    def unsupported(self, op: Operator, detail: str, hint: str | None = None) -> UnsupportedOpError:
        return UnsupportedOpError(op, detail, hint)


def supported_ops() -> set[str]:
    """Ops with an int8 kernel: exactly the lowerings registered."""
    from . import ops  # noqa: F401  (registers the lowerings)

    return set(LOWERINGS)


def lower_graph(graph: Graph, plan: MemoryPlan) -> tuple[list[LayerCall], LoweringContext]:
    """Lower every layer, or raise for the first one mcugen cannot compile."""
    from . import ops  # noqa: F401  (registers the lowerings)

    ctx = LoweringContext(graph, plan)
    calls = []
    for op in graph.operators:
        ctx.current = op
        lowering = LOWERINGS.get(op.op)
        if lowering is None:
            raise UnsupportedOpError(op, f"mcugen has no int8 kernel for {op.op}")
        calls.append(lowering(ctx, op))
    ctx.current = None
    return calls, ctx
