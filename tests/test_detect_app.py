"""The detect-led app: a detector's boxes light an LED on the board and go out on the serial
link. The synthetic FOMO model (tests/fomo_synthetic.py) generated with --detect fomo for
qemu-cm7, built, fed images by the host in QEMU (`mcugen feed`): each frame's boxes equal
mcugen.detection.decode of the device's raw output and of tflite-micro's, and the LED is on
exactly when a box reaches the threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import assert_clean_refusal, run_cli

import fomo_synthetic

THRESHOLD = 0.9


@pytest.fixture(scope="module")
def fomo(tmp_path_factory):
    return fomo_synthetic.session_files(tmp_path_factory)


def test_detect_led_refuses_a_model_without_a_head_and_a_target_it_does_not_have(fomo, tmp_path):
    model, _ = fomo
    out = tmp_path / "fw"
    r = run_cli("generate", model, "--app", "detect-led", "-o", out)  # --detect auto: no SSD op, no head
    assert_clean_refusal(r, "detect-led", "no detection head", "--detect")
    assert not out.exists()
    r = run_cli("generate", model, "--app", "detect-led", "--detect", "fomo", "--set", "labels=square",
                "--set", "target=face", "-o", out)
    assert_clean_refusal(r, "target 'face' is not one of the labels square")
    assert not out.exists()


def test_feed_a_detector_boxes_and_led_from_the_emulated_board(fomo, tmp_path):
    model, data = fomo
    project = tmp_path / "fw"
    r = run_cli("generate", model, "--board", "qemu-cm7", "--app", "detect-led", "--detect", "fomo",
                "--set", "labels=square", "--set", f"threshold={THRESHOLD}", "-o", project)
    assert r.returncode == 0, r.stderr
    config = (project / "src" / "mcugen_app_config.h").read_text()
    assert "MCUGEN_APP_TARGET_CLASS 0u" in config and '"square"' in config
    # The images as input tensors (48 x 48, 2 KB a frame rather than a 19 KB camera frame: the
    # emulated UART is slow); feed sends each as pixels of the input's size, so the camera path
    # and pre-processing still run, their resize an identity. img000 has no objects.
    from mcugen.bench_inputs import quantize_image
    from mcugen.loader import load_model
    from mcugen.preprocess import PreprocessParams

    params = PreprocessParams.for_tensor(load_model(model).input_tensors()[0], None, None)
    vectors = tmp_path / "frames.npy"
    np.save(vectors, np.concatenate([quantize_image(data / "images" / f"img{i:03d}.png", params) for i in range(4)]))
    r = run_cli("feed", "--emulate", project, "--vectors", vectors, "--model", model, "--json", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    frames = json.loads(r.stdout)
    assert [f["source"] for f in frames] == [f"frames.npy[{i}]" for i in range(4)]
    for f in frames:
        assert f["status"] == "ok" and f["preprocess_bit_exact"] and f["reference_bit_exact"], f
        # The C decoder's boxes, bit for bit, against the Python mirror on both outputs.
        assert f["boxes_exact"] is True and f["reference_boxes_exact"] is True, f
        seen = any(b["score"] >= THRESHOLD for b in f["boxes"])
        assert f["leds_on"] == (["red"] if seen else []), f  # the target's default LED: the board's first
        assert (f["label"] == "square") == seen
        assert all(0 <= b["x"] <= 1 and 0 < b["w"] <= 1 and b["class_id"] == 0 for b in f["boxes"])
    assert frames[0]["boxes"] == [] and frames[0]["leds_on"] == []
    assert sum(len(f["boxes"]) for f in frames) >= 3  # objects seen, so the LED was lit at least once
