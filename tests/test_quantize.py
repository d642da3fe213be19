"""`mcugen quantize`: a Keras CNN trained here (saved as .keras, .h5 and a SavedModel) and the same
network as ONNX, quantized to int8 with image-folder and .npy calibration, checked by mcugen's
loader, scored against their float originals, refused in one line on bad input, and, as the
done-when, generated, built and benched bit-exact on qemu-cm7.

Lean on purpose (the suite's time is tight): the models are built once per module, every
conversion runs in this process (TensorFlow imported once), only the refusals that must be seen
as a user sees them go through the CLI, and the two QEMU chains are the only builds."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="mcugen quantize needs TensorFlow (pip install 'mcugen[quantize]')")

import quantize_models as qm  # noqa: E402
from conftest import EXAMPLE_MODEL, assert_clean_refusal, run_cli  # noqa: E402

from mcugen.errors import McugenError  # noqa: E402
from mcugen.loader import load_model  # noqa: E402
from mcugen.preprocess import PreprocessOptions  # noqa: E402
from mcugen.quantize import agreement, poor_agreement, print_summary, quantize_model  # noqa: E402
from mcugen.quantize_sources import open_float_model  # noqa: E402
from mcugen.reference import TflmInterpreter  # noqa: E402

CALIBRATION_IMAGES_PER_CLASS = 12
DATA_IMAGES_PER_CLASS = 4


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """The trained Keras CNN in every form quantize takes, its ONNX twin, and the data."""
    root = tmp_path_factory.mktemp("quantize")
    model = qm.train_keras_cnn()
    model.save(root / "cnn.keras")
    model.save(root / "cnn.h5")
    model.export(str(root / "cnn_saved_model"), verbose=False)
    paths = {"keras": root / "cnn.keras", "h5": root / "cnn.h5", "saved_model": root / "cnn_saved_model",
             "root": root,
             "calibration": qm.write_image_folder(root / "calibration", CALIBRATION_IMAGES_PER_CLASS, seed=11),
             "data": qm.write_image_folder(root / "data", DATA_IMAGES_PER_CLASS, seed=12)}
    images, _ = qm.colour_images(3 * CALIBRATION_IMAGES_PER_CLASS, seed=13)
    nhwc = images.astype(np.float32) / 255.0
    np.save(root / "calibration_nhwc.npy", nhwc)
    paths["npy"] = root / "calibration_nhwc.npy"
    if _has_onnx():
        qm.onnx_from_keras(model, root / "cnn.onnx")
        np.save(root / "calibration_nchw.npy", nhwc.transpose(0, 3, 1, 2))
        paths["onnx"], paths["npy_nchw"] = root / "cnn.onnx", root / "calibration_nchw.npy"
    return paths


def _has_onnx() -> bool:
    try:
        import onnx  # noqa: F401
        import onnx2tf  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _need_onnx(models: dict[str, Path]) -> None:
    if "onnx" not in models:
        pytest.skip("ONNX models need onnx, onnx2tf and onnxruntime (pip install 'mcugen[onnx]')")


def _assert_agrees(result, inputs: int) -> None:
    (out,) = result.agreement.outputs
    assert result.agreement.inputs == inputs
    assert out.cos is not None and out.cos > 0.99, out
    assert out.top1_agree >= 0.9 * inputs, out
    assert out.max_abs_diff < 0.1, out


@pytest.fixture(scope="module")
def keras_int8(models):
    """.keras, calibrated on an image folder, with --data: the model the QEMU chain runs."""
    out = models["root"] / "keras_int8.tflite"
    result = quantize_model(models["keras"], out, models["calibration"], data_dir=models["data"],
                            pixel_range="0-1")
    return out, result


@pytest.fixture(scope="module")
def onnx_int8(models):
    """.onnx, calibrated on a .npy in its own NCHW layout, with --data."""
    _need_onnx(models)
    out = models["root"] / "onnx_int8.tflite"
    result = quantize_model(models["onnx"], out, models["npy_nchw"], data_dir=models["data"], pixel_range="0-1")
    return out, result


def test_keras_with_image_calibration_agrees_and_keeps_its_accuracy(keras_int8):
    out, result = keras_int8
    graph = load_model(out)  # mcugen's own loader: a fully int8 model it compiles
    assert [t.dtype for t in graph.input_tensors() + graph.output_tensors()] == ["int8", "int8"]
    assert list(graph.input_tensors()[0].shape) == [1, qm.SIDE, qm.SIDE, 3]
    _assert_agrees(result, 3 * CALIBRATION_IMAGES_PER_CLASS)
    images = 3 * DATA_IMAGES_PER_CLASS
    assert result.accuracy.images == images and result.accuracy.class_names == list(qm.CLASSES)
    assert result.accuracy.float_correct >= 0.9 * images and result.accuracy.int8_correct >= 0.9 * images
    assert "images under" in result.calibration.source and "[0, 1]" in result.calibration.source


def test_h5_with_npy_calibration_and_uint8_edges(models, capfd):
    out = models["root"] / "h5_uint8.tflite"
    capfd.readouterr()
    result = quantize_model(models["h5"], out, models["npy"], edges="uint8")
    # What TensorFlow prints while it loads and converts (C++ logs, "Saved artifact ...") stays
    # out of the user's console.
    assert capfd.readouterr() == ("", "")
    graph = load_model(out)
    assert graph.input_tensors()[0].dtype == "uint8" and graph.output_tensors()[0].dtype == "uint8"
    _assert_agrees(result, 3 * CALIBRATION_IMAGES_PER_CLASS)
    assert any("100 or more" in n for n in result.notes)  # 36 inputs: fewer than advised, said so


def test_saved_model_with_float_edges(models):
    out = models["root"] / "saved_model_float_edges.tflite"
    result = quantize_model(models["saved_model"], out, models["npy"], edges="float")
    graph = load_model(out)
    ops = [op.op for op in graph.operators]
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    assert graph.input_tensors()[0].dtype == "float32" and graph.output_tensors()[0].dtype == "float32"
    assert result.kind == "SavedModel"
    _assert_agrees(result, 3 * CALIBRATION_IMAGES_PER_CLASS)


def test_onnx_with_nchw_npy_calibration(onnx_int8):
    out, result = onnx_int8
    graph = load_model(out)
    assert list(graph.input_tensors()[0].shape) == [1, qm.SIDE, qm.SIDE, 3]  # onnx2tf made it NHWC
    assert any("transposed from the ONNX layout" in n for n in result.notes)
    _assert_agrees(result, 3 * CALIBRATION_IMAGES_PER_CLASS)
    assert result.accuracy.int8_correct >= 0.9 * result.accuracy.images


def test_onnx_with_image_calibration(models, tmp_path):
    _need_onnx(models)
    out = tmp_path / "onnx_images.tflite"
    result = quantize_model(models["onnx"], out, models["calibration"])
    assert result.kind == "ONNX" and list(result.inputs[0].shape) == [1, qm.SIDE, qm.SIDE, 3]
    assert any("--pixel-range 0-1, the default" in n for n in result.notes)
    _assert_agrees(result, 3 * CALIBRATION_IMAGES_PER_CLASS)
    load_model(out)


def test_summary_names_both_models_and_the_accuracy(keras_int8):
    from rich.console import Console

    out, result = keras_int8
    console = Console(file=io.StringIO(), width=120)
    print_summary(console, result)
    text = console.file.getvalue()
    assert f"wrote {out}: int8, int8 edges" in text and "passes mcugen's checks" in text
    assert "float Keras cnn.keras vs int8 on the 36 calibration inputs" in text
    assert "accuracy on 12 labeled images: float" in text


def test_zeroed_weights_show_poor_agreement(models, keras_int8, tmp_path):
    """The summary must be able to fail: the int8 model with its first convolution zeroed no
    longer follows its float original."""
    out, good = keras_int8
    broken = qm.zero_first_conv_weights(out, tmp_path / "broken.tflite")
    model = open_float_model(models["keras"], tmp_path, verbose=False)
    samples = np.load(models["npy"])
    graph = load_model(broken)
    with TflmInterpreter(broken) as reference:
        report = agreement(model, reference, graph, samples)
    (metrics,) = report.outputs
    (healthy,) = good.agreement.outputs
    assert metrics.top1_agree <= 0.5 * len(samples), metrics  # a constant output: one class of three
    assert metrics.cos < 0.9 and metrics.rmse > 20 * healthy.rmse, metrics
    assert len(poor_agreement(report)) == 1 and poor_agreement(good.agreement) == []


@pytest.mark.parametrize("case", ["wrong_shape", "too_few", "non_finite", "image_layout"])
def test_bad_calibration_is_refused_in_one_line(models, tmp_path, case):
    out = tmp_path / "out.tflite"
    npy = tmp_path / "calibration.npy"
    good = np.load(models["npy"])
    calibration, options, needles = npy, None, ()
    if case == "wrong_shape":
        np.save(npy, good[:, :8])
        needles = ("[36, 8, 16, 3]", "[N, 16, 16, 3]")
    elif case == "too_few":
        np.save(npy, good[:3])
        needles = ("3 input(s)", "at least 10", "100 or more are advised")
    elif case == "non_finite":
        bad = good.copy()
        bad[5, 0, 0, 0] = np.nan
        np.save(npy, bad)
        needles = ("1 non-finite", "input 5")
    else:  # a 1-channel mean for a 3-channel image input, from an image folder
        calibration, options = models["calibration"], PreprocessOptions(mean=(0.1, 0.2))
        needles = ("--mean", "2 values")
    with pytest.raises(McugenError) as caught:
        quantize_model(models["keras"], out, calibration, options=options)
    line = caught.value.one_line()
    assert "\n" not in line
    for needle in needles:
        assert needle in line, (needle, line)
    assert not out.exists() and not list(tmp_path.glob(".out.tflite*"))


def test_refusals_through_the_cli_leave_no_output(models, tmp_path):
    out = tmp_path / "out.tflite"
    # An int8 model: nothing to quantize, go straight to generate (no TensorFlow needed to say so).
    proc = run_cli("quantize", EXAMPLE_MODEL, "-o", out, "--calibration", models["npy"])
    assert_clean_refusal(proc, "int8 model already", "mcugen generate")
    # Pixel options with a .npy: those are input tensors already.
    proc = run_cli("quantize", models["keras"], "-o", out, "--calibration", models["npy"], "--pixel-range", "0-255")
    assert_clean_refusal(proc, "--pixel-range", "input tensors already")
    proc = run_cli("quantize", models["keras"], "-o", tmp_path / "out.bin", "--calibration", models["npy"])
    assert_clean_refusal(proc, "must name a .tflite file")
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_is_named_and_the_cli_still_runs(models, tmp_path):
    """Without TensorFlow (an import that fails, as when the package is absent) quantize names the
    extra to install, and the other commands never import it."""
    blocker = tmp_path / "blocked"
    (blocker / "tensorflow").mkdir(parents=True)
    (blocker / "tensorflow" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    import subprocess

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "mcugen", *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])

    out = tmp_path / "out.tflite"
    assert_clean_refusal(cli("quantize", models["keras"], "-o", out, "--calibration", models["npy"]),
                         "needs tensorflow", "pip install 'mcugen[quantize]'")
    assert not out.exists()
    inspect = cli("inspect", EXAMPLE_MODEL, "--no-tflm", "--json")
    assert inspect.returncode == 0, inspect.stderr


def _chain_on_qemu(model: Path, project: Path, *bench_args: str) -> dict:
    proc = run_cli("generate", model, "--board", "qemu-cm7", "-o", project)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("build", project, "--json")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("bench", "--model", model, "--emulate", project, "--json", *bench_args, timeout=600)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_quantized_keras_model_runs_bit_exact_on_qemu(models, keras_int8, tmp_path):
    out, _ = keras_int8
    report = _chain_on_qemu(out, tmp_path / "fw", "--data", models["data"], "--pixel-range", "0-1")
    images = 3 * DATA_IMAGES_PER_CLASS
    assert report["inputs"] == images and report["bit_exact"] == images
    assert report["accuracy"] >= 0.9


def test_quantized_onnx_model_runs_bit_exact_on_qemu(onnx_int8, tmp_path):
    out, _ = onnx_int8
    report = _chain_on_qemu(out, tmp_path / "fw", "--random", "3")
    assert report["inputs"] == 3 and report["bit_exact"] == 3


def test_a_model_whose_logits_hardly_vary_is_refused_with_the_reason(models, tmp_path):
    """The trained CNN with its classifier's weights and biases shrunk 10^8-fold: the
    converter gives the softmax's input a scale TFLite Micro's own Prepare rejects. The
    refusal names the layer and says why, as an untrained model meets it; nothing is written."""
    import keras

    model = keras.models.load_model(models["keras"])
    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    dense.set_weights([w * 1e-8 for w in dense.get_weights()])
    flat = tmp_path / "flat_logits.keras"
    model.save(flat)
    out = tmp_path / "out.tflite"
    proc = run_cli("quantize", flat, "-o", out, "--calibration", models["npy"])
    assert_clean_refusal(proc, "SOFTMAX", "QuantizeMultiplierGreaterThanOne", "untrained", code=1)
    assert not out.exists() and not list(tmp_path.glob("out.tflite*"))
