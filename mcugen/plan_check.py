"""An independent check of a memory plan: replay the graph and look for live data
that two buffers share.

It does not trust the planner's own bookkeeping (its Buffer lifetimes). From the
graph alone it works out when each tensor's bytes hold data someone still needs:
from the layer that writes it (a model input: from before the first layer) to the
last layer that reads it, and a model output to the very end, even when a layer
writes it early. A kernel's scratch is live during its own layer only. Two of these
may share bytes only if one is the other reinterpreted (an aliasing op's input and
output, which the planner gives one buffer on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph
from .ops import data_inputs, spec_for
from .planner import MemoryPlan


@dataclass(frozen=True)
class Live:
    """Bytes [offset, offset + size) hold needed data from layer `first` to `last`."""

    what: str
    offset: int
    size: int
    first: int
    last: int
    alias_group: int  # tensors reinterpreting one another share a group; scratch has its own


def live_ranges(graph: Graph, plan: MemoryPlan) -> list[Live]:
    end = len(graph.operators)  # "after the last layer": model outputs stay live until read by the host
    written: dict[int, int] = {t: -1 for t in graph.inputs}
    read: dict[int, int] = {}
    group = {t: t for t in plan.tensor_offsets}

    def root(t: int) -> int:
        while group[t] != t:
            t = group[t]
        return t

    for pos, op in enumerate(graph.operators):
        ins = [t for t in data_inputs(op) if t in plan.tensor_offsets]
        for t in ins:
            read[t] = pos
        for t in op.outputs:
            written.setdefault(t, pos)
        if spec_for(op).aliases_input and ins and op.outputs and op.outputs[0] in plan.tensor_offsets:
            group[root(op.outputs[0])] = root(ins[0])
    for t in graph.outputs:
        read[t] = end
    ranges = []
    for t, offset in plan.tensor_offsets.items():
        if t not in written:
            continue  # never written and not an input: nothing to keep
        first = written[t]
        last = read.get(t, first)  # written and never read: live while its writer runs
        ranges.append(Live(f"tensor {t} ({graph.tensor(t).label()})", offset, graph.tensor(t).nbytes, first, last,
                           root(t)))
    for pos, offset in plan.scratch_offsets.items():
        ranges.append(Live(f"layer {graph.operators[pos].index}'s scratch", offset, plan.scratch_bytes[pos], pos,
                           pos, -1 - pos))
    return ranges


def plan_problems(graph: Graph, plan: MemoryPlan) -> list[str]:
    """Every pair of live data sharing bytes, every range outside the arena; [] for a sound plan."""
    problems = []
    ranges = live_ranges(graph, plan)
    for r in ranges:
        if r.offset < 0 or r.offset + r.size > plan.arena_bytes:
            problems.append(f"{r.what} at {r.offset}+{r.size} is outside the {plan.arena_bytes}-byte arena")
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            if a.alias_group == b.alias_group or a.size == 0 or b.size == 0:
                continue
            if a.first <= b.last and b.first <= a.last and a.offset < b.offset + b.size and \
                    b.offset < a.offset + a.size:
                problems.append(f"{a.what} (layers {a.first}..{a.last}, bytes {a.offset}+{a.size}) overlaps "
                                f"{b.what} (layers {b.first}..{b.last}, bytes {b.offset}+{b.size})")
    return problems
