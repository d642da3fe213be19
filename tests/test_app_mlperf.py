"""The mlperf-tiny application: the MLPerf Tiny (EEMBC runner) device under test.

The app is built natively with the host board port (like mcugen/host_agent.py
builds the bench app) and driven with the runner's own command sequence and line
rules (mlcommons/tiny benchmark/runner: device_under_test.py, serial_device.py,
script.py): commands end with '%', replies are lines split at '\\n' with '\\r'
dropped, each reply ends at the line holding 'm-ready'; `db` carries 31 bytes in
hex. Results must equal TFLite Micro's output for the same input, dequantized and
formatted as the reference submissions print them (printf "%0.3f").

The last test runs the same session on the emulated Cortex-M7 once
`mcugen generate --app` exists.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import jinja2
import numpy as np
import pytest
import serial

from mcugen import __version__
from mcugen.agent_client import AgentClient
from mcugen.apps import get_app
from mcugen.boards import get_board
from mcugen.emulator import Emulator
from mcugen.generate import compile_model
from mcugen.host_agent import (HOST_BOARD_ID, HOST_CLOCK_HZ, SANITIZE_FLAGS, HostAgentProcess,
                               host_agent_sources)
from mcugen.protocol import Command, Frame, FrameParser, Hello, encode_frame, wire_type
from mcugen.reference import TflmInterpreter
from mcugen.resources import templates_dir

from conftest import EXAMPLE_MODEL, REPO, SHARED_MODELS, SHARED_VECTORS, run_cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_ID = "mlperf-tiny"
APP_DIR = templates_dir() / "apps" / APP_ID
APP_MAIN = "mcugen_app_mlperf.c"
RUNNER_DB_BYTES = 31  # device_under_test.py: _max_bytes without a power manager
BOOT_TYPE = wire_type(Command.BOOT)
HELLO_REPLY_TYPE = wire_type(Command.HELLO, reply=True)
RESULTS_LINE = re.compile(r"^m-results-\[([^]]+)\]$")  # script.py's pattern
LAP_LINE = re.compile(r"^m-lap-us-([0-9]+)$")  # script.py's pattern

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler 'cc' to build the host app")


# ---- building the app on the host -------------------------------------------------------------

def app_options(**overrides: str) -> dict[str, str]:
    """The app's option defaults from app.toml, with overrides (what --set would give)."""
    spec = tomllib.loads((APP_DIR / "app.toml").read_text())
    options = {name: table["default"] for name, table in spec.get("options", {}).items()}
    unknown = set(overrides) - set(options)
    assert not unknown, f"no such option(s) {unknown}"
    options.update(overrides)
    return options


def _tensor_view(t) -> SimpleNamespace:
    """A model input or output as the app templates see it."""
    return SimpleNamespace(name=t.label(), dtype=t.dtype, shape=list(t.shape), bytes=t.nbytes,
                           scale=float(t.quant.scale[0]) if t.quant else 0.0,
                           zero_point=int(t.quant.zero_point[0]) if t.quant else 0)


def render_app_files(model_path: Path, options: dict[str, str], board_id: str = HOST_BOARD_ID,
                     clock_hz: int = HOST_CLOCK_HZ) -> dict[str, str]:
    """The app folder's sources as generate writes them into src/: .j2 files rendered
    with options, model, board and version (without the .j2), the rest copied."""
    graph = compile_model(model_path).graph
    model = SimpleNamespace(inputs=[_tensor_view(t) for t in graph.input_tensors()],
                            outputs=[_tensor_view(t) for t in graph.output_tensors()])
    board = SimpleNamespace(id=board_id, clock_hz=clock_hz)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    files = {}
    for name, path in get_app(APP_ID).files().items():  # the app's own files and the common ones it names
        if name.endswith(".j2"):
            files[name[: -len(".j2")]] = env.from_string(path.read_text()).render(
                options=options, model=model, board=board, version=__version__)
        else:
            files[name] = path.read_text()
    return files


def _compile(files: dict[str, str], workdir: Path, exe_name: str, skip: tuple[str, ...] = ()) -> Path:
    src = workdir / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name, text in files.items():
        (src / name).write_text(text)
    sources = sorted(str(src / n) for n in files if n.endswith(".c") and n not in skip)
    exe = workdir / exe_name
    flags = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE_FLAGS]
    proc = subprocess.run(["cc", *flags, "-I", str(src), "-o", str(exe), *sources, "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return exe


def build_mlperf_host(model_path: Path, workdir: Path, options: dict[str, str]) -> Path:
    """host_agent_sources with the bench app swapped for this one, compiled like
    build_host_agent (warnings are errors, AddressSanitizer and UBSan on)."""
    files = host_agent_sources(model_path)
    del files["mcugen_app_bench.c"]
    files.update(render_app_files(model_path, options))
    return _compile(files, workdir, "mcugen_host_mlperf")


# ---- the runner's side ------------------------------------------------------------------------

class RunnerLink:
    """The runner's view of the DUT (runner/serial_device.py): 'command%' out, lines
    in (split at '\\n', '\\r' and NUL dropped), a reply complete at the line holding
    'm-ready'. Raw bytes are kept too, for the agent frames sharing the link."""

    def __init__(self, port, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.pending = b""

    def read_raw_until(self, marker: bytes, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        while marker not in self.pending:
            assert time.monotonic() < deadline, f"no {marker!r} within the deadline; got {self.pending[-400:]!r}"
            self.pending += self.port.read(max(1, self.port.in_waiting))
        end = self.pending.index(marker) + len(marker)
        raw, self.pending = self.pending[:end], self.pending[end:]
        return raw

    def reply(self, timeout: float | None = None) -> list[str]:
        raw = self.read_raw_until(b"m-ready\r\n", timeout)
        return split_lines(raw)

    def command(self, text: str, timeout: float | None = None) -> list[str]:
        assert len(text) <= 80 and "%" not in text
        self.port.write((text + "%").encode())
        return self.reply(timeout)

    def load(self, data: bytes) -> list[list[str]]:
        """device_under_test.DUT.load: db load N, then 31 bytes of hex per db command."""
        replies = [self.command(f"db load {len(data)}")]
        for i in range(0, len(data), RUNNER_DB_BYTES):
            replies.append(self.command("db " + data[i : i + RUNNER_DB_BYTES].hex()))
        return replies


def split_lines(raw: bytes) -> list[str]:
    """serial_device._read_loop's lines: empty ones are not replies."""
    text = raw.decode("latin-1").replace("\r", "").replace("\0", "")
    return [line for line in text.split("\n") if line]


def expected_results(model_path: Path, tensor_input: np.ndarray) -> str:
    """TFLite Micro's output 0 for the input, as a reference submission prints it:
    float (q - zero_point) * scale, then printf("%0.3f") (Python rounds alike)."""
    out = compile_model(model_path).graph.output_tensors()[0]
    q = TflmInterpreter(model_path).run([tensor_input], 1)[0].reshape(-1)
    scale, zp = np.float32(out.quant.scale[0]), int(out.quant.zero_point[0])
    values = [np.float32(int(v) - zp) * scale for v in q]
    return "m-results-[" + ",".join(f"{float(v):.3f}" for v in values) + "]"


def read_boot(link: RunnerLink) -> Hello:
    """BOOT frame, a line end, then the EEMBC banner; returns BOOT's payload."""
    raw = link.read_raw_until(b"m-init-done\r\nm-ready\r\n")
    events = FrameParser().feed(raw)
    assert events and isinstance(events[0], Frame) and events[0].type == BOOT_TYPE, raw[:80]
    boot = events[0]
    assert raw.startswith(boot.encode()), "the BOOT frame comes first"
    text = raw[len(boot.encode()):].decode("ascii")
    assert re.fullmatch(r"\r\nm-timestamp-mode-performance\r\nm-lap-us-[0-9]+\r\nm-init-done\r\nm-ready\r\n",
                        text), text
    return Hello.decode(boot.payload)


@dataclass(frozen=True)
class Vector:
    runner_bytes: bytes  # what the runner sends (the dataset file's bytes)
    tensor_input: np.ndarray  # what the model gets, for the reference


def vector_for(array: np.ndarray, input_mode: str, shape) -> Vector:
    if input_mode == "uint8-to-int8":
        assert array.dtype == np.uint8
        tensor = (array.astype(np.int16) - 128).astype(np.int8)
    else:
        tensor = array
    return Vector(array.tobytes(), tensor.reshape(shape))


def run_runner_session(link: RunnerLink, model_path: Path, vectors: list[Vector], *, board_id: str,
                       model_tag: str, input_bytes: int) -> None:
    """What the runner does with a DUT, checked line by line: name, profile, then per
    input the download (db load + 31-byte db chunks), an accuracy infer (1 0) and a
    performance infer (10 1), and results%."""
    assert link.command("name") == [f"m-name-dut-[mcugen-{board_id}]", "m-ready"]
    assert link.command("profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]",
                                       f"m-model-[{model_tag}]", "m-ready"]
    lap = link.command("timestamp")
    assert len(lap) == 2 and LAP_LINE.match(lap[0]) and lap[1] == "m-ready", lap

    for vector in vectors:
        data = vector.runner_bytes
        assert len(data) == input_bytes
        replies = link.load(data)
        assert replies[0] == [f"m-[Expecting {len(data)} bytes]", "m-ready"]
        assert all(r == ["m-ready"] for r in replies[1:-1]), replies[1:-1][:3]
        assert replies[-1] == ["m-load-done", "m-ready"]

        printed = link.command("db print")
        assert printed[-1] == "m-ready"
        rows = [data[i : i + 8] for i in range(0, len(data), 8)]
        assert printed[:-1] == ["m-buffer-" + "-".join(f"{b:02x}" for b in row) for row in rows]

        want = expected_results(model_path, vector.tensor_input)
        for iterations, warmups in ((1, 0), (10, 1)):
            lines = link.command(f"infer {iterations} {warmups}", timeout=120)
            assert lines[:3] == [f"m-warmup-start-{warmups}", "m-warmup-done", f"m-infer-start-{iterations}"]
            start, end = (LAP_LINE.match(line) for line in lines[3:5])
            assert start and end, lines
            assert int(end.group(1)) >= int(start.group(1))
            assert lines[5:] == ["m-infer-done", want, "m-ready"], (lines[5:], want)
            # The runner's parse of it: floats, one per output element.
            parsed = [float(x) for x in RESULTS_LINE.match(lines[6]).group(1).split(",")]
            assert len(parsed) == want.count(",") + 1
        assert link.command("results") == [want, "m-ready"]


def check_hello(port, board_id: str, model_path: Path) -> None:
    """The benchmark agent answers on the same link, for `mcugen flash`."""
    client = AgentClient(port, timeout=5.0)
    hello = client.hello()
    assert hello.board == board_id
    assert hello.model_sha256_hex == compile_model(model_path).module.model_sha256


# ---- host tests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    model: Path
    input_mode: str
    model_tag: str
    vector_files: tuple[str, ...]  # in ../shared/vectors
    random_u8: bool  # add a seeded random uint8 image (the ic01 sample is all zeros)


SHARED_CASES = [
    Case("vww01-person_detect-raw", SHARED_MODELS / "person_detect.tflite", "raw", "vww01",
         ("person_96x96_i8.npy", "no_person_96x96_i8.npy"), False),
    Case("ic01-resnet-uint8-to-int8", SHARED_MODELS / "pretrainedResnet_quant.tflite", "uint8-to-int8", "ic01",
         ("ic01_sample_u8.npy",), True),
]


def _case_vectors(case: Case) -> list[Vector]:
    tensor = compile_model(case.model).graph.input_tensors()[0]
    arrays = [np.load(SHARED_VECTORS / name, allow_pickle=False) for name in case.vector_files]
    if case.random_u8:
        arrays.append(np.random.default_rng(7).integers(0, 256, size=tensor.shape, dtype=np.uint8))
    return [vector_for(a, case.input_mode, tensor.shape) for a in arrays]


@pytest.fixture(scope="module")
def example_exe(tmp_path_factory):
    if not EXAMPLE_MODEL.exists():
        pytest.skip(f"no example model at {EXAMPLE_MODEL}")
    options = app_options(input="uint8-to-int8", model_tag="ic01")
    return build_mlperf_host(EXAMPLE_MODEL, tmp_path_factory.mktemp("mlperf-example"), options)


def open_link(url: str):
    """The pyserial port for url, keeping what arrives while it connects: socket://
    open() discards bytes already received (as opening a real UART can lose a
    board's boot output), and these tests read the boot banner."""
    port = serial.serial_for_url(url, baudrate=115200, timeout=0.05, do_not_open=True)
    port.reset_input_buffer = lambda: None  # only for open(); removed again below
    port.open()
    del port.reset_input_buffer
    return port


def _session(exe: Path):
    agent = HostAgentProcess(exe).start()
    return agent, open_link(agent.url)


def _finish(agent: HostAgentProcess, port) -> None:
    port.close()
    report = agent.sanitizer_report()
    code = agent.stop()
    assert not report, report
    assert code in (-9, None), code  # still running until killed: no crash


@needs_cc
@pytest.mark.shared
@pytest.mark.parametrize("case", SHARED_CASES, ids=[c.id for c in SHARED_CASES])
def test_runner_session_matches_tflite_micro(case: Case, tmp_path):
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"../shared not found at {SHARED_MODELS.parent}")
    exe = build_mlperf_host(case.model, tmp_path, app_options(input=case.input_mode, model_tag=case.model_tag))
    vectors = _case_vectors(case)
    agent, port = _session(exe)
    try:
        link = RunnerLink(port)
        boot = read_boot(link)
        assert boot.board == HOST_BOARD_ID
        run_runner_session(link, case.model, vectors[:1], board_id=HOST_BOARD_ID, model_tag=case.model_tag,
                           input_bytes=len(vectors[0].runner_bytes))
        check_hello(port, HOST_BOARD_ID, case.model)
        # The runner's commands still work after the agent's frames went by.
        run_runner_session(link, case.model, vectors[1:], board_id=HOST_BOARD_ID, model_tag=case.model_tag,
                           input_bytes=len(vectors[0].runner_bytes))
    finally:
        _finish(agent, port)


@needs_cc
def test_runner_session_on_the_example_model(example_exe):
    """The whole session without ../shared: the example model's int8 input from uint8 pixels."""
    tensor = compile_model(EXAMPLE_MODEL).graph.input_tensors()[0]
    rng = np.random.default_rng(3)
    vectors = [vector_for(rng.integers(0, 256, size=tensor.shape, dtype=np.uint8), "uint8-to-int8", tensor.shape)
               for _ in range(2)]
    agent, port = _session(example_exe)
    try:
        link = RunnerLink(port)
        read_boot(link)
        run_runner_session(link, EXAMPLE_MODEL, vectors, board_id=HOST_BOARD_ID, model_tag="ic01",
                           input_bytes=tensor.nbytes)
        check_hello(port, HOST_BOARD_ID, EXAMPLE_MODEL)
    finally:
        _finish(agent, port)


@needs_cc
def test_refusals_and_edge_commands(example_exe):
    """Every malformed command gets one e-[...] line and m-ready, and changes nothing."""
    n = compile_model(EXAMPLE_MODEL).graph.input_tensors()[0].nbytes
    agent, port = _session(example_exe)
    try:
        link = RunnerLink(port)
        read_boot(link)
        assert link.command("results") == ["e-[No results yet: run infer first]", "m-ready"]
        assert link.command("infer 1 0") == [f"e-[Input db has 0 bytes, expected {n}]", "m-ready"]
        assert link.command("frobnicate now") == ["e-[Unknown command: frobnicate]", "m-ready"]
        assert link.command("") == ["m-ready"]  # the runner's flush: a bare '%'
        assert link.command("db") == ["e-[Command 'db' requires a subcommand]", "m-ready"]
        assert link.command("db 00") == ["e-[Command 'db load N' must come before the data]", "m-ready"]
        assert link.command("db load") == ["e-[Command 'db load' requires the # of bytes]", "m-ready"]
        assert link.command("db load 0") == ["e-[Command 'db load' must be >0 bytes]", "m-ready"]
        assert link.command("db load x1") == ["e-[Command 'db load' must be >0 bytes]", "m-ready"]
        assert link.command(f"db load {n + 1}") == [f"e-[Supplied buffer size {n + 1} exceeds maximum of {n}]",
                                                    "m-ready"]
        assert link.command("db load 99999999999999999999") == [
            f"e-[Supplied buffer size 99999999999999999999 exceeds maximum of {n}]", "m-ready"]
        assert link.command("db print") == ["m-ready"]  # nothing loaded: nothing to print
        # A short buffer: loads, prints, but is not an input.
        assert link.command("db load 4") == ["m-[Expecting 4 bytes]", "m-ready"]
        assert link.command("db 0a0") == ["e-[Insufficient number of hex digits]", "m-ready"]
        assert link.command("db 0aZ1") == ["e-[Invalid hex digit 'Z1']", "m-ready"]
        assert link.command("db 0A0b") == ["m-ready"]  # upper and lower case
        assert link.command("db ff00ee") == ["m-load-done", "m-ready"]  # the extra byte is disregarded
        assert link.command("db 11") == ["e-[Buffer already full: send 'db load N' to load again]", "m-ready"]
        assert link.command("db print") == ["m-buffer-0a-0b-ff-00", "m-ready"]
        assert link.command("infer 1 0") == [f"e-[Input db has 4 bytes, expected {n}]", "m-ready"]
        assert link.command("infer 0 0") == ["e-[Inference iterations must be >0]", "m-ready"]
        assert link.command("infer x") == ["e-[Inference iterations must be >0]", "m-ready"]
        assert link.command("infer 1 -1") == ["e-[Inference warmup must be >=0]", "m-ready"]
        # Over 80 characters: refused whole, and the next command is clean.
        port.write(b"db " + b"00" * 60 + b"%")
        assert link.reply() == ["e-[Command longer than 80 characters]", "m-ready"]
        # Terminal line ends and spaces around tokens are harmless.
        port.write(b"\r\n  name  %\r\n")
        assert link.reply() == ["m-name-dut-[mcugen-host]", "m-ready"]
        # A full load, then infer with the defaults (N = 1, W = 10).
        link.load(bytes(n))
        lines = link.command("infer")
        assert lines[:3] == ["m-warmup-start-10", "m-warmup-done", "m-infer-start-1"]
        help_lines = link.command("help")
        assert help_lines[0] == "ULPMark for tinyML Firmware V0.0.1" and help_lines[-1] == "m-ready"
    finally:
        _finish(agent, port)


@needs_cc
def test_agent_frame_inside_a_command_is_skipped(example_exe):
    """A HELLO that arrives in the middle of a runner command is answered by the
    agent and cut out of the text: the command around it still works."""
    agent, port = _session(example_exe)
    try:
        link = RunnerLink(port)
        read_boot(link)
        port.write(b"na" + encode_frame(int(Command.HELLO), 9) + b"me%")
        raw = link.read_raw_until(b"m-ready\r\n")
        frames = [e for e in FrameParser().feed(raw) if isinstance(e, Frame)]
        assert [(f.type, f.seq) for f in frames] == [(HELLO_REPLY_TYPE, 9)]
        assert Hello.decode(frames[0].payload).board == HOST_BOARD_ID
        text = raw.replace(frames[0].encode(), b"")
        assert split_lines(text) == ["m-name-dut-[mcugen-host]", "m-ready"]
        # A frame whose CRC (or any byte) holds '%' must not end a command either.
        for seq in range(256):
            frame = encode_frame(int(Command.HELLO), seq)
            if b"%" in frame[2:]:
                break
        else:
            pytest.fail("no HELLO frame with a '%' byte")
        port.write(b"prof" + frame + b"ile%")
        raw = link.read_raw_until(b"m-ready\r\n")
        frames = [e for e in FrameParser().feed(raw) if isinstance(e, Frame)]
        text = raw.replace(frames[0].encode(), b"")
        assert split_lines(text) == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[ic01]", "m-ready"]
    finally:
        _finish(agent, port)


# ---- the results formatter: printf("%.3f") without printf ---------------------------------------

_FORMAT_HARNESS = r"""
/* Drives the formatter the app prints results with (mcugen_text_fixed3, through the
 * app's own writer): one float bit pattern (hex) per line on stdin, its text per line
 * on stdout. */
#include <stdio.h>
#include "mcugen_app_mlperf.c"

void mcugen_board_init(void) {}
uint8_t mcugen_board_read_byte(void) { return 0; }
int mcugen_board_poll_byte(uint8_t *byte) { (void)byte; return 0; }
void mcugen_board_write(const uint8_t *data, size_t length) { fwrite(data, 1, length, stdout); }
uint64_t mcugen_board_counter(void) { return 0; }
void mcugen_board_led_set(unsigned index, int on) { (void)index; (void)on; }
uint32_t mcugen_board_led_state(void) { return 0; }

int main(void)
{
    unsigned long bits;
    while (scanf("%lx", &bits) == 1) {
        uint32_t word = (uint32_t)bits;
        float value;
        memcpy(&value, &word, sizeof value);
        mcugen_text_fixed3(&output, value);
        out_line_end();
    }
    return 0;
}
"""


@needs_cc
def test_three_decimal_formatter_matches_printf(tmp_path):
    if not EXAMPLE_MODEL.exists():
        pytest.skip(f"no example model at {EXAMPLE_MODEL}")
    files = host_agent_sources(EXAMPLE_MODEL)
    del files["mcugen_app_bench.c"], files["board_host.c"]
    files.update(render_app_files(EXAMPLE_MODEL, app_options()))
    files["format_harness.c"] = _FORMAT_HARNESS
    exe = _compile(files, tmp_path, "format_harness", skip=(APP_MAIN,))
    rng = np.random.default_rng(11)
    values = [np.float32(k) / np.float32(256) for k in range(-300, 301)]  # every int8 output, ties included
    values += [np.float32(k) * np.float32(0.00390625) + np.float32(0.5) for k in range(-64, 64)]
    values += list(rng.standard_normal(2000).astype(np.float32))
    values += list((rng.standard_normal(500) * 1e4).astype(np.float32))
    values += [np.float32(x) for x in (0.0, 0.0005, -0.0005, 0.0015, 0.0025, 1e-7, -1e-7, 123456.789, -9.9995,
                                       1024.0625, 2.5e-3, 16777216.0)]
    stdin = "\n".join(f"{struct.unpack('<I', struct.pack('<f', float(v)))[0]:08x}" for v in values)
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout.replace("\r", "").split("\n")[:-1]
    want = [f"{float(v):.3f}" for v in values]
    mismatches = [(float(v), g, w) for v, g, w in zip(values, got, want) if g != w]
    assert len(got) == len(want) and not mismatches, mismatches[:10]


# ---- on the emulated board --------------------------------------------------------------------

def _generate_has_app_flag() -> str | None:
    """Why the firmware test cannot run yet, or None."""
    try:
        from mcugen.apps import get_app

        get_app(APP_ID)
    except ImportError:
        return "mcugen.apps is not there yet"
    except Exception as exc:  # noqa: BLE001 - an app.toml the loader refuses
        return f"mcugen.apps refuses {APP_ID}: {exc}"
    proc = subprocess.run([sys.executable, "-m", "mcugen", "generate", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    if "--app" not in proc.stdout or "--set" not in proc.stdout:
        return "`mcugen generate` has no --app/--set yet"
    return None


@pytest.mark.shared
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
@pytest.mark.parametrize("board_id", ["qemu-cm7", "qemu-stm32f405"])
def test_runner_session_on_the_emulated_boards(tmp_path, board_id):
    reason = _generate_has_app_flag()
    if reason:
        pytest.skip(reason)
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"../shared not found at {SHARED_MODELS.parent}")
    case = SHARED_CASES[0]
    project = tmp_path / "fw"
    proc = run_cli("generate", case.model, "--board", board_id, "--app", APP_ID, "--set",
                   f"input={case.input_mode}", "--set", f"model_tag={case.model_tag}", "-o", project)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("build", project, "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    elf = Path(json.loads(proc.stdout)["elf"])
    vectors = _case_vectors(case)
    with Emulator(get_board(board_id), elf) as emu, open_link(emu.url) as port:
        link = RunnerLink(port, timeout=60)
        boot = read_boot(link)
        assert boot.board == board_id
        run_runner_session(link, case.model, vectors[:1], board_id=board_id, model_tag=case.model_tag,
                           input_bytes=len(vectors[0].runner_bytes))
        check_hello(port, board_id, case.model)
        run_runner_session(link, case.model, vectors[1:], board_id=board_id, model_tag=case.model_tag,
                           input_bytes=len(vectors[0].runner_bytes))
        emu.check_alive()
