"""The main job as a user runs it, through the CLI: generate -> PlatformIO build -> QEMU -> bench,
on both emulated boards with every shared model that fits, and the project's example on the default board."""

from __future__ import annotations

import json

import pytest

from mcugen.analysis import analyze_model
from mcugen.boards import get_board
from mcugen.fit import check_fit

from conftest import EXAMPLE_MODEL, REPO, SHARED_VECTORS, VALID_MODELS, assert_clean_refusal, model_params, \
    person_image_folder, run_cli

VECTORS = {
    "person_detect": ["person_96x96_i8.npy", "no_person_96x96_i8.npy"],
    "kws_ref_model": ["kws01_sample_i8.npy"],
}


def _fits(model, board_id) -> bool:
    _, report = analyze_model(model, with_tflm=False)
    return check_fit(report.constants_bytes, report.arena_bytes, get_board(board_id)).fits


def _chain(model, board, tmp_path, *inputs, kernels="auto", memory="auto"):
    project = tmp_path / "fw"
    proc = run_cli("generate", model, "--board", board, "-o", project, "--kernels", kernels, "--memory", memory)
    assert proc.returncode == 0, proc.stderr
    if memory != "auto":
        assert json.loads((project / "mcugen.json").read_text())["memory"] == memory
    # Both emulated boards have the DSP extension: auto means arm-dsp there.
    assert json.loads((project / "mcugen.json").read_text())["kernels"] == ("arm-dsp" if kernels == "auto"
                                                                            else kernels)
    proc = run_cli("build", project, "--json")
    assert proc.returncode == 0, proc.stderr
    build = json.loads(proc.stdout)
    for region in build["regions"]:
        assert region["used"] <= region["size"]
    proc = run_cli("bench", "--model", model, "--emulate", project, "--json", "--report", tmp_path / "report",
                   *inputs, timeout=600)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# The default board only: every shared model below also runs on the second board, and this
# chain (32 images, every plot) is one of the slowest.
def test_example_model_end_to_end(tmp_path):
    report = _chain(EXAMPLE_MODEL, "qemu-cm7", tmp_path, "--data", REPO / "examples" / "shapes" / "images")
    assert report["inputs"] == 32 and report["bit_exact"] == 32
    # The model scores 29/32 on these images under TFLite Micro; far less would mean the
    # images were preprocessed wrongly (chance is 25%). Exactness is checked by bit_exact.
    assert report["accuracy"] >= 0.8
    assert report["median"] > 0 and report["latency"]["unit"] == "instructions"
    assert len(report["profile"]) == 11
    for name in ("report.json", "report.md", "latency.png", "profile.png", "confusion.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


# The portable C runs bit for bit on the host for every op and on qemu-cm7 for every
# model; the second core runs the kernels its boards use (arm-dsp). CI time is the reason.
BOARD_KERNELS = [("qemu-cm7", "portable"), ("qemu-cm7", "arm-dsp"), ("qemu-stm32f405", "arm-dsp")]
# Runs left out to keep CI under its budget, each covered elsewhere:
# - fomo_face_detection is the slowest model to run (25-39 s a chain). It runs with arm-dsp on
#   qemu-cm7 here, with the small plan on qemu-stm32f405 below, and with its detection head
#   on qemu-cm7 in tests/test_detection_heads.py.
# - The portable C of the three smallest models: their ops run portable on qemu-cm7 in the
#   larger models and bit for bit on the host (tests/test_kernels_*).
SKIPPED_RUNS = {
    ("fomo_face_detection", "qemu-cm7", "portable"), ("fomo_face_detection", "qemu-stm32f405", "arm-dsp"),
    ("hello_world_int8", "qemu-cm7", "portable"), ("micro_speech_quantized", "qemu-cm7", "portable"),
    ("kws_ref_model", "qemu-cm7", "portable"),
}
SHARED_RUNS = [pytest.param(param.values[0], board, kernels, id=f"{param.id}-{board}-{kernels}",
                            marks=param.marks)
               for param in model_params(VALID_MODELS) for board, kernels in BOARD_KERNELS
               if (param.id, board, kernels) not in SKIPPED_RUNS]


@pytest.mark.parametrize("path, board, kernels", SHARED_RUNS)
def test_shared_model_end_to_end(path, board, kernels, tmp_path):
    if not _fits(path, board):
        proc = run_cli("inspect", path, "--board", board, "--no-tflm")
        assert_clean_refusal(proc, f"does not fit {board}", code=1)
        return
    vectors = [a for v in VECTORS.get(path.stem, []) for a in ("--vectors", str(SHARED_VECTORS / v))]
    if path.stem in IMAGE_MODELS:
        folder = person_image_folder(tmp_path / "images")
        report = _chain(path, board, tmp_path, "--data", folder, kernels=kernels)
        # No pixel option given: the same accuracy on the board as tflite-micro's on the host.
        assert report["accuracy"] == _host_accuracy(path, folder) == 1.0
    else:
        report = _chain(path, board, tmp_path, *(vectors or ["--random", "4"]), kernels=kernels)
    assert report["inputs"] >= 1
    assert report["bit_exact"] == report["inputs"], report
    assert report["latency"]["min"] > 0


# Models benched on labelled images: Wake Vision takes uint8 pixels at scale 1 (0..255),
# which only the derived pixel mapping gets right (issue 11).
IMAGE_MODELS = {"wv_quality_k_8_c_5"}


def _host_accuracy(model, folder) -> float:
    import numpy as np

    from mcugen.bench_inputs import image_inputs
    from mcugen.loader import load_model
    from mcugen.reference import TflmInterpreter

    graph = load_model(model)
    inputs = image_inputs(folder, graph.input_tensors(), graph.output_tensors())
    with TflmInterpreter(model) as reference:
        right = [int(np.argmax(reference.run(s.arrays, 1)[0])) == s.label for s in inputs.sets]
    return sum(right) / len(right)


@pytest.mark.parametrize("path", model_params(VALID_MODELS))
def test_shared_model_small_memory_plan_end_to_end(path, tmp_path):
    """The small plan (strips, the patch stage, line buffers) on the board, bit for bit: on the
    STM32F405, the board with the least RAM, where auto takes it (the plan's C is the same for
    every board; the host runs it with both kernel variants, tests/test_memory_strategies.py)."""
    board = "qemu-stm32f405"
    vectors = [a for v in VECTORS.get(path.stem, []) for a in ("--vectors", str(SHARED_VECTORS / v))]
    report = _chain(path, board, tmp_path, *(vectors or ["--random", "2"]), memory="small")
    assert report["inputs"] >= 1 and report["bit_exact"] == report["inputs"], report
    # every layer's instructions are counted once, strips and moves included
    assert sum(layer["count"] for layer in report["profile"]) <= report["latency"]["min"]


def test_bench_refuses_firmware_for_another_model(tmp_path):
    project = tmp_path / "fw"
    assert run_cli("generate", EXAMPLE_MODEL, "-o", project).returncode == 0
    assert run_cli("build", project).returncode == 0
    other = REPO / "tests" / "models" / "ops" / "fc_37to11_bias_relu.tflite"
    proc = run_cli("bench", "--model", other, "--emulate", project, "--random", "1")
    assert_clean_refusal(proc, "another model")


def test_ctrl_c_stops_qemu_and_keeps_the_partial_report(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    project = tmp_path / "fw"
    assert run_cli("generate", EXAMPLE_MODEL, "-o", project).returncode == 0
    assert run_cli("build", project).returncode == 0
    report_dir = tmp_path / "report"
    # A child whose SIGINT is not ignored (a shell's background jobs ignore it).
    proc = subprocess.Popen([sys.executable, "-m", "mcugen", "bench", "--model", str(EXAMPLE_MODEL), "--random", "5000",
                             "--emulate", str(project), "--report", str(report_dir)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    elf = str(project / ".pio")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until QEMU runs the firmware
        qemus = subprocess.run(["pgrep", "-f", elf], capture_output=True, text=True).stdout.split()
        if qemus:
            break
        time.sleep(0.2)
    assert qemus, "QEMU never started"
    time.sleep(3)  # some inferences done
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted after" in err
    report = json.loads((report_dir / "report.json").read_text())
    assert report["interrupted"] is True and 0 < report["inputs"] < 5000
    assert report["bit_exact"] == report["inputs"]
    assert "Partial report" in (report_dir / "report.md").read_text()
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", elf], capture_output=True).returncode == 1, "QEMU left running"
    # `mcugen emulate` stops QEMU on Ctrl-C and exits 130 as README says.
    proc = subprocess.Popen([sys.executable, "-m", "mcugen", "emulate", str(project)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not subprocess.run(["pgrep", "-f", elf], capture_output=True).stdout:
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "stopping QEMU" in out
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", elf], capture_output=True).returncode == 1, "QEMU left running"


def test_ctrl_c_during_build_stops_platformio_and_the_compilers(tmp_path):
    """SIGINT to mcugen alone (not its process group) must still stop pio, SCons and gcc."""
    import signal
    import subprocess
    import sys
    import time

    project = tmp_path / "fw"
    assert run_cli("generate", shared_model_or_example(), "-o", project).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "mcugen", "build", str(project)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    compiling = False
    while time.monotonic() < deadline and proc.poll() is None:  # until a compiler works on the project
        found = subprocess.run(["pgrep", "-f", f"(scons|gcc|cc1).*{project}"], capture_output=True,
                               text=True).stdout.split()
        if found:
            compiling = True
            break
        time.sleep(0.05)
    if not compiling:
        proc.kill()
        pytest.skip("the build finished before a compiler could be seen")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    # Right away: a compiler left behind would still be busy with the model's big C file.
    left = subprocess.run(["pgrep", "-af", str(project)], capture_output=True, text=True).stdout
    assert left == "", f"still running: {left}"
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def shared_model_or_example():
    """The biggest model at hand (the longest build), or the example."""
    return next((p for p in VALID_MODELS if p.stem == "person_detect"), EXAMPLE_MODEL)
