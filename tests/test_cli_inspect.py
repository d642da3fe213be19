"""`mcugen inspect` and `mcugen boards` as a user runs them: a child process, real models."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLE_MODEL, INVALID_MODELS, VALID_MODELS, assert_clean_refusal, model_params, run_cli, \
    shared_model
from tflite_writer import Tensor, write_op_model

PUBLISHED_MACS = {
    "person_detect.tflite": 7.16e6,
    "kws_ref_model.tflite": 2.66e6,
    "pretrainedResnet_quant.tflite": 12.5e6,
}
# TFLite Micro's non-persistent arena on x86-64, from ../shared/models/SOURCES.md
TFLM_HEAD = {
    "person_detect.tflite": 55_296,
    "kws_ref_model.tflite": 16_000,
    "pretrainedResnet_quant.tflite": 49_152,
    "wv_quality_k_8_c_5.tflite": 27_504,
    "fomo_face_detection.tflite": 225_840,
    "micro_speech_quantized.tflite": 5_968,
}


def inspect_json(model, *extra):
    proc = run_cli("inspect", model, "--json", *extra)
    assert "Traceback" not in proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_inspect_json_on_every_shared_model(path):
    proc, report = inspect_json(path, "--board", "qemu-cm7")
    assert proc.returncode == 0, proc.stderr
    for key in ("macs", "weights_bytes", "arena_bytes", "tflm_arena_bytes", "ops", "inputs", "outputs",
                "unsupported_ops", "fits"):
        assert key in report
    assert report["fits"] is True and report["unsupported_ops"] == []
    # qemu-cm7 compiles arm-dsp kernels, whose scratch is in the arena: against the RAM
    # TFLite Micro really needs (its whole arena). The plan alone (portable kernels, no
    # scratch) is no larger than TFLite Micro's activation plan, its peer.
    assert report["kernels"] == "arm-dsp"
    assert report["arena_bytes"] <= report["tflm_arena_total_bytes"]
    _, portable = inspect_json(path, "--no-tflm")
    assert portable["kernels"] == "portable" and portable["scratch_bytes"] == 0
    assert portable["arena_bytes"] <= report["tflm_arena_bytes"]
    if path.name in TFLM_HEAD:
        assert report["tflm_arena_bytes"] == TFLM_HEAD[path.name]
    if path.name in PUBLISHED_MACS:
        assert report["macs"] == pytest.approx(PUBLISHED_MACS[path.name], rel=0.01)
    for edge in report["inputs"] + report["outputs"]:
        assert set(edge) >= {"shape", "dtype", "scale", "zero_point"}
    assert sum(report["ops"].values()) == len(report["layers"])


def test_inspect_table_shows_plan_and_tflm():
    proc = run_cli("inspect", shared_model("person_detect.tflite"), "--board", "qemu-cm7")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in ("DEPTHWISE_CONV_2D", "7,157,888", "55,296", "85,264", "fits", "scale 0.00784314"):
        assert needle in out, needle


def test_person_detect_figures_are_exact():
    _, report = inspect_json(shared_model("person_detect.tflite"))
    assert report["macs"] == 7_157_888
    assert report["inputs"][0] == {"name": "input", "shape": [1, 96, 96, 1], "dtype": "int8",
                                   "scale": pytest.approx(0.00784314, rel=1e-5), "zero_point": -1}
    assert report["ops"] == {"AVERAGE_POOL_2D": 1, "CONV_2D": 14, "DEPTHWISE_CONV_2D": 14, "RESHAPE": 1,
                             "SOFTMAX": 1}


def test_model_too_big_for_board_says_by_how_much(tmp_path):
    """A 300x400 SOFTMAX needs its input and its output whole (a row reads every
    other): 240,000 B in any plan, more than the STM32F405's SRAM."""
    model = write_op_model(tmp_path / "big_softmax.tflite", "SOFTMAX", [Tensor((1, 300, 400), "int8", 0.1, 0)],
                           [Tensor((1, 300, 400), "int8", 1.0 / 256, -128)], {"beta": 1.0})
    proc, report = inspect_json(model, "--board", "qemu-stm32f405", "--no-tflm")
    assert report["fits"] is False
    assert {r["strategy"]: r["arena_bytes"] for r in report["strategies"]} == {"fast": 240_000, "small": 240_000}
    assert report["memory"] == "small"  # auto: fast does not fit, so the smallest is reported
    short = -report["fit"]["ram_margin"]
    assert short > 0
    assert_clean_refusal(proc, "does not fit qemu-stm32f405", f"{short:,} B short", code=1)


def test_generate_refuses_what_inspect_says_does_not_fit(tmp_path):
    """The same verdict and figures as inspect, before anything is written; --no-fit-check
    writes the project anyway (issue 11)."""
    model = write_op_model(tmp_path / "big_softmax.tflite", "SOFTMAX", [Tensor((1, 300, 400), "int8", 0.1, 0)],
                           [Tensor((1, 300, 400), "int8", 1.0 / 256, -128)], {"beta": 1.0})
    _, report = inspect_json(model, "--board", "qemu-stm32f405", "--no-tflm")
    short = -report["fit"]["ram_margin"]
    out = tmp_path / "fw"
    proc = run_cli("generate", model, "--board", "qemu-stm32f405", "-o", out)
    assert_clean_refusal(proc, "does not fit qemu-stm32f405", f"{short:,} B short", "--no-fit-check", code=1)
    assert not out.exists()
    proc = run_cli("generate", model, "--board", "qemu-stm32f405", "-o", out, "--no-fit-check")
    assert proc.returncode == 0, proc.stderr
    assert (out / "platformio.ini").is_file()


def test_fomo_fits_the_stm32f405_with_the_fast_plan():
    """fomo_face_detection's 225,840 B activation plan (TFLite Micro's too) does not fit
    the F405's 176 KiB; folding its PADs into the convolutions makes the fast plan fit."""
    proc, report = inspect_json(shared_model("fomo_face_detection.tflite"), "--board", "qemu-stm32f405", "--no-tflm")
    assert proc.returncode == 0 and report["fits"] is True
    arenas = {r["strategy"]: r["arena_bytes"] for r in report["strategies"]}
    assert report["memory"] == "fast" and arenas["small"] < arenas["fast"] < 180_224
    assert any("PAD (layer 4) folded" in note for note in report["rewrites"])


@pytest.mark.parametrize("path", model_params(INVALID_MODELS))
def test_invalid_models_refused_cleanly(path):
    proc = run_cli("inspect", path)
    needle = {"custom_op_ethosu": "custom operator 'ethos-u'", "float32_vww_96": "float32 model",
              "hybrid_toycar": "hybrid model"}[path.stem]
    assert_clean_refusal(proc, needle, "int8" if "ethos" not in path.stem else "Vela")
    assert proc.stdout == ""


def test_missing_file_refused(tmp_path):
    assert_clean_refusal(run_cli("inspect", tmp_path / "nope.tflite"), "not found")


def test_not_a_tflite_file_refused(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert_clean_refusal(run_cli("inspect", bad), "not a TensorFlow Lite model")


def test_truncated_file_refused(tmp_path):
    raw = shared_model("kws_ref_model.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(raw[: len(raw) // 3])
    assert_clean_refusal(run_cli("inspect", cut), "truncated or corrupt")


def test_empty_file_refused(tmp_path):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    assert_clean_refusal(run_cli("inspect", empty), "not a TensorFlow Lite model")


def test_unknown_board_refused():
    assert_clean_refusal(run_cli("inspect", EXAMPLE_MODEL, "--board", "arduino-uno-9000"),
                         "unknown board 'arduino-uno-9000'", "qemu-cm7")


def test_example_model_inspects_without_shared():
    proc, report = inspect_json(EXAMPLE_MODEL, "--board", "qemu-stm32f405")
    assert proc.returncode == 0, proc.stderr
    assert report["fits"] is True
    assert report["inputs"][0]["dtype"] == "int8"
    assert report["arena_bytes"] <= report["tflm_arena_bytes"]


def test_version_and_help():
    proc = run_cli("--version")
    assert proc.returncode == 0 and "mcugen" in proc.stdout
    proc = run_cli("--help")
    assert proc.returncode == 0 and "inspect" in proc.stdout and "boards" in proc.stdout


def test_inspect_report_writes_markdown_and_the_layer_plot(tmp_path):
    out = tmp_path / "inspect"
    proc = run_cli("inspect", EXAMPLE_MODEL, "--board", "qemu-stm32f405", "--no-tflm", "--report", out)
    assert proc.returncode == 0, proc.stderr
    text = (out / "inspect.md").read_text()
    for needle in ("## Memory", "| fast (chosen) |", "## Fit on qemu-stm32f405", "16,384 B reserved: the main stack",
                   "| 0 | CONV_2D | [1, 32, 32, 16] | 442,368 |", "![layers.png](layers.png)"):
        assert needle in text, needle
    assert (out / "layers.png").stat().st_size > 10_000
    (tmp_path / "file").write_text("")
    assert_clean_refusal(run_cli("inspect", EXAMPLE_MODEL, "--no-tflm", "--report", tmp_path / "file" / "x"),
                         "is a file, not a folder", "--report")
