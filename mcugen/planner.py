"""Offline memory plan: every activation tensor gets a fixed offset in one arena.

Tensors live from the op that writes them (or the start, for model inputs) to
the last op that reads them (or the end, for model outputs). Tensors that an op
only reinterprets (RESHAPE, SQUEEZE, EXPAND_DIMS) share one buffer instead of
being copied. Buffers are placed first-fit at 16-byte-aligned offsets; several
placement orders are tried and the smallest arena wins. The arena size is then
known at build time: no trial and error.

A kernel may also need scratch memory while it runs (an arm-dsp convolution's
widened input columns): the code generator says how much per layer, and the plan
places it like a tensor that lives during that one layer, so `inspect` and the
generated arena count it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Graph
from .ops import data_inputs, spec_for

ALIGNMENT = 16


def align_up(value: int, alignment: int = ALIGNMENT) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class Buffer:
    """One arena allocation, shared by a tensor and the tensors that alias it."""

    id: int
    tensors: list[int]
    size: int  # bytes actually used by the largest tensor in the group
    first: int  # first op position (execution order) that touches it
    last: int  # last op position that touches it
    offset: int = -1
    scratch_for: int | None = None  # op position whose kernel uses it as scratch (no tensor)

    @property
    def aligned_size(self) -> int:
        return align_up(self.size)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class MemoryPlan:
    buffers: list[Buffer]
    arena_bytes: int
    tensor_offsets: dict[int, int]
    live_bytes: list[int]  # per op position: bytes of buffers live while it runs
    strategy: str = ""
    alignment: int = ALIGNMENT
    tensor_buffer: dict[int, int] = field(default_factory=dict)
    scratch_offsets: dict[int, int] = field(default_factory=dict)  # op position -> arena offset
    scratch_bytes: dict[int, int] = field(default_factory=dict)  # op position -> bytes

    def check(self) -> None:
        """Assert no two buffers alive at the same time share bytes."""
        for i, a in enumerate(self.buffers):
            assert a.offset % self.alignment == 0, f"buffer {a.id} misaligned"
            assert a.offset + a.size <= self.arena_bytes, f"buffer {a.id} past the arena"
            for b in self.buffers[i + 1 :]:
                if a.overlaps_in_time(b):
                    disjoint = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
                    assert disjoint, f"buffers {a.id} and {b.id} overlap while both are live"


def _lifetimes(graph: Graph) -> list[Buffer]:
    last_pos = max(len(graph.operators) - 1, 0)
    group: dict[int, int] = {}  # tensor -> representative tensor
    members: dict[int, list[int]] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def root(t: int) -> int:
        while group[t] != t:
            t = group[t]
        return t

    def touch(t: int, pos: int) -> None:
        if t not in group:
            group[t] = t
            members[t] = [t]
            first[t] = pos
            last[t] = pos
        r = root(t)
        first[r] = min(first[r], pos)
        last[r] = max(last[r], pos)

    for t in graph.inputs:
        if not graph.tensor(t).is_constant:
            touch(t, 0)
    for pos, op in enumerate(graph.operators):
        for t in data_inputs(op):
            if not graph.tensor(t).is_constant:
                touch(t, pos)
        for t in op.outputs:
            touch(t, pos)
        src = data_inputs(op)
        if spec_for(op).aliases_input and src and not graph.tensor(src[0]).is_constant:
            a, b = root(src[0]), root(op.outputs[0])
            if a != b:
                group[b] = a
                members[a].extend(members.pop(b))
                first[a] = min(first[a], first[b])
                last[a] = max(last[a], last[b])
    for t in graph.outputs:
        if t in group:
            r = root(t)
            last[r] = max(last[r], last_pos)
    buffers = []
    for r in sorted(members):
        ts = sorted(members[r])
        size = max(graph.tensor(t).nbytes for t in ts)
        buffers.append(Buffer(len(buffers), ts, size, first[r], last[r]))
    return buffers


def _place(buffers: list[Buffer], order: list[Buffer]) -> int:
    placed: list[Buffer] = []
    for buf in order:
        busy = sorted((b for b in placed if b.overlaps_in_time(buf)), key=lambda b: b.offset)
        offset = 0
        for b in busy:
            if offset + buf.aligned_size <= b.offset:
                break
            offset = max(offset, align_up(b.offset + b.size))
        buf.offset = offset
        placed.append(buf)
    return max((align_up(b.offset + b.size) for b in buffers), default=0)


_ORDERS = {
    "size": lambda b: (-b.size, b.first, b.id),
    "size-then-lifetime": lambda b: (-b.size, -(b.last - b.first), b.id),
    "lifetime": lambda b: (-(b.last - b.first), -b.size, b.id),
    "area": lambda b: (-(b.size * (b.last - b.first + 1)), b.id),
    "first-use": lambda b: (b.first, -b.size, b.id),
}


def plan_memory(graph: Graph, scratch: dict[int, int] | None = None) -> MemoryPlan:
    """scratch: op position -> bytes its kernel needs while it runs."""
    buffers = _lifetimes(graph)
    for pos, size in sorted((scratch or {}).items()):
        if size > 0:
            buffers.append(Buffer(len(buffers), [], size, pos, pos, scratch_for=pos))
    best: tuple[int, str, dict[int, int]] | None = None
    for name, key in _ORDERS.items():
        arena = _place(buffers, sorted(buffers, key=key))
        if best is None or arena < best[0]:
            best = (arena, name, {b.id: b.offset for b in buffers})
    arena_bytes, strategy, offsets = best if best else (0, "empty", {})
    for b in buffers:
        b.offset = offsets[b.id]
    tensor_offsets = {t: b.offset for b in buffers for t in b.tensors}
    tensor_buffer = {t: b.id for b in buffers for t in b.tensors}
    scratch_offsets = {b.scratch_for: b.offset for b in buffers if b.scratch_for is not None}
    scratch_bytes = {b.scratch_for: b.size for b in buffers if b.scratch_for is not None}
    live = [
        sum(b.size for b in buffers if b.first <= pos <= b.last) for pos in range(len(graph.operators))
    ]
    plan = MemoryPlan(buffers, arena_bytes, tensor_offsets, live, strategy, ALIGNMENT, tensor_buffer,
                      scratch_offsets, scratch_bytes)
    plan.check()
    return plan
