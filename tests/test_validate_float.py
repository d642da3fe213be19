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
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcugen.tflite_reader import read_tflite
from mcugen.validate import validate_model

from conftest import SHARED_MODELS, assert_clean_refusal, needs_shared, run_cli
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
    for needle in ("vs float tiny_float.tflite on 12 inputs", "RMSE", "MAE", "L2r", "cos", "top-1 agreement",
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
