"""`mcugen validate --float FLOAT_MODEL`: the int8 model's outputs (the generated C's,
dequantized) against its float original's, with ST Edge AI's metrics (RMSE, MAE, L2r,
cosine) and top-1 agreement.

There is no int8/float pair in ../shared and TensorFlow is not installed here, so the
pair is written with tests/tflite_writer.py: a float model (FULLY_CONNECTED + RELU,
FULLY_CONNECTED to 4 class scores, and the hidden layer reshaped to a second, non-class
output), and its int8 twin quantized here the way the converter does (symmetric int8
weights, int32 biases at input scale x weight scale, activation ranges from a
calibration run). The int8 twin's last weights are coarsened on purpose, so the two
models disagree on some inputs' class and top-1 agreement is neither 0 nor all.

The expected figures come from numpy alone: the float model's forward pass in float64,
the int8 outputs from tflite-micro run directly (the generated C matches it bit for
bit, which validate checks in the same run), and the metrics' formulas written out.

The shared real models are compared with their float twins (tests/float_twin.py: the
int8 graph with dequantized weights and float32 activations) at the end of this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcugen.loader import load_model
from mcugen.tflite_reader import read_tflite
from mcugen.validate import validate_model

from conftest import SHARED_MODELS, SHARED_VECTORS, assert_clean_refusal, model_params, needs_shared, run_cli
from float_twin import dequantize_constant, weighted_layers, write_float_twin
from tflite_writer import Operator, Tensor, write_model

IN, HIDDEN, CLASSES = 16, 8, 4
X_SCALE, X_ZP = 1.0 / 64, 3  # a non-zero zero point, so feeding q instead of its value would show
N_VECTORS = 40


def _weights(seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w1": rng.normal(0, 0.4, (HIDDEN, IN)), "b1": rng.normal(0, 0.2, HIDDEN),
            "w2": rng.normal(0, 0.5, (CLASSES, HIDDEN)), "b2": rng.normal(0, 0.1, CLASSES)}


def float_forward(w: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float model in float64: (logits, hidden)."""
    h = np.maximum(x.reshape(-1, IN) @ w["w1"].T + w["b1"], 0.0)
    return h @ w["w2"].T + w["b2"], h


FC = {"fused_activation_function": "NONE", "keep_num_dims": False}
FC_RELU = {"fused_activation_function": "RELU", "keep_num_dims": False}


def _graph(t: list[Tensor], path: Path) -> Path:
    ops = [Operator("FULLY_CONNECTED", [0, 1, 2], [3], FC_RELU), Operator("FULLY_CONNECTED", [3, 4, 5], [6], FC),
           Operator("RESHAPE", [3, 7], [8], {"new_shape": [1, 2, HIDDEN // 2]})]
    return write_model(path, t, ops, inputs=[0], outputs=[6, 8])


def write_float_model(path: Path, w: dict[str, np.ndarray], inputs: int = 1) -> Path:
    f = "float32"
    shape = np.array([1, 2, HIDDEN // 2], np.int32)
    classes = len(w["b2"])
    t = [Tensor((1, IN), f, name="x"), Tensor((HIDDEN, IN), f, data=w["w1"]), Tensor((HIDDEN,), f, data=w["b1"]),
         Tensor((1, HIDDEN), f, name="hidden"), Tensor((classes, HIDDEN), f, data=w["w2"]),
         Tensor((classes,), f, data=w["b2"]), Tensor((1, classes), f, name="logits"),
         Tensor((3,), "int32", data=shape), Tensor((1, 2, HIDDEN // 2), f, name="hidden_2x4")]
    if inputs == 1:
        return _graph(t, path)
    # A second input the int8 model does not have (added to the first through ADD).
    t[0] = Tensor((1, IN), f, name="x_a")
    t += [Tensor((1, IN), f, name="x_b"), Tensor((1, IN), f, name="x_sum")]
    ops = [Operator("ADD", [0, 9], [10], {"fused_activation_function": "NONE"}),
           Operator("FULLY_CONNECTED", [10, 1, 2], [3], FC_RELU), Operator("FULLY_CONNECTED", [3, 4, 5], [6], FC),
           Operator("RESHAPE", [3, 7], [8], {"new_shape": [1, 2, HIDDEN // 2]})]
    return write_model(path, t, ops, inputs=[0, 9], outputs=[6, 8])


def _affine(lo: float, hi: float) -> tuple[float, int]:
    """int8 scale and zero point covering [lo, hi] (and 0), as the converter picks them."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def write_int8_model(path: Path, w: dict[str, np.ndarray]) -> Path:
    rng = np.random.default_rng(11)
    calib = X_SCALE * (rng.integers(-128, 128, (256, IN)) - X_ZP)
    logits, hidden = float_forward(w, calib)
    s1 = np.abs(w["w1"]).max() / 127
    q1 = np.clip(np.round(w["w1"] / s1), -127, 127).astype(np.int8)
    bias1 = np.round(w["b1"] / (X_SCALE * s1)).astype(np.int32)
    sh, zh = _affine(0.0, float(hidden.max()))
    # Deliberately coarse (about 3 levels): the int8 twin then disagrees on some classes.
    s2 = np.abs(w["w2"]).max() / 1.5
    q2 = np.clip(np.round(w["w2"] / s2), -127, 127).astype(np.int8)
    bias2 = np.round(w["b2"] / (sh * s2)).astype(np.int32)
    so, zo = _affine(float(logits.min()) * 1.5, float(logits.max()) * 1.5)
    t = [Tensor((1, IN), "int8", X_SCALE, X_ZP, name="x"),
         Tensor((HIDDEN, IN), "int8", float(s1), 0, q1), Tensor((HIDDEN,), "int32", X_SCALE * s1, 0, bias1),
         Tensor((1, HIDDEN), "int8", sh, zh, name="hidden"),
         Tensor((CLASSES, HIDDEN), "int8", float(s2), 0, q2), Tensor((CLASSES,), "int32", sh * s2, 0, bias2),
         Tensor((1, CLASSES), "int8", so, zo, name="logits"),
         Tensor((3,), "int32", data=np.array([1, 2, HIDDEN // 2], np.int32)),
         Tensor((1, 2, HIDDEN // 2), "int8", sh, zh, name="hidden_2x4")]
    return _graph(t, path)


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path, dict[str, np.ndarray]]:
    folder = tmp_path_factory.mktemp("pair")
    w = _weights()
    return write_int8_model(folder / "tiny_int8.tflite", w), write_float_model(folder / "tiny_float.tflite", w), w


def _int8_reference(model: Path, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8 model's outputs from tflite-micro itself (not through mcugen)."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(model), arena_size=1 << 20)
    logits, hidden = [], []
    for x in xs:
        interp.set_input(x.reshape(1, IN), 0)
        interp.invoke()
        logits.append(np.array(interp.get_output(0)))
        hidden.append(np.array(interp.get_output(1)))
    return np.stack(logits), np.stack(hidden)


def _expected(p: np.ndarray, r: np.ndarray) -> dict[str, float]:
    p, r = p.astype(np.float64).ravel(), r.astype(np.float64).ravel()
    return {"rmse": np.sqrt(np.mean((p - r) ** 2)), "mae": np.mean(np.abs(p - r)),
            "l2r": np.linalg.norm(p - r) / np.linalg.norm(r),
            "cos": p @ r / (np.linalg.norm(p) * np.linalg.norm(r))}


def test_metrics_and_top1_match_numpy(pair, tmp_path: Path) -> None:
    int8_model, float_model, w = pair
    rng = np.random.default_rng(3)
    xs = rng.integers(-128, 128, (N_VECTORS, 1, IN)).astype(np.int8)
    np.save(tmp_path / "xs.npy", xs)
    report = validate_model(int8_model, n_random=0, vectors=[tmp_path / "xs.npy"], float_model=float_model)
    assert report.bit_exact == N_VECTORS  # the generated C is what the int8 figures below come from
    fr = report.float_report
    assert fr is not None and fr.inputs == N_VECTORS and fr.float_model == float_model.name

    logits_q, hidden_q = _int8_reference(int8_model, xs)
    logits_f, hidden_f = float_forward(w, X_SCALE * (xs.astype(np.float64) - X_ZP))
    out, hid = read_tflite(int8_model).output_tensors()
    so, zo = out.quant.scale[0], out.quant.zero_point[0]
    sh, zh = hid.quant.scale[0], hid.quant.zero_point[0]
    cases = [(fr.outputs[0], so * (logits_q.astype(np.float64) - zo), logits_f),
             (fr.outputs[1], sh * (hidden_q.astype(np.float64) - zh), hidden_f)]
    for metrics, p, r in cases:
        r = r.reshape(p.shape)
        want = _expected(p, r)
        assert metrics.values == p.size
        assert metrics.rmse == pytest.approx(want["rmse"], rel=1e-4)
        assert metrics.mae == pytest.approx(want["mae"], rel=1e-4)
        assert metrics.l2r == pytest.approx(want["l2r"], rel=1e-4)
        assert metrics.cos == pytest.approx(want["cos"], abs=1e-6)
        assert metrics.max_abs_diff == pytest.approx(np.max(np.abs(p - r)), rel=1e-4, abs=1e-6)
        # Neither exact nor noise: figures a wrong formula would change.
        assert 0.001 < want["l2r"] < 1.0

    agree = int(np.sum(np.argmax(logits_q.reshape(N_VECTORS, -1), 1) == np.argmax(logits_f, 1)))
    assert 0 < agree < N_VECTORS, "the pair must disagree on some inputs for this check to mean anything"
    assert (fr.outputs[0].top1_agree, fr.outputs[0].top1_inputs) == (agree, N_VECTORS)
    assert fr.outputs[1].top1_agree is None  # a 1x2x4 tensor is no class vector
    assert "0.015625 * (q - 3)" in fr.feed


def test_cli_prints_the_metrics_and_json(pair) -> None:
    int8_model, float_model, _ = pair
    proc = run_cli("validate", int8_model, "--inputs", "12", "--float", float_model)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    for needle in ("vs float tiny_float.tflite on 12 inputs", "RMSE", "MAE", "L2r", "cos", "top-1", "max |diff|",
                   "/12", "n/a", "ST Edge AI"):
        assert needle in text, (needle, proc.stdout)
    proc = run_cli("validate", int8_model, "--inputs", "12", "--float", float_model, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["float"]
    assert data["inputs"] == 12 and [o["name"] for o in data["outputs"]] == ["logits", "hidden_2x4"]
    first = data["outputs"][0]
    assert first["top1_inputs"] == 12 and 0 <= first["top1_agree"] <= 12
    assert 0 < first["rmse"] and 0 < first["l2r"] and -1 <= first["cos"] <= 1
    assert data["outputs"][1]["top1_agree"] is None


def test_refuses_a_missing_float_model(pair, tmp_path: Path) -> None:
    int8_model, _, _ = pair
    assert_clean_refusal(run_cli("validate", int8_model, "--float", tmp_path / "nope.tflite"),
                         "float model not found", "nope.tflite", "--float")


def test_refuses_an_int8_model_as_the_float_one(pair) -> None:
    int8_model, _, _ = pair
    assert_clean_refusal(run_cli("validate", int8_model, "--float", int8_model),
                         "is an int8-quantized model", "float32 model the int8 model was made from")


def test_refuses_a_float_model_of_another_shape_or_count(pair, tmp_path: Path) -> None:
    int8_model, _, w = pair
    five = dict(w, w2=np.vstack([w["w2"], w["w2"][:1]]), b2=np.append(w["b2"], 0.0))
    other = write_float_model(tmp_path / "five_classes.tflite", five)
    assert_clean_refusal(run_cli("validate", int8_model, "--float", other),
                         "output 0 (logits) has shape [1, 5]", "int8 model's (logits) is [1, 4]")
    two = write_float_model(tmp_path / "two_inputs.tflite", w, inputs=2)
    assert_clean_refusal(run_cli("validate", int8_model, "--float", two),
                         "has 2 input(s) but the int8 model has 1")


@needs_shared
def test_refuses_real_float_and_hybrid_models_that_are_not_the_original() -> None:
    person = SHARED_MODELS / "person_detect.tflite"
    # A real float model, but of a 96x96x3 input where person_detect's is 96x96x1.
    assert_clean_refusal(run_cli("validate", person, "--float", SHARED_MODELS / "invalid" / "float32_vww_96.tflite"),
                         "input 0", "[1, 96, 96, 3]", "[1, 96, 96, 1]")
    assert_clean_refusal(run_cli("validate", person, "--float", SHARED_MODELS / "invalid" / "hybrid_toycar.tflite"),
                         "is a hybrid model")


# --- The shared real models against their float twins (tests/float_twin.py) -------------
#
# ../shared has no float original of any real model, so each is compared with its float
# twin: the same graph with the int8 model's own weights, dequantized, and float32
# activations. What validate --float measures against it is the int8 model's activation
# quantization alone (rounding, saturation at each tensor's int8 range, fixed-point
# kernels). tflite-micro's float kernels run the twins of all seven shared models
# (checked when this was written); these four, each with one class-vector output, cover
# CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE/MAX_POOL_2D, MEAN, RESHAPE,
# SOFTMAX, and uint8 edges through QUANTIZE (wv_quality_k_8_c_5), in about 15 s.
#
# Cosine bounds, from `validate MODEL --inputs 8 --float TWIN` (seed 0) as measured, and
# the same run with the weights of the twin's first layer that has any scaled by 2 (a
# twin that is wrong):
#   model                    twin cos    bound    broken twin cos
#   person_detect            0.999994    0.9999   0.99944
#   micro_speech_quantized   0.999647    0.999    0.9872
#   wv_quality_k_8_c_5       0.999327    0.998    0.9927
#   kws_ref_model            0.7126      0.65     0.4998
# The first three leave the twin about 3x room in 1 - cos (16x for person_detect) and the
# broken twin 3.6x or more beyond them; kws_ref_model's leaves 0.06 in cos above it and
# 0.15 below. kws_ref_model's is low because validate's random inputs
# span all of int8 (input scale 0.58, zero point 83), far beyond the MFCC features it was
# calibrated on: 3-17% of each layer's float values then lie beyond that tensor's int8
# range (measured per layer), where the int8 model saturates and the twin does not. On
# the real kws01 sample it is 0.9999999996, which test_float_twin_on_the_real_kws_sample
# holds it to.
TWIN_COS_BOUND = {"person_detect": 0.9999, "micro_speech_quantized": 0.999, "wv_quality_k_8_c_5": 0.998,
                  "kws_ref_model": 0.65}
# Inputs on which the twin and the int8 model pick the same class, at least (measured:
# 8, 7, 8 and 5 of 8).
TWIN_MIN_TOP1 = {"person_detect": 8, "micro_speech_quantized": 6, "wv_quality_k_8_c_5": 8, "kws_ref_model": 4}
# Every output is softmax's, on int8's 1/256 grid; the twin's is not on it, so rounding
# alone leaves an RMSE of about (1/256) / sqrt(12) = 1.1e-3 between them. Half of that
# is a floor a comparison of the int8 model with itself (or with an int8 twin) would not
# reach; the four measure 2.4e-3 (person_detect) to 0.20 (kws_ref_model).
TWIN_MIN_RMSE = 5e-4
TWIN_INPUTS = 8
TWIN_MODELS = [SHARED_MODELS / f"{name}.tflite" for name in TWIN_COS_BOUND] if SHARED_MODELS.is_dir() else []


@pytest.mark.parametrize("model", model_params(TWIN_MODELS))
def test_float_twin_is_the_int8_graph_in_float(model: Path, tmp_path: Path) -> None:
    """The helper itself: the int8 graph op for op (less QUANTIZE/DEQUANTIZE), with its
    options, shapes and names, float32 activations and the int8 constants' real values."""
    graph = load_model(model)
    twin = read_tflite(write_float_twin(model, tmp_path / "twin.tflite"))
    kept = [op for op in graph.operators if op.op not in ("QUANTIZE", "DEQUANTIZE")]
    assert [op.op for op in twin.operators] == [op.op for op in kept]
    assert [dict(op.options) for op in twin.operators] == [dict(op.options) for op in kept]
    for mine, theirs in ((graph.input_tensors(), twin.input_tensors()), (graph.output_tensors(), twin.output_tensors())):
        assert [(t.name, t.shape) for t in mine] == [(t.name, t.shape) for t in theirs]
        assert all(t.dtype == "float32" and t.quant is None for t in theirs)
    checked = 0
    for a, b in zip(kept, twin.operators):
        for i, j in zip(a.inputs + a.outputs, b.inputs + b.outputs):
            if i < 0:
                assert j < 0
                continue
            ta, tb = graph.tensor(i), twin.tensor(j)
            assert ta.shape == tb.shape and tb.quant is None and tb.is_constant == ta.is_constant
            if not ta.is_constant:
                assert tb.dtype == ("float32" if ta.dtype in ("int8", "uint8") else ta.dtype)
            elif ta.quant is None:  # shapes, axes: as they are
                assert tb.name == ta.name and tb.dtype == ta.dtype and np.array_equal(tb.data, ta.data)
            else:
                assert tb.name == ta.name and tb.dtype == "float32"
                np.testing.assert_array_equal(tb.data, dequantize_constant(ta))
                checked += 1
    assert checked == 2 * len(weighted_layers(graph))  # every weight and bias
    # Per-channel weights, channel by channel: scale[c] * (q - zero_point[c]) along the axis
    # (every one of these models has them, conv's on axis 0, depthwise's on axis 3).
    per_channel = [graph.tensor(op.inputs[1]) for op in kept if op.index in weighted_layers(graph)
                   and graph.tensor(op.inputs[1]).quant.axis is not None]
    assert per_channel
    for t in per_channel:
        q, real = t.quant, dequantize_constant(t)
        assert len(set(q.scale)) > 1  # or the axis would not matter
        for c in (0, len(q.scale) - 1):
            want = q.scale[c] * (np.take(t.data, c, axis=q.axis).astype(np.float64) - q.zero_point[c])
            np.testing.assert_allclose(np.take(real, c, axis=q.axis), want, rtol=1e-6)


def test_dequantize_constant_per_channel_with_zero_points() -> None:
    """Real weights here are symmetric (zero point 0); the zero point's part, by hand."""
    from mcugen.ir import DType, Quantization
    from mcugen.ir import Tensor as IrTensor

    q = np.array([[1, -2, 3], [5, 0, -128]], np.int8)
    t = IrTensor(0, "w", (2, 3), DType.INT8, Quantization((0.5, 0.25, 2.0), (1, -2, 3), axis=1), q)
    np.testing.assert_array_equal(dequantize_constant(t), np.array([[0.0, 0.0, 0.0], [2.0, 0.5, -262.0]], np.float32))
    bias = IrTensor(1, "b", (2,), DType.INT32, Quantization((0.001,), (0,)), np.array([1000, -250], np.int32))
    np.testing.assert_allclose(dequantize_constant(bias), [1.0, -0.25], rtol=1e-6)


def _validate_json(model: Path, twin: Path, *args: str) -> dict:
    proc = run_cli("validate", model, *args, "--float", twin, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("model", model_params(TWIN_MODELS))
def test_float_twin_of_a_real_model(model: Path, tmp_path: Path) -> None:
    name = model.stem
    graph = load_model(model)
    outputs = graph.output_tensors()
    twin = write_float_twin(model, tmp_path / f"{name}_twin.tflite")
    data = _validate_json(model, twin, "--inputs", str(TWIN_INPUTS))
    assert data["verdict"] == "bit-exact" and data["inputs"] == TWIN_INPUTS
    report = data["float"]
    assert report["float_model"] == twin.name and report["inputs"] == TWIN_INPUTS
    assert [o["name"] for o in report["outputs"]] == [t.label() for t in outputs]
    print(f"\n{name} vs its float twin on {TWIN_INPUTS} random inputs:")
    for o, t in zip(report["outputs"], outputs):
        print(f"  {o['name']}: rmse {o['rmse']:.6g} mae {o['mae']:.6g} l2r {o['l2r']:.6g} cos {o['cos']:.9g} "
              f"max|d| {o['max_abs_diff']:.6g} top-1 {o['top1_agree']}/{o['top1_inputs']}")
        assert o["values"] == TWIN_INPUTS * t.num_elements
        assert all(isinstance(o[k], float) for k in ("rmse", "mae", "l2r", "cos", "max_abs_diff")), o
        assert o["cos"] > TWIN_COS_BOUND[name], o
        assert o["rmse"] > TWIN_MIN_RMSE, o  # the twin is not the int8 model
        assert 0 < o["mae"] <= o["rmse"] <= o["max_abs_diff"]
        # Each output is one vector of class scores.
        assert o["top1_inputs"] == TWIN_INPUTS and TWIN_MIN_TOP1[name] <= o["top1_agree"] <= TWIN_INPUTS, o

    # The same check on a twin that is wrong (its first weighted layer's weights doubled) fails.
    broken = write_float_twin(model, tmp_path / f"{name}_broken.tflite", {weighted_layers(graph)[0]: 2.0})
    worse = _validate_json(model, broken, "--inputs", str(TWIN_INPUTS))["float"]["outputs"]
    for good, bad in zip(report["outputs"], worse):
        print(f"  broken twin: cos {bad['cos']:.9g} rmse {bad['rmse']:.6g}")
        assert bad["cos"] < TWIN_COS_BOUND[name] < good["cos"], (good, bad)
        assert bad["rmse"] > good["rmse"]


@needs_shared
def test_float_twin_on_the_real_kws_sample(tmp_path: Path) -> None:
    """kws_ref_model on a real input (no saturation), where only rounding is left."""
    model = SHARED_MODELS / "kws_ref_model.tflite"
    twin = write_float_twin(model, tmp_path / "kws_twin.tflite")
    data = _validate_json(model, twin, "--inputs", "0", "--vectors", SHARED_VECTORS / "kws01_sample_i8.npy")
    (o,) = data["float"]["outputs"]
    print(f"\nkws_ref_model vs its float twin on kws01_sample_i8: cos {o['cos']:.12g} rmse {o['rmse']:.6g}")
    # Measured: cos 0.9999999996, RMSE 1.1e-3 (the 1/256 grid's rounding, as above).
    assert o["cos"] > 0.99999 and o["rmse"] > TWIN_MIN_RMSE
    assert (o["top1_agree"], o["top1_inputs"]) == (1, 1)


def test_top1_ties_are_counted_and_argmax_takes_the_first_class() -> None:
    """A converter-made int8 softmax of an untrained model often gives every class the same
    code (0.25 each): argmax takes class 0, as a device would, so it disagrees with the
    float model's class 3, and the tie is reported so the 0 can be read right."""
    from mcugen.float_compare import output_metrics
    from mcugen.ir import Tensor as IrTensor

    t = IrTensor(0, "probs", (1, 4), "int8", None)
    tied = np.full((1, 4), 0.25, np.float32)
    clear = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    ref = np.array([[0.249, 0.2493, 0.2506, 0.2511]], np.float32)
    m = output_metrics(0, t, [tied, clear], [ref, ref])
    assert (m.top1_agree, m.top1_inputs, m.top1_ties) == (1, 2, 1)
