from __future__ import annotations

import numpy as np
import pytest

from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.loader import load_model
from mcugen.planner import ALIGNMENT, plan_memory
from mcugen.reference import tflm_arena

from conftest import VALID_MODELS, model_params


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_plan_never_exceeds_tflite_micro(path):
    graph = load_model(path)
    plan = plan_memory(graph)
    plan.check()
    tflm = tflm_arena(path)
    print(f"{path.name}: mcugen arena {plan.arena_bytes:,} B, TFLite Micro non-persistent {tflm.head:,} B "
          f"(total {tflm.total:,} B)")
    assert plan.arena_bytes <= tflm.head
    # and it is a real plan: at least as large as the biggest single op's working set
    assert plan.arena_bytes >= max(plan.live_bytes)


def _chain(sizes: list[int], reshape_at: int | None = None) -> Graph:
    q = Quantization((1.0,), (0,))
    tensors = [Tensor(i, f"t{i}", (1, s), "int8", q) for i, s in enumerate(sizes)]
    ops = []
    for i in range(len(sizes) - 1):
        kind = "RESHAPE" if i == reshape_at else "HARD_SWISH"
        ops.append(Operator(i, kind, (i,), (i + 1,)))
    return Graph(tensors, ops, (0,), (len(sizes) - 1,))


def test_chain_needs_two_buffers_and_aligns():
    plan = plan_memory(_chain([100, 30, 100, 7]))
    # peak is an op reading 30 B and writing 100 B, or reading 100 and writing 30: 112 + 100 aligned
    assert plan.arena_bytes == 112 + 32
    for b in plan.buffers:
        assert b.offset % ALIGNMENT == 0


def test_reshape_aliases_instead_of_copying():
    graph = _chain([64, 64, 64, 64], reshape_at=1)
    plan = plan_memory(graph)
    assert plan.tensor_offsets[1] == plan.tensor_offsets[2]
    assert plan.tensor_buffer[1] == plan.tensor_buffer[2]
    assert len(plan.buffers) == 3


def test_model_input_lives_until_its_last_reader():
    q = Quantization((1.0,), (0,))
    t = [Tensor(i, f"t{i}", (1, 64), "int8", q) for i in range(4)]
    ops = [Operator(0, "HARD_SWISH", (0,), (1,)), Operator(1, "HARD_SWISH", (1,), (2,)),
           Operator(2, "ADD", (0, 2), (3,))]
    plan = plan_memory(Graph(t, ops, (0,), (3,)))
    assert plan.buffers[0].first == 0 and plan.buffers[0].last == 2
    assert plan.arena_bytes == 3 * 64


def test_constants_take_no_arena():
    q = Quantization((1.0,), (0,))
    t = [Tensor(0, "x", (1, 16), "int8", q), Tensor(1, "w", (4, 16), "int8", q, data=np.zeros((4, 16), np.int8)),
         Tensor(2, "y", (1, 4), "int8", q)]
    plan = plan_memory(Graph(t, [Operator(0, "FULLY_CONNECTED", (0, 1, -1), (2,))], (0,), (2,)))
    assert 1 not in plan.tensor_offsets
    assert plan.arena_bytes == 32
