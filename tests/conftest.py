"""Shared fixtures. Third-party models live in ../shared (CI and developers have it,
users do not): tests that need it skip with a visible reason when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MCUGEN_SHARED", REPO.parent / "shared"))
SHARED_MODELS = SHARED / "models"
SHARED_VECTORS = SHARED / "vectors"
EXAMPLE_MODEL = REPO / "examples" / "shapes" / "shapes_int8.tflite"

VALID_MODELS = sorted(SHARED_MODELS.glob("*.tflite")) if SHARED_MODELS.is_dir() else []
INVALID_MODELS = sorted((SHARED_MODELS / "invalid").glob("*.tflite")) if SHARED_MODELS.is_dir() else []

# Every kernel variant passes the same bit-exactness tests; arm-dsp runs on the host
# through mcugen_simd.h's portable C (tests/test_simd.py ties that to the instructions).
KERNEL_VARIANTS = ("portable", "arm-dsp")


@pytest.fixture(params=KERNEL_VARIANTS)
def kernels(request) -> str:
    """The kernel variant a bit-exactness test compiles for."""
    return request.param


needs_shared = pytest.mark.skipif(
    not SHARED_MODELS.is_dir(), reason=f"../shared not found at {SHARED} (third-party test models; CI has it)"
)


@pytest.fixture(scope="session", autouse=True)
def private_pio_home(tmp_path_factory):
    """The whole session (and every CLI child it starts) builds in a PlatformIO home of its own,
    never the user's ~/.cache/mcugen/platformio. MCUGEN_TEST_PIO_HOME reuses a folder across runs."""
    home = os.environ.get("MCUGEN_TEST_PIO_HOME") or str(tmp_path_factory.mktemp("mcugen-pio-home"))
    saved = os.environ.get("MCUGEN_PIO_HOME")
    os.environ["MCUGEN_PIO_HOME"] = home
    yield Path(home)
    if saved is None:
        os.environ.pop("MCUGEN_PIO_HOME", None)
    else:
        os.environ["MCUGEN_PIO_HOME"] = saved


def shared_model(name: str) -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"../shared not found at {SHARED} (third-party test models; CI has it)")
    return SHARED_MODELS / name


def model_params(paths: list[Path]) -> list:
    """Parametrize over shared models, or one visible skip when ../shared is absent."""
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"../shared not found at {SHARED}"))]
    return [pytest.param(p, id=p.stem) for p in paths]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process, as a user would."""
    return subprocess.run([sys.executable, "-m", "mcugen", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def assert_clean_refusal(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> None:
    """One error line on stderr naming the problem, the expected exit code, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mcugen: error:"), lines[0]
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


def person_image_folder(folder: Path) -> Path:
    """The shared person and no-person vectors (96x96 int8 grayscale) as a labelled folder of
    PNG images, as `bench --data` takes one (skips visibly without ../shared)."""
    import numpy as np
    from PIL import Image

    shared_model("person_detect.tflite")
    for name, vector in (("person", "person_96x96_i8.npy"), ("no_person", "no_person_96x96_i8.npy")):
        (folder / name).mkdir(parents=True, exist_ok=True)
        pixels = np.load(SHARED_VECTORS / vector).reshape(96, 96).astype(np.int16) + 128
        Image.fromarray(pixels.astype(np.uint8)).save(folder / name / f"{name}.png")
    (folder / "labels.txt").write_text("no_person\nperson\n")
    return folder


SSD_MAX_DETECTIONS = 5


@pytest.fixture(scope="session")
def ssd_models(tmp_path_factory) -> dict[str, Path]:
    """The test SSD detector (tests/ssd_model.py) in both NMS modes, built once per session
    in one TensorFlow child process: tests/test_detection_postprocess.py (the op) and
    tests/test_detection_heads.py (its boxes) share it."""
    pytest.importorskip("tensorflow")
    from ssd_model import build_ssd_models

    folder = tmp_path_factory.mktemp("ssd")
    specs = {folder / "ssd_fast.tflite": dict(max_detections=SSD_MAX_DETECTIONS),
             folder / "ssd_regular.tflite": dict(max_detections=SSD_MAX_DETECTIONS, use_regular_nms=True)}
    fast, regular = build_ssd_models(specs)
    return {"fast": fast, "regular": regular}
