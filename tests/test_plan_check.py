"""Memory plans checked from outside the planner (mcugen/plan/check.py replays each
program over a model of the arena, byte by byte): on every shared model, for both
kernel variants and both memory strategies; planted faults it must catch; and random
small graphs with branches, several outputs, outputs written before the last layer
and windowed layers run in strips, against the lower bound (the most bytes ever live
at once) and, for the smaller ones, the best of every placement order."""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest

from mcugen.codegen.lowering import plan_for
from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.loader import load_model
from mcugen.plan import STRATEGIES, KernelNeeds, MemoryPlan, plan_graph
from mcugen.plan.place import align_up, forbidden, profiles, lives

from conftest import VALID_MODELS, model_params

Q = Quantization((1.0,), (0,))


@pytest.mark.parametrize("memory", STRATEGIES)
@pytest.mark.parametrize("variant", ["portable", "arm-dsp"])
@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_shared_model_plans_are_sound(path, variant, memory):
    plan = plan_for(load_model(path), variant, memory)
    assert plan.problems() == []


def _moved(plan: MemoryPlan, buffer: int, offset: int) -> MemoryPlan:
    return dataclasses.replace(plan, offsets={**plan.offsets, buffer: offset})


def test_the_check_sees_a_model_output_reused_early():
    """A plan that puts a later tensor over an output written at layer 0 is caught."""
    t = [Tensor(i, f"t{i}", (1, 64), "int8", Q) for i in range(4)]
    # layer 0 writes output t1 early; layers 1-2 go on from t0
    ops = [Operator(0, "SOFTMAX", (0,), (1,)), Operator(1, "SOFTMAX", (0,), (2,)), Operator(2, "SOFTMAX", (2,), (3,))]
    plan = plan_graph(Graph(t, ops, (0,), (1, 3)))
    assert plan.problems() == []
    program = plan.program
    bad = _moved(plan, program.tensor_buffer[3], plan.tensor_offsets[1])
    assert any("model output 1" in p and "tensor 3" in p for p in bad.problems())


def test_the_check_sees_scratch_over_live_data():
    t = [Tensor(i, f"t{i}", (1, 64), "int8", Q) for i in range(3)]
    graph = Graph(t, [Operator(0, "SOFTMAX", (0,), (1,)), Operator(1, "SOFTMAX", (1,), (2,))], (0,), (2,))
    class Scratch(KernelNeeds):
        def scratch(self, view, op, position):
            return 32 if position == 1 else 0

    plan = plan_graph(graph, kernels=Scratch())
    assert plan.problems() == []
    call = plan.program.calls()[1]
    bad = _moved(plan, call.scratch_buffer, plan.tensor_offsets[1])  # over the layer's own input
    assert any("scratch" in p for p in bad.problems())


def _pool_graph(height: int = 24) -> Graph:
    options = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_width": 3, "filter_height": 3,
               "fused_activation_function": "NONE"}
    t = [Tensor(0, "x", (1, height, 4, 8), "int8", Q), Tensor(1, "y", (1, height, 4, 8), "int8", Q),
         Tensor(2, "z", (1, height, 4, 8), "int8", Q)]
    ops = [Operator(0, "AVERAGE_POOL_2D", (0,), (1,), options), Operator(1, "MAX_POOL_2D", (1,), (2,), options)]
    return Graph(t, ops, (0,), (2,))


def test_the_check_sees_a_strip_output_one_row_too_close():
    """Strips that write their output over input rows a later strip still reads: one
    row (32 bytes, two alignment steps) closer than planned is caught."""
    plan = plan_graph(_pool_graph(), "small")
    assert plan.problems() == [] and len(plan.program.calls()) > 2
    y = plan.program.tensor_buffer[1]
    x = plan.program.tensor_buffer[0]
    assert abs(plan.offsets[y] - plan.offsets[x]) < 24 * 32  # they do overlap: in place
    toward = 32 if plan.offsets[y] < plan.offsets[x] else -32
    bad = _moved(plan, y, plan.offsets[y] + toward)
    # a strip writing over rows it reads itself, or over rows a later strip reads
    assert any("overlap input tensor 0" in p or "holds byte" in p for p in bad.problems())


def test_the_check_sees_a_strip_reading_too_few_rows():
    plan = plan_graph(_pool_graph(), "small")
    call = plan.program.calls()[3]
    r = call.reads[0]
    call.reads = (dataclasses.replace(r, stop=r.stop - 1),)
    assert any("need input rows" in p for p in plan.problems())


# ---- random graphs ----

def _random_graph(rng: random.Random) -> Graph:
    """A small DAG of images: elementwise ops, ADD joins, reshapes (aliases), 3x3 / 2x2
    pools (which the small strategy runs in strips), 1-3 outputs, some written early."""
    width, channels = 4, rng.choice([4, 8])
    tensors = [Tensor(0, "in", (1, rng.choice([4, 8, 12]), width, channels), "int8", Q)]
    ops: list[Operator] = []
    available = [0]
    for i in range(rng.randint(2, 8)):
        kind = rng.choice(["SOFTMAX", "HARD_SWISH", "ADD", "RESHAPE", "AVERAGE_POOL_2D", "MAX_POOL_2D"])
        a = rng.choice(available)
        src = tensors[a]
        options: dict = {}
        if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            stride = rng.choice([1, 2]) if src.shape[1] >= 2 else 1
            size = 3 if stride == 1 else 2
            options = {"padding": "SAME" if stride == 1 else "VALID", "stride_w": 1, "stride_h": stride,
                       "filter_width": 1, "filter_height": size, "fused_activation_function": "NONE"}
            shape = (1, src.shape[1] if stride == 1 else src.shape[1] // 2, src.shape[2], src.shape[3])
        elif kind == "RESHAPE":
            shape = (1, src.shape[1] * src.shape[2], 1, src.shape[3])
        else:
            shape = src.shape
        out = Tensor(len(tensors), f"t{len(tensors)}", shape, "int8", Q)
        tensors.append(out)
        if kind == "ADD":
            same = [t for t in available if tensors[t].shape == shape]
            inputs: tuple[int, ...] = (a, rng.choice(same))
        else:
            inputs = (a,)
        ops.append(Operator(i, kind, inputs, (out.index,), options))
        available.append(out.index)
    produced = [o.outputs[0] for o in ops]
    outputs = sorted(set([produced[-1]] + rng.sample(produced, k=min(len(produced), rng.randint(0, 2)))))
    return Graph(tensors, ops, (0,), tuple(outputs))


def _best_of_every_order(plan: MemoryPlan) -> int:
    """First-fit in every order of the buffers (a true optimum for whole-layer plans,
    whose buffers only ever need disjoint bytes; an upper bound on it with strips)."""
    profs = profiles(plan.program, lives(plan.program))
    ids = sorted(profs)
    pair = {(a, b): f for a in ids for b in ids if a != b and (f := forbidden(profs[a], profs[b]))}
    best = None
    for order in itertools.permutations(ids):
        offsets: dict[int, int] = {}
        for b in order:
            q = 0
            spans = [(offsets[a] + pair[(a, b)][0], offsets[a] + pair[(a, b)][1]) for a in offsets if (a, b) in pair]
            while any(lo < q < hi for lo, hi in spans):
                q = align_up(max(hi for lo, hi in spans if lo < q < hi))
            offsets[b] = q
        arena = align_up(max(offsets[b] + int(profs[b].hi.max()) for b in ids))
        best = arena if best is None else min(best, arena)
    return best


@pytest.mark.parametrize("memory", STRATEGIES)
def test_random_graphs_are_sound_and_near_the_optimum(memory):
    rng = random.Random(2026)
    ratios, exact = [], []
    for _ in range(300):
        graph = _random_graph(rng)
        plan = plan_graph(graph, memory)
        assert plan.problems() == [], (graph.operators, graph.outputs)
        bound = plan.lower_bound
        assert plan.arena_bytes >= bound
        ratios.append(plan.arena_bytes / max(bound, 1))
        if len(plan.profiles) <= 6:
            best = _best_of_every_order(plan)
            exact.append(plan.arena_bytes / best)
            if memory == "fast":
                assert plan.arena_bytes <= best * 1.5
    ratios.sort()
    print(f"{memory}: arena / lower bound over 300 random graphs: median {ratios[150]:.3f}, worst "
          f"{ratios[-1]:.3f}; against the best order on {len(exact)} small ones: at it or below in "
          f"{sum(r <= 1.0 for r in exact)}, worst {max(exact):.3f}")
    assert ratios[150] <= 1.1  # a planner far from the bound on typical graphs would be a regression
