"""The ESP32 port (templates/ports/esp32/) on this machine: the board layer, the agent,
the applications and a generated model compiled with host gcc against small stubs of the
ESP-IDF and esp32-camera calls it makes (templates/ports/esp32/host_stubs/), then run.

What this shows: the board layer's logic (link reads and writes through the uart /
USB Serial/JTAG driver calls, the 64-bit cycle counter across CCOUNT wraps, LED
polarity, the camera configuration, frame-buffer hand-back and error mapping) and
that the whole firmware's C answers HELLO with the model's hash and INVOKE bit for
bit like TFLite Micro. What it cannot show: anything ESP-IDF itself does (no Xtensa
compiler here); the stubs are written from the documented signatures, not from
ESP-IDF's code. The project templates are rendered and checked for form only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
import serial

from conftest import EXAMPLE_MODEL, REPO, SHARED_VECTORS, shared_model
from mcugen.agent_client import AgentClient
from mcugen.boards import get_board
from mcugen.codegen.emit import template_environment
from mcugen.generate import compile_model
from mcugen.host_agent import SANITIZE_FLAGS, SANITIZER_ENV, HostAgentProcess
from mcugen.protocol import Frame, FrameParser, encode_frame
from mcugen.reference import TflmInterpreter

PORT = REPO / "templates" / "ports" / "esp32"
STUBS = PORT / "host_stubs"
HOST_LINK = REPO / "templates" / "ports" / "host"  # the socket/stdio link both host programs share
AGENT = REPO / "mcugen" / "agent"
APPS = REPO / "templates" / "apps"
CFLAGS = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-DMCUGEN_PROFILE"]
_NP = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.int32, 5: np.float32}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs host gcc")

# The generated mcugen_board_config.h for the AI-Thinker ESP32-CAM, written by hand from
# boards/esp32-cam.toml (LED 0 flash GPIO4 active high, LED 1 red GPIO33 active low).
ESP32_CAM_CONFIG = """\
#ifndef MCUGEN_BOARD_CONFIG_H
#define MCUGEN_BOARD_CONFIG_H
#include <stdint.h>
#define MCUGEN_BOARD_ID "esp32-cam"
#define MCUGEN_BOARD_CLOCK_HZ 240000000u
#define MCUGEN_BOARD_COUNTER_KIND 0
#define MCUGEN_BOARD_UART_BAUD 115200u
#define MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG 0
#define MCUGEN_ESP32_UART_NUM 0
typedef struct { char port; uint8_t pin; uint8_t active_low; } mcugen_led_pin_t;
#define MCUGEN_BOARD_LED_COUNT 2u
#define MCUGEN_BOARD_LED_FLASH 0u
#define MCUGEN_BOARD_LED_RED 1u
#define MCUGEN_BOARD_LED_PINS { {'G', 4u, 0u}, {'G', 33u, 1u} }
#define MCUGEN_BOARD_LED_NAMES { "flash", "red" }
#define MCUGEN_BOARD_HAS_CAMERA 1
#define MCUGEN_BOARD_CAMERA_HOST_FED 0
#define MCUGEN_CAMERA_WIDTH @W@u
#define MCUGEN_CAMERA_HEIGHT @H@u
#define MCUGEN_CAMERA_FORMAT @FORMAT@u
#define MCUGEN_CAMERA_FRAME_BYTES @BYTES@u
#define MCUGEN_CAMERA_XCLK_HZ 20000000
#define MCUGEN_CAMERA_FB_IN_PSRAM 1
#define MCUGEN_CAMERA_PIN_PWDN 32
#define MCUGEN_CAMERA_PIN_RESET -1
#define MCUGEN_CAMERA_PIN_XCLK 0
#define MCUGEN_CAMERA_PIN_SIOD 26
#define MCUGEN_CAMERA_PIN_SIOC 27
#define MCUGEN_CAMERA_PIN_D0 5
#define MCUGEN_CAMERA_PIN_D1 18
#define MCUGEN_CAMERA_PIN_D2 19
#define MCUGEN_CAMERA_PIN_D3 21
#define MCUGEN_CAMERA_PIN_D4 36
#define MCUGEN_CAMERA_PIN_D5 39
#define MCUGEN_CAMERA_PIN_D6 34
#define MCUGEN_CAMERA_PIN_D7 35
#define MCUGEN_CAMERA_PIN_VSYNC 25
#define MCUGEN_CAMERA_PIN_HREF 23
#define MCUGEN_CAMERA_PIN_PCLK 22
#define MCUGEN_FIRMWARE_BUILD_ID "mcugen test esp32-cam"
#endif
"""
GRAY8, RGB565, RGB888, YUV422 = 1, 2, 3, 4


def esp32_cam_config(width: int = 96, height: int = 96, fmt: int = GRAY8) -> str:
    bpp = {GRAY8: 1, RGB565: 2, YUV422: 2, RGB888: 3}[fmt]
    return (ESP32_CAM_CONFIG.replace("@W@", str(width)).replace("@H@", str(height))
            .replace("@FORMAT@", str(fmt)).replace("@BYTES@", str(width * height * bpp)))


# ---- the render context the lead's firmware writer would pass (see README.md) ----

def _board_context(board_id: str) -> dict:
    from mcugen.boards import get_board

    board = get_board(board_id)
    leds = []
    for i, led in enumerate(board.leds):
        assert led.pin.startswith("GPIO"), led.pin
        leds.append(dict(name=led.name, index=i, pin=led.pin, port="G", number=int(led.pin[4:]),
                         active_low=led.active_low))
    cam = board.camera
    camera = dict(width=96, height=96, format="GRAY8", format_code=GRAY8, frame_bytes=96 * 96) if cam else None
    return dict(version="test", board=board, counter_kind_code=0, leds=leds, camera=camera,
                camera_fb_in_psram=bool(cam and cam.facts.get("frame_buffer") == "PSRAM"),
                build_id=f"mcugen test {board_id}")


def render_config(board_id: str) -> str:
    return template_environment().get_template("ports/esp32/mcugen_board_config.h.j2").render(**_board_context(board_id))


def generated_project(board_id: str, model_path: Path = EXAMPLE_MODEL, app: str = "bench") -> dict[str, str]:
    """The project `mcugen generate --board BOARD --app APP` writes, in memory."""
    from mcugen.boards import get_board
    from mcugen.firmware import firmware_files

    files, _, _, _ = firmware_files(compile_model(model_path), model_path.name, get_board(board_id), app=app)
    return files


def build_generated(workdir: Path, files: dict[str, str]) -> Path:
    """A generated ESP32 project's C (src/ and the model library) against the host stubs."""
    for name, text in files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(text)
    sources = sorted(str(workdir / n) for n in files if n.endswith(".c"))
    exe = workdir / "esp32_project_host"
    cmd = ["gcc", *CFLAGS, *SANITIZE_FLAGS, "-I", str(workdir / "src"), "-I", str(workdir / "lib/mcugen_model/src"),
           "-I", str(STUBS / "include"), "-I", str(STUBS), "-I", str(HOST_LINK), "-o", str(exe), *sources,
           str(STUBS / "esp32_stub.c"), str(HOST_LINK / "mcugen_host_link.c"), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return exe


# ---- building ----

def build(workdir: Path, model_path: Path, app: Path, config: str, *, sanitize: bool = True,
          defines: tuple[str, ...] = (), extra_sources: tuple[Path, ...] = ()) -> Path:
    src = workdir / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    model = compile_model(model_path)
    for name, text in model.files.items():
        (src / name).write_text(text)
    for f in AGENT.iterdir():
        if f.suffix in (".c", ".h"):
            shutil.copy(f, src / f.name)
    (src / "mcugen_board_config.h").write_text(config)
    sources = sorted(str(p) for p in src.glob("*.c"))
    sources += [str(app), str(PORT / "mcugen_board_esp32.c"), str(STUBS / "esp32_stub.c"), str(HOST_LINK / "mcugen_host_link.c"),
                *map(str, extra_sources)]
    exe = workdir / "esp32_host"
    flags = CFLAGS + (SANITIZE_FLAGS if sanitize else []) + [f"-D{d}" for d in defines]
    cmd = ["gcc", *flags, "-I", str(src), "-I", str(APPS / "common"), "-I", str(STUBS / "include"),
           "-I", str(STUBS), "-I", str(HOST_LINK), "-o", str(exe), *sources, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return exe


def run_selftest(exe: Path, env: dict[str, str] | None = None) -> dict[str, int]:
    proc = subprocess.run([str(exe), "--stdio"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, **SANITIZER_ENV, **(env or {})))
    assert proc.returncode == 0, proc.stderr
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr, proc.stderr
    values = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert values.get("done") == "1", proc.stdout
    return {k: int(v) for k, v in values.items()}


@pytest.fixture(scope="module")
def shapes_agent(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("esp32_bench"), EXAMPLE_MODEL, APPS / "bench" / "mcugen_app_bench.c",
                 esp32_cam_config())


def _check_hello_and_invoke(exe: Path, model_path: Path, rounds: int = 3) -> None:
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    reference = TflmInterpreter(model_path)
    agent = HostAgentProcess(exe).start()
    try:
        port = serial.serial_for_url(agent.url, baudrate=115200, timeout=0.05)
        client = AgentClient(port, model_sha256=sha, invoke_timeout=120)
        hello = client.hello()
        assert hello.model_sha256.hex() == sha
        assert hello.board == "esp32-cam"
        assert hello.counter_name == "cycles"
        rng = np.random.default_rng(7)
        for _ in range(rounds):
            inputs = []
            for t in hello.inputs:
                dt = np.dtype(_NP[t.dtype])
                info = np.iinfo(dt)
                inputs.append(rng.integers(info.min, info.max + 1, size=t.shape, dtype=dt))
            result = client.run_inference([x.tobytes() for x in inputs])
            expected = reference.run(inputs, len(hello.outputs))
            for got, want in zip(result.outputs, expected):
                assert got == want.tobytes()
            assert result.count > 0
        profile = client.profile()
        assert len(profile) > 0 and all(c >= 0 for c in profile)
        port.close()
    finally:
        agent.stop()
    assert not agent.sanitizer_report(), agent.sanitizer_report()


def test_hello_and_invoke_match_tflite_micro(shapes_agent):
    _check_hello_and_invoke(shapes_agent, EXAMPLE_MODEL)


@pytest.mark.shared
def test_person_detect_matches_tflite_micro(tmp_path):
    model = shared_model("person_detect.tflite")
    exe = build(tmp_path, model, APPS / "bench" / "mcugen_app_bench.c", esp32_cam_config(), sanitize=False)
    _check_hello_and_invoke(exe, model, rounds=2)


def test_unsanitized_build_runs_too(tmp_path):
    exe = build(tmp_path, EXAMPLE_MODEL, APPS / "bench" / "mcugen_app_bench.c", esp32_cam_config(),
                sanitize=False)
    _check_hello_and_invoke(exe, EXAMPLE_MODEL, rounds=1)


# ---- the board layer on its own (host_stubs/esp32_selftest_app.c) ----

@pytest.fixture(scope="module")
def esp32_cam_selftest(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("esp32_selftest"), EXAMPLE_MODEL, STUBS / "esp32_selftest_app.c",
                 esp32_cam_config())


def test_link_is_uart0_with_an_rx_buffer(esp32_cam_selftest):
    v = run_selftest(esp32_cam_selftest)
    assert v["uart.port"] == 0
    assert v["uart.rx_buffer"] > 128  # larger than the hardware FIFO: bytes wait during inference
    assert v["uart.baud"] == 115200
    assert v["usj.installed"] == 0


def test_leds_reach_the_gpios_with_their_polarity(esp32_cam_selftest):
    v = run_selftest(esp32_cam_selftest)
    output = 2  # GPIO_MODE_OUTPUT
    # LED 0: flash, GPIO4, lit by driving it high.
    assert (v["led0.pin"], v["led0.mode_after_init"], v["led0.level_after_init"]) == (4, output, 0)
    assert (v["led0.level_on"], v["led0.level_off"]) == (1, 0)
    # LED 1: red, GPIO33, lit by driving it low; off (high) from the start.
    assert (v["led1.pin"], v["led1.mode_after_init"], v["led1.level_after_init"]) == (33, output, 1)
    assert (v["led1.level_on"], v["led1.level_off"]) == (0, 1)
    assert (v["led0.state_on"], v["led0.state_off"], v["led1.state_on"], v["led1.state_off"]) == (1, 0, 2, 0)
    assert v["led.extra_state"] == 4 and v["led.beyond_state"] == 0
    assert v["gpio.invalid_calls"] == 0


def test_camera_config_and_frames(esp32_cam_selftest, tmp_path):
    frame = bytes((i * 13 + 5) & 0xFF for i in range(96 * 96))
    path = tmp_path / "frame.gray"
    path.write_bytes(frame)
    v = run_selftest(esp32_cam_selftest, {"MCUGEN_ESP32_STUB_FRAME": str(path)})
    pins = dict(pwdn=32, reset=-1, xclk=0, sccb_sda=26, sccb_scl=27, d0=5, d1=18, d2=19, d3=21, d4=36, d5=39,
                d6=34, d7=35, vsync=25, href=23, pclk=22)
    for name, pin in pins.items():
        assert v[f"camera.pin_{name}"] == pin, name
    assert v["camera.start"] == 0 and v["camera.start_again"] == 0 and v["camera.inits"] == 1
    assert v["camera.xclk_freq_hz"] == 20_000_000
    assert v["camera.pixel_format"] == 3  # PIXFORMAT_GRAYSCALE
    assert v["camera.frame_size"] == 0  # FRAMESIZE_96X96
    assert (v["camera.fb_count"], v["camera.fb_location"], v["camera.grab_mode"]) == (1, 0, 0)  # 1, PSRAM, WHEN_EMPTY
    for i in range(3):
        assert v[f"capture{i}.rc"] == 0
        assert (v[f"capture{i}.width"], v[f"capture{i}.height"], v[f"capture{i}.format"]) == (96, 96, GRAY8)
        assert v[f"capture{i}.bytes"] == 96 * 96
        assert v[f"capture{i}.same_as_served"] == 1
        assert v[f"capture{i}.first_byte"] == frame[0]
    # Each capture gave the previous buffer back first; the only buffer was never asked for twice.
    assert (v["camera.gets"], v["camera.returns"], v["camera.violations"]) == (3, 2, 0)


def test_pattern_frames_are_new_each_capture(esp32_cam_selftest):
    v = run_selftest(esp32_cam_selftest)
    firsts = [v[f"capture{i}.first_byte"] for i in range(3)]
    assert firsts == [7, 14, 21]  # the stub's pattern moves with each esp_camera_fb_get


def test_counter_is_64_bit_across_ccount_wraps(esp32_cam_selftest):
    # CCOUNT starts just below 2^32, so it wraps at once and again every 17.9 s of (virtual) time.
    v = run_selftest(esp32_cam_selftest, {"MCUGEN_ESP32_STUB_CCOUNT_START": "0xFFFFFF00"})
    assert v["counter.monotonic"] == 1
    for key, seconds in (("counter.delta_20s", 20), ("counter.delta_45s", 45)):
        want = seconds * 240_000_000
        assert want <= v[key] < want + 240_000_000, (key, v[key])  # plus < 1 s of real time


@pytest.mark.parametrize("env,expected", [({"MCUGEN_ESP32_STUB_CAMERA": "absent"}, ("start", -1)),
                                          ({"MCUGEN_ESP32_STUB_CAMERA": "timeout"}, ("capture", -2))])
def test_camera_errors_map_to_the_board_api(esp32_cam_selftest, env, expected):
    v = run_selftest(esp32_cam_selftest, env)
    what, code = expected
    if what == "start":
        assert v["camera.start"] == code  # MCUGEN_CAMERA_ERR_NO_SENSOR
        assert all(v[f"capture{i}.rc"] == code for i in range(3))
    else:
        assert v["camera.start"] == 0
        assert all(v[f"capture{i}.rc"] == code for i in range(3))  # MCUGEN_CAMERA_ERR_TIMEOUT
        assert v["camera.violations"] == 0


def test_a_frame_of_the_wrong_size_is_refused(esp32_cam_selftest, tmp_path):
    path = tmp_path / "short.gray"
    path.write_bytes(bytes(96 * 96 - 1))
    v = run_selftest(esp32_cam_selftest, {"MCUGEN_ESP32_STUB_FRAME": str(path)})
    assert all(v[f"capture{i}.rc"] == -3 for i in range(3))  # MCUGEN_CAMERA_ERR_FORMAT
    assert v["camera.gets"] == v["camera.returns"] == 3 and v["camera.violations"] == 0


@pytest.mark.parametrize("width,height,fmt,frame_size,pixel_format", [
    (160, 120, RGB565, 1, 0),   # FRAMESIZE_QQVGA, PIXFORMAT_RGB565
    (320, 240, YUV422, 6, 1),   # FRAMESIZE_QVGA, PIXFORMAT_YUV422
])
def test_sizes_and_formats_map_to_esp32_camera(tmp_path, width, height, fmt, frame_size, pixel_format):
    exe = build(tmp_path, EXAMPLE_MODEL, STUBS / "esp32_selftest_app.c", esp32_cam_config(width, height, fmt))
    v = run_selftest(exe)
    assert (v["camera.frame_size"], v["camera.pixel_format"]) == (frame_size, pixel_format)
    assert (v["capture0.width"], v["capture0.height"], v["capture0.format"]) == (width, height, fmt)
    assert v["capture0.bytes"] == width * height * 2


@pytest.mark.parametrize("width,height,fmt", [(100, 100, GRAY8), (96, 96, RGB888)])
def test_unsupported_sizes_and_formats_are_refused(tmp_path, width, height, fmt):
    exe = build(tmp_path, EXAMPLE_MODEL, STUBS / "esp32_selftest_app.c", esp32_cam_config(width, height, fmt))
    v = run_selftest(exe)
    assert v["camera.start"] == -3 and v["capture0.rc"] == -3  # MCUGEN_CAMERA_ERR_FORMAT
    assert v["camera.inits"] == 0  # refused before esp_camera_init


# ---- the rendered mcugen_board_config.h, both boards ----

def test_rendered_config_matches_the_hand_written_one(tmp_path):
    text = render_config("esp32-cam")
    defines = dict(re.findall(r"^#define (MCUGEN_\w+) (.+?)(?:\s*/\*.*)?$", text, re.M))
    hand = dict(re.findall(r"^#define (MCUGEN_\w+) (.+?)(?:\s*/\*.*)?$", esp32_cam_config(), re.M))
    for key in ("MCUGEN_BOARD_LED_PINS", "MCUGEN_BOARD_LED_COUNT", "MCUGEN_BOARD_UART_BAUD", "MCUGEN_CAMERA_XCLK_HZ",
                "MCUGEN_CAMERA_FB_IN_PSRAM", "MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG", "MCUGEN_CAMERA_FORMAT"):
        assert defines[key].strip() == hand[key].strip(), key
    for key in [k for k in hand if k.startswith("MCUGEN_CAMERA_PIN_")]:
        assert defines[key].strip() == hand[key].strip(), key
    exe = build(tmp_path, EXAMPLE_MODEL, STUBS / "esp32_selftest_app.c", text)
    assert run_selftest(exe)["led1.level_after_init"] == 1


def test_esp32_s3_eye_uses_usb_serial_jtag_and_its_green_led(tmp_path):
    text = render_config("esp32-s3-eye")
    assert "#define MCUGEN_ESP32_CONSOLE_USB_SERIAL_JTAG 1" in text
    assert "{'G', 3u, 0u}" in text and "#define MCUGEN_CAMERA_PIN_PWDN -1" in text
    exe = build(tmp_path, EXAMPLE_MODEL, STUBS / "esp32_selftest_app.c", text, defines=("ESP32_STUB_TARGET_ESP32S3=1",))
    v = run_selftest(exe)
    assert v["usj.installed"] == 1 and v["uart.port"] == -1
    assert (v["led0.pin"], v["led0.level_after_init"], v["led0.level_on"], v["led0.level_off"]) == (3, 0, 1, 0)
    assert (v["camera.pin_xclk"], v["camera.pin_sccb_sda"], v["camera.pin_sccb_scl"], v["camera.pin_d0"],
            v["camera.pin_d7"], v["camera.pin_pclk"]) == (15, 4, 5, 11, 16, 13)
    assert v["camera.xclk_freq_hz"] == 16_000_000
    # The bench agent over USB Serial/JTAG.
    bench = build(tmp_path / "bench", EXAMPLE_MODEL, APPS / "bench" / "mcugen_app_bench.c", text,
                  defines=("ESP32_STUB_TARGET_ESP32S3=1",))
    agent = HostAgentProcess(bench).start()
    try:
        port = serial.serial_for_url(agent.url, baudrate=115200, timeout=0.05)
        hello = AgentClient(port).hello()
        assert hello.board == "esp32-s3-eye"
        assert hello.model_sha256.hex() == hashlib.sha256(EXAMPLE_MODEL.read_bytes()).hexdigest()
        port.close()
    finally:
        agent.stop()
    assert not agent.sanitizer_report()


# ---- the capture application over the link: frames from the camera stub to the host ----

def _request(port, parser: FrameParser, type_byte: int, seq: int, payload: bytes = b"", timeout: float = 10.0):
    import time

    port.write(encode_frame(type_byte, seq, payload))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in parser.feed(port.read(4096)):
            if isinstance(event, Frame) and event.seq == seq and event.type == (type_byte | 0x80):
                return event
    raise AssertionError(f"no reply to 0x{type_byte:02x}")


@pytest.mark.skipif(not (APPS / "capture" / "mcugen_app_capture.c").exists(), reason="no capture app")
def test_capture_app_serves_the_camera_frame(tmp_path, monkeypatch):
    frame = bytes(((i * 37) ^ (i >> 5)) & 0xFF for i in range(96 * 96))
    path = tmp_path / "frame.gray"
    path.write_bytes(frame)
    exe = build(tmp_path, EXAMPLE_MODEL, APPS / "capture" / "mcugen_app_capture.c", esp32_cam_config())
    monkeypatch.setenv("MCUGEN_ESP32_STUB_FRAME", str(path))  # HostAgentProcess passes the environment on
    agent = HostAgentProcess(exe).start()
    try:
        port = serial.serial_for_url(agent.url, baudrate=115200, timeout=0.05)
        parser = FrameParser()
        reply = _request(port, parser, 0x12, 1)  # CAPTURE
        p = reply.payload
        status, fmt = p[4], p[5]
        width, height = int.from_bytes(p[6:8], "little"), int.from_bytes(p[8:10], "little")
        nbytes, crc = int.from_bytes(p[10:14], "little"), int.from_bytes(p[14:18], "little")
        assert (status, fmt, width, height, nbytes) == (0, GRAY8, 96, 96, 96 * 96)
        assert crc == zlib.crc32(frame)
        got = bytearray()
        seq = 2
        while len(got) < nbytes:
            n = min(1000, nbytes - len(got))
            r = _request(port, parser, 0x13, seq, len(got).to_bytes(4, "little") + n.to_bytes(2, "little"))
            assert int.from_bytes(r.payload[:4], "little") == len(got)
            got += r.payload[4:]
            seq += 1
        assert bytes(got) == frame
        port.close()
    finally:
        agent.stop()
    assert not agent.sanitizer_report(), agent.sanitizer_report()


# ---- the project templates ----

@pytest.mark.parametrize("board_id", ["esp32-cam", "esp32-s3-eye"])
def test_project_templates_are_well_formed(board_id):
    files = generated_project(board_id)
    sources = sorted(n[len("src/"):] for n in files if n.startswith("src/") and n.endswith(".c"))
    assert sources == ["mcugen_agent.c", "mcugen_app_bench.c", "mcugen_board_esp32.c", "mcugen_frame.c"]
    assert "lib/mcugen_model/library.json" in files and "lib/mcugen_model/src/mcugen_model.c" in files
    top = files["CMakeLists.txt"].splitlines()
    code = [line for line in top if line and not line.startswith("#")]
    assert code == ["cmake_minimum_required(VERSION 3.16.0)", "include($ENV{IDF_PATH}/tools/cmake/project.cmake)",
                    "project(mcugen_shapes_int8)"]
    comp = "\n".join(line for line in files["src/CMakeLists.txt"].splitlines() if not line.startswith("#"))
    m = re.fullmatch(r'idf_component_register\(SRCS\s+((?:"[^"]+"\s+)+)INCLUDE_DIRS "\."\)\s*', comp)
    assert m, comp
    assert re.findall(r'"([^"]+)"', m.group(1)) == sorted(sources)
    assert comp.count("(") == comp.count(")")

    manifest = files["src/idf_component.yml"]
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is optional
        assert "espressif/esp32-camera" in manifest
    else:
        data = yaml.safe_load(manifest)
        assert data["dependencies"]["idf"] == ">=5.1"
        assert data["dependencies"]["espressif/esp32-camera"] == "^2.0.15"

    ini = files["platformio.ini"]
    assert not re.search(r"(^|[\s=])/", ini, re.M), "platformio.ini must not hold an absolute path"
    assert "symlink://" not in ini and "file://" not in ini
    entries = dict(re.findall(r"^(\S[^=\n]*?)\s*=\s*(.*)$", ini, re.M))
    assert entries["platform"] == "espressif32" and entries["framework"] == "espidf"
    assert entries["upload_protocol"] == "esptool" and entries["monitor_speed"] == "115200"
    assert entries["board_build.partitions"] == "partitions_singleapp_large.csv"
    assert f"[env:{board_id}]" in ini and "-DMCUGEN_PROFILE" in ini
    assert entries["board"] == get_board(board_id).platformio["board"]

    sdk = dict(re.findall(r"^(CONFIG_\w+)=(.*)$", files["sdkconfig.defaults"], re.M))
    assert sdk["CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240"] == "y"
    assert sdk["CONFIG_SPIRAM"] == "y"
    assert sdk["CONFIG_PARTITION_TABLE_SINGLE_APP_LARGE"] == "y"
    assert int(sdk["CONFIG_ESP_MAIN_TASK_STACK_SIZE"]) >= 8192
    assert "# CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0 is not set" in files["sdkconfig.defaults"]
    if board_id == "esp32-cam":
        assert entries["board"] == "esp32cam"
        assert sdk["CONFIG_ESPTOOLPY_FLASHSIZE_4MB"] == "y" and sdk["CONFIG_ESP_CONSOLE_UART_DEFAULT"] == "y"
        assert "CONFIG_SPIRAM_MODE_OCT" not in sdk
    else:
        assert sdk["CONFIG_ESPTOOLPY_FLASHSIZE_8MB"] == "y" and sdk["CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG"] == "y"
        assert sdk["CONFIG_SPIRAM_MODE_OCT"] == "y"
    for text in files.values():
        assert str(REPO) not in text and "/tmp" not in text


def test_project_rendering_is_deterministic():
    assert generated_project("esp32-cam") == generated_project("esp32-cam")


@pytest.mark.shared
@pytest.mark.parametrize("vector, label", [("person_96x96_i8.npy", 1), ("no_person_96x96_i8.npy", 0)])
def test_generated_person_led_project_runs_on_the_host(tmp_path, monkeypatch, vector, label):
    """`generate --board esp32-cam --app person-led` for person_detect, its C compiled against
    the stubs; the camera stub serves the shared image as a 160x120 GRAY8 frame. The RESULT
    the app sends: the right class and LED, its input tensor the host pipeline's, its
    output tflite-micro's."""
    from mcugen.camera_link import ClassResult
    from mcugen.loader import load_model
    from mcugen.preprocess import PreprocessParams, frame_from_image, frame_to_tensor
    from mcugen.protocol import crc32

    model_path = shared_model("person_detect.tflite")
    files = generated_project("esp32-cam", model_path, "person-led")
    assert "#define MCUGEN_CAMERA_FORMAT 1u" in files["src/mcugen_board_config.h"]  # GRAY8
    pixels = (np.load(SHARED_VECTORS / vector).reshape(96, 96).astype(np.int16) + 128).astype(np.uint8)
    frame = frame_from_image(pixels, "GRAY8", 160, 120)
    (tmp_path / "frame.gray").write_bytes(frame)
    exe = build_generated(tmp_path / "project", files)
    monkeypatch.setenv("MCUGEN_ESP32_STUB_FRAME", str(tmp_path / "frame.gray"))
    agent = HostAgentProcess(exe).start()
    try:
        port = serial.serial_for_url(agent.url, baudrate=115200, timeout=0.05)
        client = AgentClient(port, timeout=5.0)
        assert client.hello().board == "esp32-cam"
        event = client.wait_result(120.0)
        assert event is not None
        result = ClassResult.decode(event.payload)
        port.close()
    finally:
        agent.stop()
    assert not agent.sanitizer_report(), agent.sanitizer_report()
    tensor = load_model(model_path).input_tensors()[0]
    expected = frame_to_tensor(frame, 160, 120, "GRAY8", PreprocessParams.for_tensor(tensor))
    reference = TflmInterpreter(model_path).run([expected], 1)[0].reshape(-1)
    assert result.input_crc32 == crc32(expected.tobytes())
    assert result.output == reference.tobytes()
    # The decision follows the output: person when its score (q + 128) / 256 reaches 0.5.
    decided = 1 if (int(reference[1]) + 128) / 256 >= 0.5 else 0
    assert result.ok and result.class_index == decided
    if label == 1:  # a clear person stays one through the camera's crop and resize
        assert decided == 1
    red = get_board("esp32-cam").led("red")  # the default map: person -> the red LED (not the flash lamp)
    assert result.led_bits == ((1 << red) if decided == 1 else 0)
