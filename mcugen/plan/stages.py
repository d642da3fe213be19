"""Patch-based execution of a model's first, high-resolution layers.

Those layers hold the largest tensors, but each output row needs only a few rows of
its input. Run them together, a band of the stage's last output rows at a time
(a patch: the full width, a few rows tall), and no tensor inside the stage ever
exists whole: each keeps, in a line buffer, only the rows the next layers still
need. The rows that neighbouring patches share (the halo of a 3x3 window, say) are
kept from one patch to the next, moved to the front of their line buffer, instead
of computed twice: patches cost no extra MACs, only the moves and more kernel calls.

The schedule, for stage output rows [0, hi(O, s)) done after patch s: every tensor T
inside the stage must have its rows [0, hi(T, s)) computed, the most any reader in
the stage needs for what it has made by then; at patch s its line buffer holds rows
[base(T, s), hi(T, s)), from the lowest row a reader still needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from ..ops import data_inputs, row_window, spec_for
from .program import row_count


@dataclass(frozen=True)
class Stage:
    positions: tuple[int, ...]  # consecutive layers, in execution order
    rows_per_patch: int  # rows of the stage's output per patch

    @property
    def last(self) -> int:
        return self.positions[-1]


@dataclass
class Schedule:
    """hi[t][s]: rows of tensor t done after patch s; base[t][s]: its line buffer's first row at patch s."""

    stage: Stage
    patches: int
    hi: dict[int, list[int]]
    base: dict[int, list[int]]
    internal: list[int]  # tensors that live only inside the stage (line buffers)
    output: int  # the stage's output tensor, written whole

    def capacity(self, t: int) -> int:
        return max((h - b for h, b in zip(self.hi[t], self.base[t])), default=0)


def stage_eligible(graph: Graph, positions: list[int]) -> bool:
    """Layers that can run patch by patch together: each windowed over rows, one output,
    and every tensor made inside the stage read only inside it (except the last)."""
    inside = set(positions)
    made = {}
    for pos in positions:
        op = graph.operators[pos]
        if len(op.outputs) != 1 or spec_for(op).aliases_input or row_window(graph, op) is None:
            return False
        made[op.outputs[0]] = pos
    last_out = graph.operators[positions[-1]].outputs[0]
    outputs = set(graph.outputs)
    for t, pos in made.items():
        if t == last_out:
            continue
        if t in outputs:
            return False
        for q, op in enumerate(graph.operators):
            if t in data_inputs(op) and q not in inside:
                return False
    return True


def schedule(graph: Graph, stage: Stage) -> Schedule:
    ops = [graph.operators[p] for p in stage.positions]
    out_t = ops[-1].outputs[0]
    height = row_count(graph.tensor(out_t))
    patches = -(-height // stage.rows_per_patch)
    made = [op.outputs[0] for op in ops]
    readers: dict[int, list[int]] = {}  # tensor -> indices (in ops) of stage layers reading it
    for k, op in enumerate(ops):
        for t in data_inputs(op):
            if t in made[:k]:
                readers.setdefault(t, []).append(k)
    hi: dict[int, list[int]] = {out_t: [min(height, (s + 1) * stage.rows_per_patch) for s in range(patches)]}
    windows = [row_window(graph, op) for op in ops]
    for k in range(len(ops) - 2, -1, -1):
        t = made[k]
        h = row_count(graph.tensor(t))
        need = [0] * patches
        for r in readers.get(t, []):
            done = hi[made[r]]
            for s in range(patches):
                if done[s] > 0:
                    need[s] = max(need[s], windows[r].input_rows(0, done[s], h)[1])
        for s in range(1, patches):
            need[s] = max(need[s], need[s - 1])
        hi[t] = need
    base: dict[int, list[int]] = {}
    for k in range(len(ops) - 1):
        t = made[k]
        h = row_count(graph.tensor(t))
        rows = []
        for s in range(patches):
            low = hi[t][s]
            for r in readers.get(t, []):
                before = hi[made[r]][s - 1] if s else 0
                if hi[made[r]][s] > before:
                    low = min(low, windows[r].input_rows(before, hi[made[r]][s], h)[0])
            prev = hi[t][s - 1] if s else 0
            rows.append(min(low, prev))
        for s in range(1, patches):
            rows[s] = max(rows[s], rows[s - 1])  # a line buffer never goes back
        base[t] = rows
    return Schedule(stage, patches, hi, base, made[:-1], out_t)
