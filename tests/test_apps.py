"""Applications end to end: person-led fed by the host on the emulated boards, capture,
flash, and the real boards' projects built for their MCU and fitted.

Real parts throughout: the generated firmware built with PlatformIO and arm-none-eabi-gcc,
QEMU running it, pyserial on its TCP serial port, tflite-micro as the reference.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from mcugen.apps import AppError, get_app, list_apps, parse_settings
from mcugen.boards import get_board, list_boards
from mcugen.build import build_project
from mcugen.detection import DetectRequest
from mcugen.firmware import generate_firmware_project
from mcugen.flash import FlashError, find_port

from conftest import EXAMPLE_MODEL, SHARED_MODELS, SHARED_VECTORS

MCUGEN = [sys.executable, "-m", "mcugen"]
PERSON = SHARED_MODELS / "person_detect.tflite"
WAKE_VISION = SHARED_MODELS / "wv_quality_k_8_c_5.tflite"


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*MCUGEN, *args], capture_output=True, text=True, timeout=timeout)


def test_apps_are_data():
    apps = {a.id: a for a in list_apps()}
    assert {"bench", "person-led", "capture", "mlperf-tiny"} <= set(apps)
    person = apps["person-led"]
    assert person.requires == ("camera",) and person.options["threshold"].default == 0.5
    assert parse_settings(person, ["threshold=0.7", "leds=person=green"]) == {
        "threshold": 0.7, "leds": {"person": "green"}}
    for bad, words in ((["threshold=high"], "needs a number"), (["nope=1"], "has no option"),
                       (["threshold"], "KEY=VALUE"), (["pixel_range=2-3"], "must be one of")):
        with pytest.raises(AppError, match=words):
            parse_settings(person, bad)
    with pytest.raises(AppError, match="unknown app"):
        get_app("common")


def test_every_board_says_which_apps_it_builds_and_how_far_each_is_verified():
    out = run("boards", "--json")
    assert out.returncode == 0, out.stderr
    boards = {b["id"]: b for b in json.loads(out.stdout)}
    assert boards["openmv-h7"]["apps"]["person-led"] == "compiled"
    assert boards["qemu-cm7"]["apps"]["person-led"] == "emulated"
    assert boards["esp32-cam"]["apps"]["bench"] == "host" and boards["esp32-cam"]["apps"]["mlperf-tiny"] == "described"
    text = run("boards").stdout
    assert "person-led" in text and "compiled" in text


def test_app_refusals_are_one_line_before_anything_is_written(tmp_path):
    out = tmp_path / "fw"
    r = run("generate", str(EXAMPLE_MODEL), "--app", "person-led", "--set", "leds=circle=purple", "-o", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "labels" in r.stderr or "LED" in r.stderr or "leds" in r.stderr
    assert not out.exists()
    r = run("generate", str(EXAMPLE_MODEL), "--app", "no-such-app", "-o", str(out))
    assert r.returncode == 2 and "unknown app" in r.stderr and not out.exists()


# ---- person-led's pre-processing settings, on the host: generated C against the Python mirror ----

_PREPROCESS_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>

#include "mcugen_app_config.h"

/* argv: frame file, width, height, MCUGEN_PIXEL_* format, tensor bytes; the tensor on stdout. */
int main(int argc, char **argv)
{
    static uint8_t data[3u * 640u * 480u], tensor[4u * 3u * 96u * 96u];
    mcugen_camera_frame_t frame;
    uint32_t tensor_bytes;
    FILE *in;
    int status;
    if (argc != 6 || (in = fopen(argv[1], "rb")) == NULL) return 2;
    frame.bytes = (uint32_t)fread(data, 1u, sizeof data, in);
    fclose(in);
    frame.data = data;
    frame.width = (uint16_t)atoi(argv[2]);
    frame.height = (uint16_t)atoi(argv[3]);
    frame.format = (uint8_t)atoi(argv[4]);
    tensor_bytes = (uint32_t)atoi(argv[5]);
    status = mcugen_preprocess(&frame, &mcugen_app_preprocess, tensor, tensor_bytes);
    if (status != MCUGEN_PREPROCESS_OK) return 10 - status;
    fwrite(tensor, 1u, tensor_bytes, stdout);
    (void)mcugen_app_labels;
    (void)mcugen_app_led_of_class;
    return 0;
}
"""


def _device_preprocessing(project, tmp_path):
    """The project's own mcugen_app_config.h and mcugen_preprocess.c, built for the host."""
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not found")
    tmp_path.mkdir(parents=True, exist_ok=True)
    main = tmp_path / "preprocess_main.c"
    main.write_text(_PREPROCESS_MAIN)
    exe = tmp_path / "preprocess"
    proc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{project / 'src'}",
                           f"-I{project / 'lib/mcugen_board/src'}", str(project / "src/mcugen_preprocess.c"),
                           str(main), "-o", str(exe)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

    def run_frame(frame: bytes, width: int, height: int, fmt, tensor_bytes: int) -> bytes:
        (tmp_path / "frame.bin").write_bytes(frame)
        out = subprocess.run([str(exe), str(tmp_path / "frame.bin"), str(width), str(height), str(int(fmt)),
                              str(tensor_bytes)], capture_output=True, timeout=60)
        assert out.returncode == 0, out.returncode
        return out.stdout

    return run_frame


def test_person_led_preprocessing_settings_reach_the_device_code(tmp_path):
    """--set resize, channels, mean and std: recorded in mcugen.json, rendered into the app's
    config, and the device's C then computes exactly the Python mirror's tensor for them (and a
    different one than the defaults)."""
    from mcugen.app_config import preprocess_options
    from mcugen.loader import load_model
    from mcugen.preprocess import PixelFormat, PreprocessOptions, PreprocessParams, frame_to_tensor, render_c_params

    settings = ["resize=stretch", "channels=bgr", "mean=0.485,0.456,0.406", "std=0.229,0.224,0.225"]
    project = tmp_path / "fw"
    generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", project, app="person-led", settings=settings)
    meta = json.loads((project / "mcugen.json").read_text())
    chosen = preprocess_options(meta["app_options"])
    assert chosen == PreprocessOptions((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "bgr", False, "stretch")
    tensor = load_model(EXAMPLE_MODEL).input_tensors()[0]
    params = PreprocessParams.for_tensor(tensor, tuple(meta["pixel_range"]), chosen)
    config = (project / "src/mcugen_app_config.h").read_text()
    assert render_c_params(params, "mcugen_app_preprocess") in config
    assert ".resize = MCUGEN_PREPROCESS_RESIZE_STRETCH," in config and ".lut_per_channel = 1u," in config

    default = tmp_path / "default"
    generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", default, app="person-led")
    plain_range = tuple(json.loads((default / "mcugen.json").read_text())["pixel_range"])
    plain = PreprocessParams.for_tensor(tensor, plain_range)
    assert plain_range == tuple(meta["pixel_range"]) and preprocess_options({}).is_default
    assert render_c_params(plain, "mcugen_app_preprocess") in (default / "src/mcugen_app_config.h").read_text()

    rng = np.random.default_rng(31)
    frame = rng.integers(0, 256, 64 * 40 * 3, dtype=np.uint8).tobytes()  # RGB888, 64 x 40: not square
    device = _device_preprocessing(project, tmp_path / "set")(frame, 64, 40, PixelFormat.RGB888, params.tensor_bytes)
    assert device == frame_to_tensor(frame, 64, 40, PixelFormat.RGB888, params).tobytes()
    before = _device_preprocessing(default, tmp_path / "default_exe")(frame, 64, 40, PixelFormat.RGB888,
                                                                        plain.tensor_bytes)
    assert before == frame_to_tensor(frame, 64, 40, PixelFormat.RGB888, plain).tobytes() != device


def test_person_led_preprocessing_refusals(tmp_path):
    from mcugen.errors import McugenError

    out = tmp_path / "fw"
    for settings, words in (
            (["mean=0.5,0.5"], "option mean gives 2 values (0.5,0.5) but input"),
            (["std=1,0,1"], "option std is 0 for G"),
            (["channels=bgr", "grayscale=yes"], "--set channels=bgr and --set grayscale=yes contradict"),
            (["resize=fit"], "option resize must be one of crop, stretch")):
        with pytest.raises(McugenError, match=re.escape(words)):
            generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", out, app="person-led", settings=settings)
        assert not out.exists()
    if PERSON.is_file():  # a 1-channel model has no colours to order: one line, exit 2, nothing written
        r = run("generate", str(PERSON), "--app", "person-led", "--set", "channels=bgr", "-o", str(out))
        assert r.returncode == 2 and "Traceback" not in r.stderr and not out.exists()
        assert "--set channels=bgr orders colour channels, but input 'input' has 1 channel" in r.stderr
        assert "(leave out --set channels)" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_find_port_by_usb_id():
    board = get_board("disco-f746ng")  # ST-LINK VCP 0483:374b
    stlink = SimpleNamespace(device="/dev/ttyACM0", vid=0x0483, pid=0x374B)
    other = SimpleNamespace(device="/dev/ttyUSB0", vid=0x1A86, pid=0x7523)
    bare = SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None)
    assert find_port(board, [bare, other, stlink]) == "/dev/ttyACM0"
    with pytest.raises(FlashError, match="no serial port with USB id 0483:374b"):
        find_port(board, [bare, other])
    with pytest.raises(FlashError, match="several serial ports"):
        find_port(board, [stlink, SimpleNamespace(device="/dev/ttyACM1", vid=0x0483, pid=0x374B)])


# ---- the emulated board: the whole app loop ----------------------------------------------------


EMULATED = [b.id for b in list_boards() if b.emulated]


@pytest.fixture(scope="module", params=EMULATED)
def person_project(request, tmp_path_factory):
    if not PERSON.is_file():
        pytest.skip(f"needs ../shared: {PERSON} not found")
    project = tmp_path_factory.mktemp(f"person-{request.param}") / "fw"
    generate_firmware_project(PERSON, request.param, project, app="person-led")
    build_project(project)
    return project


@pytest.mark.shared
def test_feed_vectors_lights_green_for_a_person_and_red_for_none(person_project):
    r = run("feed", "--emulate", str(person_project), "--vectors", str(SHARED_VECTORS / "person_96x96_i8.npy"),
            "--vectors", str(SHARED_VECTORS / "no_person_96x96_i8.npy"), "--model", str(PERSON), "--json")
    assert r.returncode == 0, r.stderr
    person, nobody = json.loads(r.stdout)
    assert person["label"] == "person" and person["leds_on"] == ["green"]
    assert nobody["label"] == "no_person" and nobody["leds_on"] == ["red"]
    for one in (person, nobody):
        assert one["preprocess_bit_exact"] and one["reference_bit_exact"] and one["invoke_count"] > 1_000_000


@pytest.mark.shared
def test_feed_images_through_the_camera_path(person_project, tmp_path):
    """PNG images -> RGB565 frames at the camera's 160x120 -> the device's crop, resize,
    gray and quantize; its input tensor equals the host pipeline's bit for bit."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for name in ("person", "no_person"):
        pixels = (np.load(SHARED_VECTORS / f"{name}_96x96_i8.npy").reshape(96, 96).astype(np.int16) + 128)
        Image.fromarray(pixels.astype(np.uint8), "L").resize((160, 120)).save(images / f"{name}.png")
    r = run("feed", "--emulate", str(person_project), "--images", str(images), "--model", str(PERSON), "--json")
    assert r.returncode == 0, r.stderr
    results = {x["source"]: x for x in json.loads(r.stdout)}
    assert set(results) == {"person.png", "no_person.png"}
    assert all(x["preprocess_bit_exact"] and x["reference_bit_exact"] for x in results.values())
    assert results["person.png"]["label"] == "person" and results["person.png"]["leds_on"] == ["green"]


@pytest.mark.shared
def test_flash_boots_the_emulated_board_and_checks_the_model(person_project, tmp_path):
    r = run("flash", str(person_project))
    try:
        assert r.returncode == 0, r.stderr
        assert "runs mcugen-" in r.stdout and "matches" in r.stdout
        url = r.stdout.split(" on ", 1)[1].split(" runs ", 1)[0]
        # Another project's firmware check against this board: the wrong firmware answers.
        other = tmp_path / "other"
        generate_firmware_project(EXAMPLE_MODEL, "qemu-cm7", other)
        wrong = run("flash", str(other), "--port", url, "--no-upload", "--wait", "5")
        assert wrong.returncode == 2 and "another model" in wrong.stderr and "Traceback" not in wrong.stderr
        # And a port with nothing behind it.
        r2 = run("flash", str(other), "--port", "socket://127.0.0.1:9", "--no-upload", "--wait", "2")
        assert r2.returncode == 3 and "no HELLO" in r2.stderr
    finally:
        run("flash", str(person_project), "--stop")


def test_flash_a_real_board_uploads_by_its_protocol_then_waits_for_hello(tmp_path):
    """The STM32 Discovery's stlink upload, with a stand-in st-flash where the ST-LINK would be;
    nothing answers on the port afterwards, and flash says so in one line."""
    tools = tmp_path / "bin"
    tools.mkdir()
    record = tmp_path / "st-flash.args"
    (tools / "st-flash").write_text(f'#!/bin/sh\necho "$@" > "{record}"\n')
    (tools / "st-flash").chmod(0o755)
    project = tmp_path / "disco"
    generate_firmware_project(EXAMPLE_MODEL, "disco-f746ng", project)
    env = dict(os.environ, PATH=f"{tools}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run([*MCUGEN, "flash", str(project), "--port", "socket://127.0.0.1:9", "--wait", "2"],
                       capture_output=True, text=True, timeout=600, env=env)
    args = record.read_text().split()
    assert args[:2] == ["--reset", "write"] and args[2].endswith("firmware.bin") and args[3] == "0x08000000"
    assert r.returncode == 3 and "no HELLO" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("board_id", EMULATED)
def test_capture_saves_pngs_in_the_data_layout(tmp_path, board_id):
    from PIL import Image

    project = tmp_path / "cap"
    generate_firmware_project(EXAMPLE_MODEL, board_id, project, app="capture")
    r = run("capture", "--emulate", str(project), "-o", str(tmp_path / "data"), "--count", "2", "--label", "bars")
    assert r.returncode == 0, r.stderr
    first, second = sorted((tmp_path / "data" / "bars").glob("*.png"))
    a, b = np.asarray(Image.open(first)), np.asarray(Image.open(second))
    assert a.shape == (120, 160, 3)
    assert tuple(a[60, 2]) == (255, 255, 255) and tuple(a[60, 157]) == (0, 0, 0)  # first and last colour bar
    assert not np.array_equal(a, b)  # the square moved


# ---- the real boards: built for their MCU, fitted, portable --------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("board_id", ["openmv-h7", "disco-f746ng"])
@pytest.mark.parametrize("model", ["person_detect.tflite", "wv_quality_k_8_c_5.tflite"])
@pytest.mark.parametrize("app", ["person-led", "bench"])
def test_real_camera_boards_build_and_fit(tmp_path, board_id, model, app):
    project = tmp_path / "fw"
    generate_firmware_project(SHARED_MODELS / model, board_id, project, app=app)
    ini = (project / "platformio.ini").read_text()
    assert "platform = ststm32\n" in ini and "symlink://" not in ini and str(tmp_path) not in ini
    values = [line.split("=", 1)[1].strip() for line in ini.splitlines() if "=" in line]
    assert not [v for v in values if v.startswith(("/", "~")) or "://" in v]  # nothing machine-specific
    report = build_project(project)
    board = get_board(board_id)
    assert report.region(board.flash_region).used <= report.region(board.flash_region).size
    assert report.arena.region == board.arena_region
    frame = report.sections.get(".mcugen_frame")
    if app == "person-led":  # the camera's DMA buffer, where the board file says, whole
        meta = json.loads((project / "mcugen.json").read_text())
        region = board.region(board.camera.frame_region)
        assert frame and frame[1] >= meta["camera"]["frame_bytes"]
        assert region.origin <= frame[0] and frame[0] + frame[1] <= region.origin + region.size
    else:  # bench never captures: the linker dropped the camera driver and its buffer
        assert frame is None


def _claims(level: str) -> list[tuple[str, str]]:
    return sorted((b.id, app) for b in list_boards() for app, lvl in b.verified.items() if lvl == level)


def test_every_claim_in_the_board_files_has_its_test():
    """`mcugen boards` says what is verified; each claim is one of these tests' cases."""
    emulated = {(board, app) for board in EMULATED for app in ("bench", "person-led", "capture", "mlperf-tiny")}
    emulated.add(("qemu-cm7", "detect-led"))  # tests/test_detect_app.py
    assert set(_claims("emulated")) <= emulated  # end_to_end (bench), feed, capture, test_app_mlperf
    assert not _claims("hardware")  # nothing has run on a real board
    host = {(b, a) for b in ("esp32-cam", "esp32-s3-eye") for a in ("bench", "person-led", "capture")}
    assert set(_claims("host")) <= host  # tests/test_esp32_host.py


@pytest.mark.shared
@pytest.mark.parametrize("board_id, app", _claims("compiled"))
def test_every_compiled_claim_builds_and_fits(tmp_path, board_id, app):
    project = tmp_path / "fw"
    if app == "detect-led":  # a detector's app: the FOMO face detector with its head
        generate_firmware_project(SHARED_MODELS / "fomo_face_detection.tflite", board_id, project, app=app,
                                  detect=DetectRequest("fomo"))
    else:
        generate_firmware_project(PERSON, board_id, project, app=app)
    report = build_project(project)
    assert report.elf.is_file() and report.arena.region == get_board(board_id).arena_region


@pytest.mark.shared
def test_a_real_board_can_take_its_frames_from_the_host(tmp_path):
    """--set camera=host: `mcugen feed` can check a real board's pre-processing and model."""
    project = tmp_path / "fw"
    generate_firmware_project(PERSON, "openmv-h7", project, app="person-led", settings=["camera=host"])
    config = (project / "lib/mcugen_board/src/mcugen_board_config.h").read_text()
    assert "#define MCUGEN_BOARD_CAMERA_HOST_FED 1" in config
    assert json.loads((project / "mcugen.json").read_text())["camera"]["host_fed"]
    build_project(project)  # the sensor driver compiles away, the host-fed camera links
    sensor = tmp_path / "sensor"
    generate_firmware_project(PERSON, "openmv-h7", sensor, app="person-led")
    r = run("feed", "--port", "socket://127.0.0.1:9", "--project", str(sensor), "--images", str(tmp_path))
    assert r.returncode == 2 and "camera=host" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(AppError, match="no camera sensor"):
        generate_firmware_project(PERSON, "qemu-cm7", tmp_path / "q", app="person-led", settings=["camera=sensor"])


@pytest.mark.shared
def test_a_moved_project_still_builds(tmp_path):
    project = tmp_path / "fw"
    generate_firmware_project(PERSON, "openmv-h7", project, app="person-led")
    moved = tmp_path / "somewhere else" / "copy"
    moved.parent.mkdir()
    shutil.copytree(project, moved, ignore=shutil.ignore_patterns(".pio"))
    shutil.rmtree(project)
    report = build_project(moved)
    assert report.elf.is_file() and str(moved) in str(report.elf)
    # The image starts at OpenMV's firmware partition, where its bootloader jumps.
    assert report.sections[".vectors"][0] == 0x0804_0000


@pytest.mark.shared
def test_feed_checks_a_project_with_its_own_preprocessing_settings(tmp_path):
    """A colour model generated with bgr order, per-channel mean/std and stretch: feed
    rebuilds the host pipeline from the project's recorded settings, so the device's
    tensor and the host's agree byte for byte, for images and for vectors."""
    from PIL import Image

    model = SHARED_MODELS / "wv_quality_k_8_c_5.tflite"
    if not model.is_file():
        pytest.skip(f"needs ../shared: {model} not found")
    project = tmp_path / "fw"
    generate_firmware_project(model, "qemu-cm7", project, app="person-led",
                              settings=["channels=bgr", "mean=100,110,120", "std=50,60,70", "resize=stretch"])
    build_project(project)
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8), "RGB").save(images / f"{name}.png")
    r = run("feed", "--emulate", str(project), "--images", str(images), "--model", str(model), "--json")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    assert len(results) == 2 and all(x["preprocess_bit_exact"] and x["reference_bit_exact"] for x in results)
    vectors = tmp_path / "v.npy"
    np.save(vectors, rng.integers(0, 256, size=(1, 50, 50, 3), dtype=np.uint8))
    r = run("feed", "--emulate", str(project), "--vectors", str(vectors), "--model", str(model), "--json")
    assert r.returncode == 0, r.stderr
    assert all(x["preprocess_bit_exact"] and x["reference_bit_exact"] for x in json.loads(r.stdout))
