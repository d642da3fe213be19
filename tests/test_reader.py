from __future__ import annotations

import numpy as np
import pytest

from mcugen.errors import ModelError, UnsupportedModelError
from mcugen.fold import fold_constants
from mcugen.ir import Graph, Operator, Quantization, Tensor
from mcugen.loader import load_model
from mcugen.model_check import classify
from mcugen.tflite_reader import parse_tflite, read_tflite

from conftest import INVALID_MODELS, VALID_MODELS, model_params, shared_model


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_every_shared_model_reads_into_a_consistent_graph(path):
    graph = load_model(path)
    assert graph.operators and graph.inputs and graph.outputs
    produced = {t for op in graph.operators for t in op.outputs}
    for op in graph.operators:
        for t in op.inputs:
            if t < 0:
                continue
            tensor = graph.tensor(t)
            # every input is a constant, a model input, or written by an earlier op
            assert tensor.is_constant or t in graph.inputs or t in produced
        for t in op.outputs:
            assert graph.tensor(t).quant is not None, f"activation {graph.tensor(t).label()} not quantized"
    assert classify(graph).kind == "int8"
    for t in graph.tensors:
        if t.is_constant:
            assert t.data.shape == t.shape


def test_person_detect_quirks():
    graph = read_tflite(shared_model("person_detect.tflite"))
    conv = next(op for op in graph.operators if op.op == "CONV_2D")
    weights, bias = graph.tensor(conv.inputs[1]), graph.tensor(conv.inputs[2])
    assert weights.quant.axis == 0 and len(weights.quant.scale) == weights.shape[0]
    # the bias says quantized_dimension=3 on a 1-D tensor; it means its only axis
    assert bias.dtype == "int32" and bias.quant.axis in (None, 0)
    dw = next(op for op in graph.operators if op.op == "DEPTHWISE_CONV_2D")
    assert graph.tensor(dw.inputs[1]).quant.axis == 3
    assert dw.options["padding"] in ("SAME", "VALID")
    assert dw.options["fused_activation_function"] in ("NONE", "RELU", "RELU6")
    assert graph.tensor(graph.inputs[0]).shape == (1, 96, 96, 1)


def test_uint8_edges_are_quantized_model_edges():
    graph = load_model(shared_model("wv_quality_k_8_c_5.tflite"))
    assert graph.tensor(graph.inputs[0]).dtype == "uint8"
    assert graph.tensor(graph.outputs[0]).dtype == "uint8"
    assert graph.operators[0].op == "QUANTIZE" and graph.operators[-1].op == "QUANTIZE"
    assert classify(graph).kind == "int8"


@pytest.mark.parametrize("path", model_params(INVALID_MODELS))
def test_invalid_models_are_refused(path):
    with pytest.raises(UnsupportedModelError):
        load_model(path)


def test_not_a_flatbuffer(tmp_path):
    bad = tmp_path / "notes.tflite"
    bad.write_text("this is not a model at all")
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        read_tflite(bad)


def test_truncated_file_is_a_model_error():
    raw = shared_model("person_detect.tflite").read_bytes()
    for cut in (16, 200, 4096, len(raw) // 2, len(raw) - 64):
        with pytest.raises(ModelError):
            parse_tflite(raw[:cut], "cut.tflite")


def test_missing_file():
    with pytest.raises(ModelError, match="not found"):
        read_tflite("/no/such/model.tflite")


def _q() -> Quantization:
    return Quantization((0.1,), (0,))


def test_constant_shape_chain_is_folded():
    """SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE with static shapes becomes a constant."""
    i32 = "int32"
    tensors = [
        Tensor(0, "x", (1, 4, 4, 2), "int8", _q()),
        Tensor(1, "shape", (4,), i32),
        Tensor(2, "begin", (1,), i32, data=np.array([0], np.int32)),
        Tensor(3, "end", (1,), i32, data=np.array([1], np.int32)),
        Tensor(4, "strides", (1,), i32, data=np.array([1], np.int32)),
        Tensor(5, "batch", (), i32),
        Tensor(6, "minus_one", (), i32, data=np.array(-1, np.int32)),
        Tensor(7, "new_shape", (2,), i32),
        Tensor(8, "flat", (1, 32), "int8", _q()),
    ]
    ops = [
        Operator(0, "SHAPE", (0,), (1,)),
        Operator(1, "STRIDED_SLICE", (1, 2, 3, 4), (5,), {"shrink_axis_mask": 1}),
        Operator(2, "PACK", (5, 6), (7,), {"axis": 0, "values_count": 2}),
        Operator(3, "RESHAPE", (0, 7), (8,)),
    ]
    graph = Graph(tensors, ops, (0,), (8,))
    folded = fold_constants(graph)
    assert [op.op for op in folded] == ["SHAPE", "STRIDED_SLICE", "PACK"]
    assert [op.op for op in graph.operators] == ["RESHAPE"]
    assert graph.tensor(7).data.tolist() == [1, -1]
    assert graph.operators[0].index == 3  # layer numbers still match the file


def test_converter_shape_chain_is_folded_in_a_real_model():
    from conftest import REPO

    path = REPO / "tests" / "models" / "ops" / "shape_chain_flatten_dense.tflite"
    raw_ops = [op.op for op in read_tflite(path).operators]
    assert raw_ops[:4] == ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"]
    graph = load_model(path)
    assert [op.op for op in graph.operators] == ["RESHAPE", "FULLY_CONNECTED"]
    reshape = graph.operators[0]
    assert graph.tensor(reshape.inputs[1]).data.tolist() == [1, 105]
