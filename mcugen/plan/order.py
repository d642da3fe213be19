"""Execution order chosen for memory: in a graph with branches (residual blocks,
several heads) the order the layers run in decides which tensors are alive together.

The cost of an order is its peak of live bytes, layer by layer: the tensors written
and still to be read, plus what the running layer writes (nothing extra for an
elementwise layer that writes over an input dying there). Small graphs get an exact
search over every order (dynamic programming over the sets of layers already run);
above a bound, a beam search keeps the best few partial orders at each depth. The
model's own order is kept unless the search finds a strictly better one, so the
result is never worse.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import DTYPE_BYTES, Graph
from ..ops import data_inputs, spec_for

EXACT_STATES = 20000  # sets of run layers the exact search may visit before it gives way
BEAM_WIDTH = 64


@dataclass(frozen=True)
class Ordered:
    graph: Graph
    peak: int  # the chosen order's peak live bytes
    model_peak: int  # the model's own order's
    exact: bool  # the search covered every order


class _Costs:
    def __init__(self, graph: Graph):
        self.graph = graph
        ops = graph.operators
        self.n = len(ops)
        producer: dict[int, int] = {}
        for i, op in enumerate(ops):
            for t in op.outputs:
                producer[t] = i
        self.ins = [sorted({t for t in data_inputs(op) if not graph.tensor(t).is_constant}) for op in ops]
        self.outs = [list(op.outputs) for op in ops]
        self.preds = [0] * self.n
        for i in range(self.n):
            for t in self.ins[i]:
                if t in producer:
                    self.preds[i] |= 1 << producer[t]
        self.readers: dict[int, int] = {}
        for i in range(self.n):
            for t in self.ins[i]:
                self.readers[t] = self.readers.get(t, 0) | (1 << i)
        self.outputs = set(graph.outputs)
        self.size = {t: graph.tensor(t).nbytes for i in range(self.n) for t in self.ins[i] + self.outs[i]}
        for t in graph.inputs:
            self.size[t] = graph.tensor(t).nbytes
        # An op that only reinterprets its input (RESHAPE) costs nothing and keeps it alive.
        self.alias = [spec_for(op).aliases_input for op in ops]
        self.elementwise = [spec_for(op).elementwise for op in ops]
        self.inputs = [t for t in graph.inputs if t in self.size]

    def live(self, done: int) -> int:
        """Bytes alive once the layers in `done` have run."""
        total = 0
        alive = set(self.inputs)
        for i in range(self.n):
            if done >> i & 1:
                alive.update(self.outs[i])
        for t in alive:
            if t in self.outputs or (self.readers.get(t, 0) & ~done):
                total += self.size.get(t, 0)
        return total

    def after(self, done: int, i: int, live_before: int) -> int:
        """Bytes alive once layer i has run after `done` (live_before: alive after `done`)."""
        new = done | 1 << i
        live = live_before
        for t in self.ins[i]:
            if t not in self.outputs and not (self.readers.get(t, 0) & ~new):
                live -= self.size.get(t, 0)
        for t in self.outs[i]:
            if t in self.outputs or self.readers.get(t, 0) & ~new:
                live += self.size.get(t, 0)
        return live

    def step(self, done: int, i: int, live_before: int) -> int:
        """Bytes alive while layer i runs after `done`."""
        if self.alias[i]:
            return live_before
        extra = sum(self.size.get(t, 0) for t in self.outs[i])
        if self.elementwise[i] and len(self.outs[i]) == 1:
            out = self.outs[i][0]
            for t in self.ins[i]:
                dies = not (self.readers.get(t, 0) & ~(done | 1 << i)) and t not in self.outputs
                if dies and self.size.get(t, 0) >= self.size[out] and \
                        DTYPE_BYTES[self.graph.tensor(out).dtype] <= DTYPE_BYTES[self.graph.tensor(t).dtype]:
                    extra = 0
                    break
        return live_before + extra

    def peak_of(self, order: list[int]) -> int:
        done, live = 0, self.live(0)
        peak = live
        for i in order:
            peak = max(peak, self.step(done, i, live))
            live = self.after(done, i, live)
            done |= 1 << i
        return peak


def _ready(c: _Costs, done: int) -> list[int]:
    return [i for i in range(c.n) if not done >> i & 1 and c.preds[i] & ~done == 0]


def _exact(c: _Costs) -> list[int] | None:
    # The live bytes after a set of layers depend on the set only, so the best peak
    # to reach each set is all the search needs to keep.
    frontier: dict[int, tuple[int, int, list[int]]] = {0: (c.live(0), c.live(0), [])}  # set -> (peak, live, order)
    states = 1
    for _ in range(c.n):
        nxt: dict[int, tuple[int, int, list[int]]] = {}
        for done, (peak, live, order) in frontier.items():
            for i in _ready(c, done):
                new = done | 1 << i
                cost = max(peak, c.step(done, i, live))
                if new not in nxt or cost < nxt[new][0]:
                    nxt[new] = (cost, c.after(done, i, live), order + [i])
        states += len(nxt)
        if states > EXACT_STATES:
            return None
        frontier = nxt
    return frontier[(1 << c.n) - 1][2]


def _beam(c: _Costs) -> list[int]:
    beam: list[tuple[int, int, int, list[int]]] = [(c.live(0), 0, 0, [])]  # (peak, live, done, order)
    for _ in range(c.n):
        seen: dict[int, tuple[int, int, int, list[int]]] = {}
        for peak, live, done, order in beam:
            for i in _ready(c, done):
                new = done | 1 << i
                cost = max(peak, c.step(done, i, live))
                cand = (cost, c.after(done, i, live), new, order + [i])
                if new not in seen or cand[:2] < seen[new][:2]:
                    seen[new] = cand
        beam = sorted(seen.values(), key=lambda x: (x[0], x[1], x[3]))[:BEAM_WIDTH]
    return beam[0][3]


def memory_order(graph: Graph) -> Ordered:
    c = _Costs(graph)
    model = list(range(c.n))
    model_peak = c.peak_of(model)
    if c.n == 0:
        return Ordered(graph, model_peak, model_peak, True)
    order = _exact(c)
    exact = order is not None
    if order is None:
        order = _beam(c)
    peak = c.peak_of(order)
    if peak >= model_peak:
        return Ordered(graph, model_peak, model_peak, exact)
    ops = [graph.operators[i] for i in order]
    reordered = Graph(graph.tensors, ops, graph.inputs, graph.outputs, graph.name, graph.description)
    return Ordered(reordered, peak, model_peak, exact)
