"""Placement: every buffer of a program gets one offset in the arena.

A buffer's bytes are not all live all the time. Replaying the program gives, for
every row of data, the call that writes it and the last call that reads it from
where it is (a model input is written before the first call, a model output is read
after the last). At each call a buffer's live bytes are the span of the rows live
then. Two buffers may share addresses as long as their live spans never meet: a
layer run a few rows at a time can write its output over the rows of its input it
no longer needs, which is what running in place means here, without the kernel
knowing.

Buffers are placed one by one at 16-byte-aligned offsets: each where its bytes meet
no placed buffer's live ones and the arena so far grows least (at 0, just above a
placed buffer's span, or just below it: an output may start below its input); several
placement orders are tried and the smallest arena wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .program import Call, Program, Rows

ALIGNMENT = 16


def align_up(value: int, alignment: int = ALIGNMENT) -> int:
    return (value + alignment - 1) // alignment * alignment


def _align_down(value: int, alignment: int = ALIGNMENT) -> int:
    return value // alignment * alignment


@dataclass(frozen=True)
class Life:
    """Bytes [lo, hi) of a buffer hold needed data from entry `first` to entry `last`
    (entry -1: before the first call; len(entries): after the last)."""

    buffer: int
    first: int
    last: int
    lo: int
    hi: int


def lives(program: Program) -> list[Life]:
    """Replay the program: where each row of data is, from its write to its last read there."""
    graph = program.graph
    end = len(program.entries)
    where: dict[tuple[int, int], list[int]] = {}  # (tensor, row) -> [buffer, lo, hi, first, last]
    done: list[list[int]] = []

    def put(rows: Rows, t: int) -> None:
        pitch, extent = program.row_pitch(rows.tensor), program.row_extent(rows.tensor)
        for k in range(rows.count):
            key = (rows.tensor, rows.start + k)
            if key in where:
                done.append(where[key])
            lo = rows.at + k * pitch
            where[key] = [rows.buffer, lo, lo + extent, t, t]

    def get(rows: Rows, t: int) -> None:
        for k in range(rows.count):
            rec = where.get((rows.tensor, rows.start + k))
            if rec is not None:
                rec[4] = max(rec[4], t)

    for tensor in graph.inputs:
        if tensor in program.tensor_buffer:
            put(program.whole_rows(tensor), -1)
    for t, entry in enumerate(program.entries):
        if isinstance(entry, Call):
            for rows in entry.reads:
                get(rows, t)
            for rows in entry.writes:
                put(rows, t)
        else:
            get(entry.source, t)
            put(entry.target, t)
    outputs = set(graph.outputs)
    for (tensor, _), rec in where.items():
        if tensor in outputs:
            rec[4] = end
    found = [Life(b, first, last, lo, hi) for b, lo, hi, first, last in done + list(where.values()) if hi > lo]
    for t, entry in enumerate(program.entries):
        if isinstance(entry, Call) and entry.scratch_buffer is not None and entry.scratch_bytes > 0:
            found.append(Life(entry.scratch_buffer, t, t, 0, entry.scratch_bytes))
    return found


@dataclass
class Profile:
    """One buffer's live span at every time: lo[i], hi[i] at time first + i (lo >= hi: nothing live)."""

    first: int
    lo: np.ndarray
    hi: np.ndarray

    @property
    def last(self) -> int:
        return self.first + len(self.lo) - 1

    @property
    def peak(self) -> int:
        return int(np.max(np.maximum(self.hi - self.lo, 0))) if len(self.lo) else 0


def profiles(program: Program, found: list[Life]) -> dict[int, Profile]:
    by_buffer: dict[int, list[Life]] = {}
    for life in found:
        by_buffer.setdefault(life.buffer, []).append(life)
    result = {}
    big = np.iinfo(np.int64).max // 4
    for buffer, group in by_buffer.items():
        first = min(x.first for x in group)
        last = max(x.last for x in group)
        lo = np.full(last - first + 1, big, np.int64)
        hi = np.full(last - first + 1, -big, np.int64)
        for x in group:
            s = slice(x.first - first, x.last - first + 1)
            lo[s] = np.minimum(lo[s], x.lo)
            hi[s] = np.maximum(hi[s], x.hi)
        result[buffer] = Profile(first, lo, hi)
    return result


def forbidden(p: Profile, q: Profile) -> tuple[int, int] | None:
    """With P at offset 0, the offsets of Q strictly inside (a, b) would put live bytes of
    both in one place at one time; None if they are never live together."""
    first, last = max(p.first, q.first), min(p.last, q.last)
    if first > last:
        return None
    ps, qs = slice(first - p.first, last - p.first + 1), slice(first - q.first, last - q.first + 1)
    plo, phi, qlo, qhi = p.lo[ps], p.hi[ps], q.lo[qs], q.hi[qs]
    both = (phi > plo) & (qhi > qlo)
    if not both.any():
        return None
    # The union over time of the forbidden intervals, as one span: never less safe.
    return int(np.min(plo[both] - qhi[both])), int(np.max(phi[both] - qlo[both]))


@dataclass
class Placement:
    offsets: dict[int, int]
    arena_bytes: int
    order: str


_ORDERS = {
    "size": lambda b, p: (-p.peak, p.first, b),
    "size-then-lifetime": lambda b, p: (-p.peak, -(p.last - p.first), b),
    "lifetime": lambda b, p: (-(p.last - p.first), -p.peak, b),
    "area": lambda b, p: (-(p.peak * (p.last - p.first + 1)), b),
    "first-use": lambda b, p: (p.first, -p.peak, b),
}


def place(program: Program) -> tuple[Placement, dict[int, Profile]]:
    profs = profiles(program, lives(program))
    ids = sorted(profs)
    pair: dict[tuple[int, int], tuple[int, int]] = {}
    by_first = sorted(ids, key=lambda b: profs[b].first)
    lasts = {b: profs[b].last for b in ids}
    for i, a in enumerate(by_first):  # a sweep: only buffers alive at the same time can clash
        for b in by_first[i + 1 :]:
            if profs[b].first > lasts[a]:
                break
            f = forbidden(profs[a], profs[b])
            if f is not None:
                pair[(a, b)] = f
                pair[(b, a)] = (-f[1], -f[0])
    neighbours: dict[int, list[int]] = {b: [] for b in ids}
    for a, b in pair:
        neighbours[a].append(b)
    best: Placement | None = None
    for name, key in _ORDERS.items():
        offsets: dict[int, int] = {}
        bottom, top = 0, 0  # the span in use so far (offsets may go below 0 until the end)
        for b in sorted(ids, key=lambda x: key(x, profs[x])):
            # B at q is forbidden where q - offset(A) lies strictly inside forbidden(A, B).
            spans = [(offsets[a] + pair[(a, b)][0], offsets[a] + pair[(a, b)][1])
                     for a in neighbours[b] if a in offsets]
            low, high = int(np.min(profs[b].lo)), int(np.max(profs[b].hi))
            # Where B can rest: at 0, just above a span, or just below one (an output
            # that may start below its input, the input rows it overwrites used up).
            candidates = {0} | {align_up(hi) for _, hi in spans} | {_align_down(lo) for lo, _ in spans}
            fits = [q for q in candidates if not any(lo < q < hi for lo, hi in spans)]
            q = min(fits, key=lambda q: (max(top, q + high) - min(bottom, q + low), abs(q), q))
            offsets[b] = q
            bottom, top = min(bottom, q + low), max(top, q + high)
        shift = -min(offsets.values(), default=0)
        offsets = {b: q + shift for b, q in offsets.items()}
        arena = max((offsets[b] + int(np.max(profs[b].hi)) for b in ids), default=0)
        arena = align_up(arena) if arena else 0
        if best is None or arena < best.arena_bytes:
            best = Placement(offsets, arena, name)
    return best or Placement({}, 0, "empty"), profs
