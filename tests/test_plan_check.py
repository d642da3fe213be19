"""Memory plans checked from outside the planner (mcugen/plan_check.py): on every
shared model, for both kernel variants (the arm-dsp scratch included), and on random
small graphs with branches, several outputs and outputs written before the last
layer; against the lower bound (the most bytes ever live at once), the planner's
distance from the optimum is printed."""

from __future__ import annotations

import random

import pytest

from mcugen.codegen.lowering import plan_for
from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.loader import load_model
from mcugen.plan_check import live_ranges, plan_problems
from mcugen.planner import MemoryPlan, align_up, plan_memory

from conftest import VALID_MODELS, model_params


@pytest.mark.parametrize("variant", ["portable", "arm-dsp"])
@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_shared_model_plans_have_no_overlap(path, variant):
    graph = load_model(path)
    plan = plan_for(graph, variant)
    assert plan_problems(graph, plan) == []


def test_the_check_sees_a_model_output_reused_early():
    """A plan that puts a later tensor over an output written at layer 0 is caught."""
    q = Quantization((1.0,), (0,))
    t = [Tensor(i, f"t{i}", (1, 64), "int8", q) for i in range(4)]
    # layer 0 writes output t1 early; layers 1-2 go on from t0
    ops = [Operator(0, "HARD_SWISH", (0,), (1,)), Operator(1, "HARD_SWISH", (0,), (2,)),
           Operator(2, "HARD_SWISH", (2,), (3,))]
    graph = Graph(t, ops, (0,), (1, 3))
    plan = plan_memory(graph)
    assert plan_problems(graph, plan) == []
    bad = MemoryPlan(plan.buffers, plan.arena_bytes, {**plan.tensor_offsets, 3: plan.tensor_offsets[1]},
                     plan.live_bytes)
    assert any("overlaps" in p and "tensor 1" in p for p in plan_problems(graph, bad))


def test_the_check_sees_scratch_over_live_data():
    q = Quantization((1.0,), (0,))
    t = [Tensor(i, f"t{i}", (1, 64), "int8", q) for i in range(3)]
    graph = Graph(t, [Operator(0, "HARD_SWISH", (0,), (1,)), Operator(1, "HARD_SWISH", (1,), (2,))], (0,), (2,))
    plan = plan_memory(graph, {1: 32})
    assert plan_problems(graph, plan) == []
    plan.scratch_offsets[1] = plan.tensor_offsets[1]  # scratch over the layer's own input
    assert any("scratch" in p for p in plan_problems(graph, plan))


def _random_graph(rng: random.Random) -> Graph:
    """A small DAG: unary ops, ADD joins, reshapes (aliases), 1-3 outputs, some written early."""
    q = Quantization((1.0,), (0,))
    tensors = [Tensor(0, "in", (1, rng.choice([16, 40, 64, 100])), "int8", q)]
    ops: list[Operator] = []
    available = [0]
    for i in range(rng.randint(2, 9)):
        kind = rng.choice(["HARD_SWISH", "HARD_SWISH", "ADD", "RESHAPE"])
        a = rng.choice(available)
        size = tensors[a].shape[1] if kind in ("ADD", "RESHAPE") else rng.choice([8, 16, 40, 64, 100, 130])
        out = Tensor(len(tensors), f"t{len(tensors)}", (1, size), "int8", q)
        tensors.append(out)
        if kind == "ADD":
            same = [t for t in available if tensors[t].shape[1] == size]
            inputs = (a, rng.choice(same))
        else:
            inputs = (a,)
        ops.append(Operator(i, kind, inputs, (out.index,)))
        available.append(out.index)
    produced = [o.outputs[0] for o in ops]
    outputs = sorted(set([produced[-1]] + rng.sample(produced, k=min(len(produced), rng.randint(0, 2)))))
    return Graph(tensors, ops, (0,), tuple(outputs))


def _lower_bound(graph: Graph, plan: MemoryPlan) -> int:
    """No plan can be smaller than the most (aligned) bytes live at once."""
    ranges = live_ranges(graph, plan)
    best = 0
    for pos in range(-1, len(graph.operators) + 1):
        groups = {}
        for r in ranges:
            if r.first <= pos <= r.last:
                groups[r.alias_group] = max(groups.get(r.alias_group, 0), align_up(r.size))
        best = max(best, sum(groups.values()))
    return best


def test_random_graphs_never_overlap_and_stay_near_the_optimum():
    rng = random.Random(2026)
    ratios = []
    for _ in range(400):
        graph = _random_graph(rng)
        plan = plan_memory(graph)
        assert plan_problems(graph, plan) == [], (graph.operators, graph.outputs)
        bound = _lower_bound(graph, plan)
        assert plan.arena_bytes >= bound
        ratios.append(plan.arena_bytes / bound)
    ratios.sort()
    print(f"arena / lower bound over 400 random graphs: median {ratios[200]:.3f}, worst {ratios[-1]:.3f}, "
          f"at the bound in {sum(r == 1.0 for r in ratios)} of 400")
    assert ratios[200] <= 1.1  # a planner far from the bound on typical graphs would be a regression
