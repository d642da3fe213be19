"""The memory strategies (mcugen/plan/) compiled and run: every layer in strips, the
patch stage at every place it can end, PADs folded, in place, reordered: each bit for
bit against TFLite Micro on the host (sanitizers on), for both kernel variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcugen.codegen.emit import render_model_module, runtime_files
from mcugen.codegen.lowering import plan_for, scratch_rule
from mcugen.generate import GeneratedModel, compile_model
from mcugen.ir import Graph, Operator, Quantization, Tensor as IrTensor
from mcugen.loader import load_model
from mcugen.plan import Stage, plan_graph, prepare
from mcugen.plan.order import memory_order
from mcugen.plan.stages import stage_eligible
from mcugen.target import HOST
from mcugen.validate import validate_model

from conftest import VALID_MODELS, model_params
from op_cases import compile_or_skip, manifest_cases
from tflite_writer import Operator as Op, Tensor, write_model

WINDOWED = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"}


def _bit_exact(model: Path, generated: GeneratedModel, n: int = 6) -> None:
    report = validate_model(model, n_random=n, sanitize=True, model=generated)
    assert report.inputs == n and report.bit_exact == n, report.to_json()


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_shared_models_small_plan_bit_exact(path, kernels):
    generated = compile_model(path, HOST, kernels, "small")
    assert generated.plan.strategy == "small"
    assert generated.plan.arena_bytes <= plan_for(load_model(path), kernels, "fast").arena_bytes
    _bit_exact(path, generated, 4)


@pytest.mark.parametrize("model", manifest_cases(WINDOWED))
def test_op_models_in_strips_bit_exact(model: Path, kernels: str) -> None:
    """Every converter-made conv, depthwise and pool (strides, dilations, paddings, odd
    sizes) run a few rows per call."""
    generated = compile_or_skip(model, WINDOWED, kernels, memory="small")
    if all(call.whole for call in generated.plan.program.calls()):
        pytest.skip("a layer with one output row runs whole")
    _bit_exact(model, generated, 8)


def _q(shape, scale, zp=0, data=None, axis=0):
    return Tensor(shape, "int8" if data is None or np.asarray(data).dtype != np.int32 else "int32", scale, zp,
                  data, axis)


def _chain_model(path: Path) -> Path:
    """conv 3x3 s2 SAME on an odd image -> depthwise 3x3 dilation 2 -> ADD with the conv's
    output (a residual inside the stage) -> PAD -> depthwise 3x3 s2 VALID (the PAD folds
    into it) -> max pool 2x2 SAME -> conv 1x1."""
    rng = np.random.default_rng(9)

    def weights(shape):
        return rng.integers(-127, 128, shape).astype(np.int8)

    def bias(n):
        return rng.integers(-3000, 3000, n).astype(np.int32)

    t = [
        _q((1, 23, 9, 3), 0.05, -3),                                                        # 0 input
        _q((8, 3, 3, 3), [0.004 + 0.001 * i for i in range(8)], [0] * 8, weights((8, 3, 3, 3))),  # 1
        Tensor((8,), "int32", [0.0002] * 8, [0] * 8, bias(8)),                             # 2
        _q((1, 12, 5, 8), 0.06, -10),                                                      # 3 conv out
        _q((1, 3, 3, 8), [0.01] * 8, [0] * 8, weights((1, 3, 3, 8)), axis=3),              # 4
        Tensor((8,), "int32", [0.0006] * 8, [0] * 8, bias(8)),                             # 5
        _q((1, 12, 5, 8), 0.08, 4),                                                        # 6 dw out
        _q((1, 12, 5, 8), 0.1, -2),                                                        # 7 add out
        Tensor((4, 2), "int32", data=np.array([[0, 0], [1, 1], [0, 1], [0, 0]], np.int32)),  # 8 paddings
        _q((1, 14, 6, 8), 0.1, -2),                                                        # 9 padded
        _q((1, 3, 3, 8), [0.012] * 8, [0] * 8, weights((1, 3, 3, 8)), axis=3),             # 10
        Tensor((8,), "int32", [0.0012] * 8, [0] * 8, bias(8)),                             # 11
        _q((1, 6, 2, 8), 0.07, 1),                                                         # 12 dw s2
        _q((1, 6, 2, 8), 0.07, 1),                                                         # 13 pool
        _q((12, 1, 1, 8), [0.01] * 12, [0] * 12, weights((12, 1, 1, 8))),                  # 14
        Tensor((12,), "int32", [0.0007] * 12, [0] * 12, bias(12)),                         # 15
        _q((1, 6, 2, 12), 0.09, 3),                                                        # 16 output
    ]
    conv = {"padding": "SAME", "stride_w": 2, "stride_h": 2, "dilation_w_factor": 1, "dilation_h_factor": 1,
            "fused_activation_function": "RELU"}
    ops = [
        Op("CONV_2D", [0, 1, 2], [3], conv),
        Op("DEPTHWISE_CONV_2D", [3, 4, 5], [6], {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                                   "depth_multiplier": 1, "dilation_w_factor": 2,
                                                   "dilation_h_factor": 2, "fused_activation_function": "NONE"}),
        Op("ADD", [3, 6], [7], {"fused_activation_function": "NONE"}),
        Op("PAD", [7, 8], [9], {}),
        Op("DEPTHWISE_CONV_2D", [9, 10, 11], [12], {"padding": "VALID", "stride_w": 2, "stride_h": 2,
                                                      "depth_multiplier": 1, "dilation_w_factor": 1,
                                                      "dilation_h_factor": 1, "fused_activation_function": "RELU6"}),
        Op("MAX_POOL_2D", [12], [13], {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_width": 2,
                                       "filter_height": 2, "fused_activation_function": "NONE"}),
        Op("CONV_2D", [13, 14, 15], [16], {**conv, "stride_w": 1, "stride_h": 1, "fused_activation_function": "NONE"}),
    ]
    return write_model(path, t, ops, [0], [16])


@pytest.fixture(scope="module")
def chain_model(tmp_path_factory) -> Path:
    return _chain_model(tmp_path_factory.mktemp("chain") / "chain.tflite")


def _stage_cases() -> list:
    # A stage must end at layer 2 or later: the conv's output is read by the ADD.
    return [pytest.param(last, rows, id=f"layers0-{last}-rows{rows}") for last in range(2, 6) for rows in (1, 3)]


@pytest.mark.parametrize("last, rows", _stage_cases())
def test_patch_stage_ending_anywhere_bit_exact(chain_model: Path, last: int, rows: int, kernels: str) -> None:
    graph = load_model(chain_model)
    prepared = prepare(graph)
    g = prepared.graph
    assert len(g.operators) == 6 and any("PAD (layer 3) folded" in n for n in prepared.notes)
    assert stage_eligible(g, list(range(last + 1))) and not stage_eligible(g, [0, 1])
    plan = plan_graph(g, "small", scratch_rule(g, kernels), prepared.notes, Stage(tuple(range(last + 1)), rows))
    assert plan.problems() == []
    assert any(not c.whole for c in plan.program.calls())
    module = render_model_module(g, plan, chain_model.read_bytes(), chain_model.name, kernels)
    files = dict(runtime_files(module.headers))
    files.update(module.files)
    assert "memmove(" in files["mcugen_model.c"]
    _bit_exact(chain_model, GeneratedModel(graph, plan, module, files))


def test_chain_model_every_strategy_bit_exact(chain_model: Path, kernels: str) -> None:
    for memory in ("fast", "small"):
        _bit_exact(chain_model, compile_model(chain_model, HOST, kernels, memory))


# ---- execution order ----

Q = Quantization((1.0,), (0,))


def _two_branches() -> Graph:
    """x -> A (big) -> B (small) and x -> C (big) -> D (small), joined: the model's
    order A, C, B, D holds both big tensors at once; A, B, C, D never does."""
    t = [IrTensor(0, "x", (1, 64), "int8", Q), IrTensor(1, "a", (1, 1000), "int8", Q),
         IrTensor(2, "c", (1, 1000), "int8", Q), IrTensor(3, "b", (1, 8), "int8", Q),
         IrTensor(4, "d", (1, 8), "int8", Q), IrTensor(5, "y", (1, 8), "int8", Q)]
    ops = [Operator(0, "SOFTMAX", (0,), (1,)), Operator(1, "SOFTMAX", (0,), (2,)),
           Operator(2, "FULLY_CONNECTED", (1,), (3,)), Operator(3, "FULLY_CONNECTED", (2,), (4,)),
           Operator(4, "ADD", (3, 4), (5,))]
    return Graph(t, ops, (0,), (5,))


def test_order_for_memory_runs_a_branch_to_its_end_first():
    graph = _two_branches()
    ordered = memory_order(graph)
    assert ordered.exact
    assert ordered.model_peak == 64 + 1000 + 1000
    assert ordered.peak == 64 + 1000 + 8 < ordered.model_peak  # x, a or c, and b
    assert [op.index for op in ordered.graph.operators] == [0, 2, 1, 3, 4]
    assert plan_graph(ordered.graph).arena_bytes < plan_graph(graph).arena_bytes


def test_order_keeps_the_model_order_when_nothing_is_better():
    q = Quantization((1.0,), (0,))
    t = [IrTensor(i, f"t{i}", (1, 10 * (i + 1)), "int8", q) for i in range(4)]
    graph = Graph(t, [Operator(i, "SOFTMAX", (i,), (i + 1,)) for i in range(3)], (0,), (3,))
    assert memory_order(graph).graph is graph


def test_beam_search_above_the_exact_bound(monkeypatch):
    """Past the exact search's bound the beam search still finds the better order and
    is never worse than the model's."""
    import mcugen.plan.order as order

    monkeypatch.setattr(order, "EXACT_STATES", 2)
    ordered = order.memory_order(_two_branches())
    assert not ordered.exact and ordered.peak == 64 + 1000 + 8


# ---- concatenation without a copy ----

def _concat_model(path: Path, axis: int, shape: tuple[int, int, int]) -> Path:
    """Two convolutions of one input, concatenated on `axis`, then a 1x1 convolution."""
    rng = np.random.default_rng(3)
    h, w, c = shape
    both = (1, 2 * h, w, 4) if axis == 1 else (1, h, w, 8)
    t = [
        _q((1, h, w, c), 0.05, 2),
        _q((4, 1, 1, c), [0.01] * 4, [0] * 4, rng.integers(-127, 128, (4, 1, 1, c)).astype(np.int8)),
        _q((4, 3, 3, c), [0.006] * 4, [0] * 4, rng.integers(-127, 128, (4, 3, 3, c)).astype(np.int8)),
        _q((1, h, w, 4), 0.07, -5),
        _q((1, h, w, 4), 0.07, -5),
        _q(both, 0.07, -5),
        _q((3, 1, 1, 4 if axis == 1 else 8), [0.02] * 3, [0] * 3,
           rng.integers(-127, 128, (3, 1, 1, 4 if axis == 1 else 8)).astype(np.int8)),
        _q((1,) + both[1:3] + (3,), 0.1, 7),
    ]
    conv = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 1, "dilation_h_factor": 1,
            "fused_activation_function": "NONE"}
    ops = [Op("CONV_2D", [0, 1, -1], [3], conv), Op("CONV_2D", [0, 2, -1], [4], conv),
           Op("CONCATENATION", [3, 4], [5], {"axis": axis, "fused_activation_function": "NONE"}),
           Op("CONV_2D", [5, 6, -1], [7], conv)]
    return write_model(path, t, ops, [0], [7])


@pytest.mark.parametrize("axis, shape", [(1, (5, 6, 8)), (3, (1, 1, 8)), (3, (5, 6, 8))],
                         ids=["rows", "channels-1x1", "channels-of-an-image"])
def test_concatenation_inputs_are_made_in_their_slices(tmp_path: Path, axis, shape, kernels: str) -> None:
    model = _concat_model(tmp_path / "concat.tflite", axis, shape)
    for memory in ("fast", "small"):
        generated = compile_model(model, HOST, kernels, memory)
        plan = generated.plan
        assert any("without a copy" in n for n in plan.program.notes)
        offsets = plan.tensor_offsets
        # the second input starts where the first ends: after its rows, or after its channels
        first = plan.graph.tensor(3).nbytes if axis == 1 or shape[:2] == (1, 1) else plan.graph.tensor(3).shape[3]
        assert offsets[3] == offsets[5] and offsets[4] == offsets[5] + first
        assert "mcugen_concatenation_s8" not in generated.files["mcugen_model.c"]
        _bit_exact(model, generated)


def test_concatenation_copies_when_a_producer_cannot_write_a_slice(tmp_path: Path) -> None:
    """An ADD's kernel writes its output contiguous: its channels of a 5x6 image cannot
    be interleaved with the convolution's, so the concatenation copies."""
    rng = np.random.default_rng(5)
    t = [
        _q((1, 5, 6, 4), 0.05, 2),
        _q((1, 5, 6, 4), 0.07, -5),                                                          # ADD out
        _q((4, 1, 1, 4), [0.01] * 4, [0] * 4, rng.integers(-127, 128, (4, 1, 1, 4)).astype(np.int8)),
        _q((1, 5, 6, 4), 0.07, -5),                                                          # conv out
        _q((1, 5, 6, 8), 0.07, -5),
    ]
    conv = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 1, "dilation_h_factor": 1,
            "fused_activation_function": "NONE"}
    ops = [Op("ADD", [0, 0], [1], {"fused_activation_function": "NONE"}), Op("CONV_2D", [0, 2, -1], [3], conv),
           Op("CONCATENATION", [1, 3], [4], {"axis": 3, "fused_activation_function": "NONE"})]
    model = write_model(tmp_path / "concat_add.tflite", t, ops, [0], [4])
    generated = compile_model(model, HOST, "portable", "fast")
    assert "mcugen_concatenation_s8" in generated.files["mcugen_model.c"]
    _bit_exact(model, generated)


def _slice_producers_model(path: Path, second: str) -> Path:
    """A 1x1 convolution (4 channels) and a second layer of the same 7x6x8 input
    concatenated on channels, then a 1x1 convolution: the second is a depthwise
    convolution, a max pool or an average pool with RELU6 (whose clamp must touch
    only its own channels of each pixel)."""
    rng = np.random.default_rng(11)
    c2 = 8
    t = [
        _q((1, 7, 6, 8), 0.05, 2),
        _q((4, 1, 1, 8), [0.01] * 4, [0] * 4, rng.integers(-127, 128, (4, 1, 1, 8)).astype(np.int8)),
        _q((1, 7, 6, 4), 0.05, 2),
        _q((1, 7, 6, c2), 0.05, 2),
        _q((1, 7, 6, 4 + c2), 0.05, 2),
        _q((3, 1, 1, 4 + c2), [0.02] * 3, [0] * 3, rng.integers(-127, 128, (3, 1, 1, 4 + c2)).astype(np.int8)),
        _q((1, 7, 6, 3), 0.1, 7),
        _q((1, 3, 3, c2), [0.01] * c2, [0] * c2, rng.integers(-127, 128, (1, 3, 3, c2)).astype(np.int8), axis=3),
        Tensor((c2,), "int32", [0.0005] * c2, [0] * c2, rng.integers(-2000, 2000, c2).astype(np.int32)),
    ]
    conv = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 1, "dilation_h_factor": 1,
            "fused_activation_function": "NONE"}
    pool = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_width": 3, "filter_height": 2,
            "fused_activation_function": "RELU6"}
    if second == "depthwise":
        # (TFLite Micro's int8 depthwise kernel needs its bias)
        other = Op("DEPTHWISE_CONV_2D", [0, 7, 8], [3], {**conv, "depth_multiplier": 1})
    else:
        other = Op(second, [0], [3], pool)
    ops = [Op("CONV_2D", [0, 1, -1], [2], conv), other,
           Op("CONCATENATION", [2, 3], [4], {"axis": 3, "fused_activation_function": "NONE"}),
           Op("CONV_2D", [4, 5, -1], [6], conv)]
    return write_model(path, t, ops, [0], [6])


@pytest.mark.parametrize("second", ["depthwise", "MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_every_slice_writing_kernel_bit_exact(tmp_path: Path, second: str, kernels: str) -> None:
    model = _slice_producers_model(tmp_path / "slices.tflite", second)
    for memory in ("fast", "small"):
        generated = compile_model(model, HOST, kernels, memory)
        assert any("without a copy" in n for n in generated.plan.program.notes)
        assert generated.plan.program.tensor_stride.get(3) == 12
        _bit_exact(model, generated)
