"""The memory plan (mcugen/plan/): every strategy's arena against TFLite Micro's, and
the small rules a newcomer would check by hand (alignment, aliases, in place)."""

from __future__ import annotations

import numpy as np
import pytest

from mcugen.codegen.lowering import plan_for
from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.loader import load_model
from mcugen.plan import ALIGNMENT, plan_graph
from mcugen.reference import tflm_arena

from conftest import VALID_MODELS, model_params


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_plans_never_exceed_tflite_micro(path):
    graph = load_model(path)
    tflm = tflm_arena(path)
    fast, small = plan_for(graph, "portable", "fast"), plan_for(graph, "portable", "small")
    print(f"{path.name}: mcugen fast {fast.arena_bytes:,} B, small {small.arena_bytes:,} B; TFLite Micro "
          f"non-persistent {tflm.head:,} B (total {tflm.total:,} B)")
    assert fast.arena_bytes <= tflm.head
    assert small.arena_bytes <= fast.arena_bytes
    for plan in (fast, small):  # and each is a real plan: never below the bytes live at once
        assert plan.arena_bytes >= plan.lower_bound >= max(plan.live_bytes)


def _chain(sizes: list[int], kinds: list[str]) -> Graph:
    q = Quantization((1.0,), (0,))
    tensors = [Tensor(i, f"t{i}", (1, s), "int8", q) for i, s in enumerate(sizes)]
    ops = [Operator(i, kind, (i,), (i + 1,)) for i, kind in enumerate(kinds)]
    return Graph(tensors, ops, (0,), (len(sizes) - 1,))


def test_chain_needs_two_buffers_and_aligns():
    # SOFTMAX is not computed in place: each layer needs its input and its output
    plan = plan_graph(_chain([100, 30, 100, 7], ["SOFTMAX", "FULLY_CONNECTED", "SOFTMAX"]))
    # peak is a layer reading 30 B and writing 100 B, or reading 100 and writing 30: 112 + 100 aligned
    assert plan.arena_bytes == 112 + 32
    assert all(offset % ALIGNMENT == 0 for offset in plan.offsets.values())


def test_reshape_aliases_instead_of_copying():
    graph = _chain([64, 64, 64, 64], ["SOFTMAX", "RESHAPE", "SOFTMAX"])
    plan = plan_graph(graph)
    assert plan.tensor_offsets[1] == plan.tensor_offsets[2]
    assert plan.program.tensor_buffer[1] == plan.program.tensor_buffer[2]
    assert len(plan.program.buffers) == 3


def test_elementwise_layers_run_in_place():
    """A chain of activations needs one buffer: each output takes its input's bytes."""
    plan = plan_graph(_chain([64, 64, 64, 64], ["HARD_SWISH", "RELU", "LOGISTIC"]))
    assert plan.arena_bytes == 64
    assert len(set(plan.tensor_offsets.values())) == 1


def test_an_input_read_later_is_not_overwritten_in_place():
    q = Quantization((1.0,), (0,))
    t = [Tensor(i, f"t{i}", (1, 64), "int8", q) for i in range(4)]
    ops = [Operator(0, "HARD_SWISH", (0,), (1,)), Operator(1, "HARD_SWISH", (1,), (2,)),
           Operator(2, "ADD", (0, 2), (3,))]
    plan = plan_graph(Graph(t, ops, (0,), (3,)))
    # t0 lives until the ADD; t1 and t2 share a buffer, and the ADD writes over one of its inputs
    assert plan.tensor_offsets[0] != plan.tensor_offsets[1]
    assert plan.arena_bytes == 2 * 64
    assert plan.problems() == []


def test_constants_take_no_arena():
    q = Quantization((1.0,), (0,))
    t = [Tensor(0, "x", (1, 16), "int8", q), Tensor(1, "w", (4, 16), "int8", q, data=np.zeros((4, 16), np.int8)),
         Tensor(2, "y", (1, 4), "int8", q)]
    plan = plan_graph(Graph(t, [Operator(0, "FULLY_CONNECTED", (0, 1, -1), (2,))], (0,), (2,)))
    assert 1 not in plan.tensor_offsets
    assert plan.arena_bytes == 32


def test_strips_let_a_pool_write_over_its_own_input():
    """A 2x2 stride-2 pool over 32 rows, in strips: the output starts where the rows
    already pooled were, so the arena is the input plus a strip, not input + output."""
    q = Quantization((1.0,), (0,))
    t = [Tensor(0, "x", (1, 32, 8, 16), "int8", q), Tensor(1, "y", (1, 16, 4, 16), "int8", q)]
    options = {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2,
               "fused_activation_function": "NONE"}
    graph = Graph(t, [Operator(0, "MAX_POOL_2D", (0,), (1,), options)], (0,), (1,))
    fast, small = plan_graph(graph, "fast"), plan_graph(graph, "small")
    assert fast.arena_bytes == 4096 + 1024
    assert small.arena_bytes < 4096 + 1024 // 2
    assert small.problems() == []
    assert len(small.program.calls()) > 1
