"""Firmware: generate a PlatformIO project, build it offline, boot it in QEMU.

Builds use a brand-new PlatformIO core folder per test session, so they prove
the offline preparation works on a fresh machine. Needs arm-none-eabi-gcc with
newlib and qemu-system-arm (skipped visibly without them).
"""

from __future__ import annotations

import json
import shutil
import struct
import time
import zlib
from pathlib import Path

import pytest

from mcugen.boards import get_board, load_board_file
from mcugen.build import BuildError, build_project, first_error
from mcugen.emulator import Emulator, EmulatorError, icount_settings
from mcugen.errors import BoardError, McugenError
from mcugen.firmware import build_id, firmware_files, generate_firmware_project, machine_flags
from mcugen.generate import compile_model
from mcugen.platformio_offline import prepare, scons_package_version, toolchain_package_version
from mcugen.protocol import PROTOCOL_VERSION
from mcugen.resources import boards_dir

from conftest import EXAMPLE_MODEL, SHARED_MODELS

BOARDS = ["qemu-cm7", "qemu-stm32f405"]
HAVE_GCC = shutil.which("arm-none-eabi-gcc") is not None
HAVE_QEMU = shutil.which("qemu-system-arm") is not None
needs_gcc = pytest.mark.skipif(not HAVE_GCC, reason="arm-none-eabi-gcc not installed (apt-get install "
                               "gcc-arm-none-eabi libnewlib-arm-none-eabi)")
needs_qemu = pytest.mark.skipif(not HAVE_QEMU, reason="qemu-system-arm not installed")

BOOT = 0xFE  # BOOT (0x7E) as sent, with the reply bit


def _model() -> Path:
    if EXAMPLE_MODEL.exists():
        return EXAMPLE_MODEL
    fallback = SHARED_MODELS / "hello_world_int8.tflite"
    if fallback.exists():
        return fallback
    pytest.skip(f"no example model: neither {EXAMPLE_MODEL} nor {fallback} exists")


@pytest.fixture(scope="session")
def pio_home(tmp_path_factory):
    """A fresh PlatformIO core folder for the session: nothing left from earlier runs."""
    if not HAVE_GCC:
        pytest.skip("arm-none-eabi-gcc not installed")
    home = tmp_path_factory.mktemp("platformio-core")
    started = time.monotonic()
    prepare(home)
    first = time.monotonic() - started
    started = time.monotonic()
    prepare(home)
    again = time.monotonic() - started
    print(f"\nPlatformIO core prepared in {first:.2f} s, checked again in {again * 1000:.0f} ms")
    assert again < 0.5, again
    return home


@pytest.fixture(scope="session")
def built(tmp_path_factory, pio_home):
    """board id -> (GeneratedFirmware, BuildReport), built once per session."""
    model = _model()
    out = {}
    for board_id in BOARDS:
        project = tmp_path_factory.mktemp("fw") / board_id
        fw = generate_firmware_project(model, board_id, project)
        report = build_project(project, pio_home=pio_home)
        print(f"{board_id}: built in {report.seconds:.2f} s")
        out[board_id] = (fw, report)
    return out


# ------------------------------------------------------------------------------------------------
# Serial helpers: the few bytes of docs/protocol.md the tests need


def _frame(type_: int, seq: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<BBH", type_, seq, len(payload)) + payload
    return b"\xa5\x5a" + body + struct.pack("<I", zlib.crc32(body))


def _read_frame(link, deadline: float) -> tuple[int, int, bytes]:
    buf = b""
    while time.monotonic() < deadline:
        buf += link.read(max(1, link.in_waiting))
        start = buf.find(b"\xa5\x5a")
        if start < 0 or len(buf) < start + 6:
            continue
        type_, seq, length = struct.unpack_from("<BBH", buf, start + 2)
        end = start + 6 + length + 4
        if len(buf) < end:
            continue
        body = buf[start + 2 : end - 4]
        (crc,) = struct.unpack_from("<I", buf, end - 4)
        assert crc == zlib.crc32(body), "frame CRC mismatch"
        return type_, seq, body[4:]
    raise AssertionError(f"no frame within the deadline; got {buf[:200]!r}")


def _string(payload: bytes, offset: int) -> tuple[str, int]:
    n = payload[offset]
    return payload[offset + 1 : offset + 1 + n].decode(), offset + 1 + n


def _boot_and_invoke(board, elf) -> tuple[dict, int]:
    """Boot the image, parse its BOOT frame, run one INVOKE; returns (boot fields, count)."""
    with Emulator(board, elf) as emu:
        with emu.open_serial(timeout=0.2) as link:
            deadline = time.monotonic() + 20
            type_, seq, payload = _read_frame(link, deadline)
            assert (type_, seq) == (BOOT, 0)
            # docs/protocol.md, BOOT: version, counter kind, clock, frames, INVOKEs run, then strings
            version, counter_kind, clock, frames, invokes = struct.unpack_from("<BBIII", payload, 0)
            assert invokes == 0
            board_id, offset = _string(payload, 14)
            firmware_id, offset = _string(payload, offset)
            sha = payload[offset : offset + 32].hex()
            link.write(_frame(0x03, 7))
            type_, seq, reply = _read_frame(link, deadline)
            assert (type_, seq) == (0x83, 7), (type_, reply)
            status, count, _ = struct.unpack_from("<BQI", reply, 0)
            assert status == 0
        emu.check_alive()
    return dict(version=version, counter_kind=counter_kind, clock=clock, board=board_id, build_id=firmware_id,
                sha=sha), count


# ------------------------------------------------------------------------------------------------
# Offline, no toolchain needed


def test_icount_shift_gives_a_tick_per_instruction():
    cm7, f405 = get_board("qemu-cm7"), get_board("qemu-stm32f405")
    s = icount_settings(cm7)
    assert (s.shift, s.num, s.den) == (6, 5, 8)  # 64 ns * 25 MHz = 1.6 ticks per instruction
    s = icount_settings(f405)
    assert (s.shift, s.num, s.den) == (3, 125, 168)  # 8 ns * 168 MHz = 1.344 ticks per instruction
    assert machine_flags(cm7) == ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"]
    assert machine_flags(f405) == ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]


def test_package_versions_follow_platformio_numbering():
    assert toolchain_package_version("12.2.1") == "1.120201.0"
    assert scons_package_version("4.11.1", "~4.41101.0") == "4.41101.0"
    assert scons_package_version("4.8.1", "~4.41101.0") == "4.41101.0"  # a stand-in: Core's lowest
    with pytest.raises(Exception, match="not a 4.x"):
        scons_package_version("3.1.2", "~4.41101.0")


def test_project_files_are_deterministic_and_complete():
    model = compile_model(_model())
    for board_id in BOARDS:
        board = get_board(board_id)
        files, bid, env_name, _ = firmware_files(model, "m.tflite", board)
        again, _, _, _ = firmware_files(compile_model(_model()), "m.tflite", board)
        assert files == again
        assert bid == build_id(board, model.module.model_sha256) and board_id in bid and "0." in bid
        ini = files["platformio.ini"]
        for flag in machine_flags(board) + ["-O2", "-DMCUGEN_PROFILE", "-ffunction-sections", "-fdata-sections",
                                            "-Wl,--gc-sections", "--specs=nano.specs"]:
            assert f"    {flag}\n" in ini, flag
        assert "platform = ststm32\n" in ini and "board_build.ldscript = $PROJECT_DIR/mcugen.ld" in ini
        assert "symlink://" not in ini and "upload_command = $PYTHONEXE -m mcugen.emulator_upload" in ini
        ld = files["mcugen.ld"]
        for r in board.regions:
            assert f"{r.name} (" in ld and f"LENGTH = {r.size}" in ld
        assert "AT > " + board.arena_region in ld  # .bss has its own load region
        config = files["lib/mcugen_board/src/mcugen_board_config.h"]
        assert f'#define MCUGEN_BOARD_ID "{board_id}"' in config
        assert f'#define MCUGEN_FIRMWARE_BUILD_ID "{bid}"' in config
        assert "#define MCUGEN_BOARD_COUNTER_KIND 1" in config
        for name in ("lib/mcugen_board/src/main.c", "lib/mcugen_model/src/mcugen_model.c", "src/mcugen_agent.c",
                     "src/mcugen_app_bench.c", "lib/mcugen_board/src/mcugen_board.h",
                     "lib/mcugen_board/src/mcugen_soc.c", "lib/mcugen_board/src/mcugen_startup.c",
                     "lib/mcugen_board/src/mcugen_counter.c", "lib/mcugen_model/library.json",
                     "lib/mcugen_board/library.json"):
            assert name in files, name
        manifest = json.loads(files[f"boards/{board.platformio['board']}.json"])
        assert manifest["build"]["cpu"] == board.core


def test_boards_without_firmware_are_refused(tmp_path):
    text = (boards_dir() / "qemu-cm7.toml").read_text()
    start = text.index("[firmware]")
    path = tmp_path / "qemu-cm7.toml"
    path.write_text(text[:start] + text[text.index("[serial]", start):])
    with pytest.raises(McugenError, match=r"qemu-cm7.*firmware"):
        generate_firmware_project(_model(), load_board_file(path), tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('port = "mps2"', 'port = "../x"'), "firmware.port"),
    (lambda t: t.replace("stack_bytes = 8_192", "stack_bytes = 100"), "stack_bytes"),
    (lambda t: t.replace("heap_bytes = 0", "heap_bytes = 0\nflash_wait = 3"), "firmware.flash_wait"),
    (lambda t: t.replace("[firmware]", "[firmware]\ncflags = ['O3']"), "cflags"),
])
def test_firmware_table_schema(tmp_path, edit, message):
    path = tmp_path / "qemu-cm7.toml"
    path.write_text(edit((boards_dir() / "qemu-cm7.toml").read_text()))
    with pytest.raises(BoardError, match=message):
        load_board_file(path)


def test_first_error_finds_the_compiler_line():
    log = ("Compiling .pio/build/x/src/a.o\nsrc/a.c: In function 'f':\nsrc/a.c:3:5: error: expected ';' before '}'\n"
           "src/b.c:9:1: error: later\n*** [.pio/build/x/src/a.o] Error 1\n")
    assert first_error(log) == "src/a.c:3:5: expected ';' before '}'"
    log = "/usr/bin/ld: firmware.elf section `.bss' will not fit\nld: region `SRAM' overflowed by 1024 bytes\n"
    assert first_error(log) == "memory region SRAM overflowed by 1,024 bytes"


def test_emulator_errors_are_one_line(tmp_path):
    board = get_board("qemu-cm7")
    with pytest.raises(EmulatorError, match="not found"):
        Emulator(board, tmp_path / "missing.elf").start()
    elf = tmp_path / "firmware.elf"
    elf.write_text("not an ELF")
    with pytest.raises(EmulatorError, match="not a 32-bit Arm ELF"):
        Emulator(board, elf).start()
    elf = Path(shutil.which("true") or "/bin/true")  # an ELF, but not an Arm one
    with pytest.raises(EmulatorError, match="not a 32-bit Arm ELF"):
        Emulator(board, elf).start()
    with pytest.raises(EmulatorError, match="not emulated"):
        icount_settings(get_board("openmv-h7"))


@needs_gcc
@needs_qemu
def test_emulator_reports_qemu_exiting_at_start(built):
    fw, report = built["qemu-cm7"]
    with pytest.raises(EmulatorError, match="exited at start with code 1: .*no-such-option") as info:
        Emulator(fw.board, report.elf, extra_args=("-no-such-option",)).start()
    assert "\n" not in info.value.one_line()
    with pytest.raises(EmulatorError, match="not found on PATH"):
        Emulator(fw.board, report.elf, qemu="qemu-system-nonexistent").start()


# ------------------------------------------------------------------------------------------------
# Build and boot


@needs_gcc
@pytest.mark.parametrize("board_id", BOARDS)
def test_build_places_weights_in_flash_and_arena_in_ram(built, board_id):
    fw, report = built[board_id]
    board = fw.board
    assert report.elf == fw.elf_path.resolve() and report.elf.is_file() and report.bin and report.bin.is_file()
    flash = report.region(board.flash_region)
    ram = report.region(board.arena_region)
    assert 0 < flash.used <= flash.size and 0 < ram.used <= ram.size
    assert ".rodata" in flash.sections and ".bss" in ram.sections and ".stack" in ram.sections
    # Every model constant is read-only data in flash; the arena is zeroed data in RAM.
    assert len(report.weights) == len(fw.model.module.arrays) > 0
    assert all(w.region == board.flash_region and w.section == ".rodata" for w in report.weights)
    assert sum(w.size for w in report.weights) >= fw.model.module.weights_bytes
    assert report.arena.region == board.arena_region and report.arena.section == ".bss"
    assert report.arena.size >= fw.model.module.arena_bytes
    assert ram.used >= report.arena.size + board.firmware["stack_bytes"]
    assert report.seconds < 60


@needs_gcc
@needs_qemu
@pytest.mark.parametrize("board_id", BOARDS)
def test_firmware_boots_in_qemu_and_counts_instructions(built, board_id):
    fw, report = built[board_id]
    boot, count = _boot_and_invoke(fw.board, report.elf)
    assert boot["version"] == PROTOCOL_VERSION
    assert boot["counter_kind"] == 1  # instructions
    assert boot["clock"] == fw.board.clock_hz
    assert boot["board"] == board_id
    assert boot["build_id"] == fw.build_id
    assert boot["sha"] == fw.model.module.model_sha256
    # -icount makes the count exact and repeatable: a second boot gives the same number.
    assert count > 100
    _, again = _boot_and_invoke(fw.board, report.elf)
    assert again == count


_PROBE_AGENT = r"""
/* A stand-in agent for port tests: 'l' measures spin(n) for n = 1..40 with the
 * board counter, 'u' executes an undefined instruction, 'm' runs the model (which
 * keeps the model in the image). */
#include <stdint.h>
#include "mcugen_agent.h"
#include "mcugen_board.h"
#include "mcugen_model.h"

void mcugen_profile_layer_begin(int i) { (void)i; }
void mcugen_profile_layer_end(int i) { (void)i; }

static void put_number(uint64_t v)
{
    char text[24];
    int i = 23;
    text[i] = 0;
    do { text[--i] = (char)('0' + v % 10u); v /= 10u; } while (v);
    mcugen_board_write((const uint8_t *)text + i, (size_t)(23 - i));
}

/* Exactly 2 instructions per iteration. */
__attribute__((noinline)) static void spin(uint32_t n)
{
    __asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) :: "cc");
}

void mcugen_agent_run(void)
{
    mcugen_board_init(); /* like the real agent: main() leaves bringing the board up to it */
    mcugen_board_write((const uint8_t *)"ready\r\n", 7);
    for (;;) {
        uint8_t c = mcugen_board_read_byte();
        if (c == 'u') {
            __asm volatile("udf #0");
        }
        if (c == 'm') {
            mcugen_model_invoke();
        }
        for (uint32_t n = 1; n <= 40; n++) {
            uint64_t start = mcugen_board_counter();
            spin(n);
            put_number(mcugen_board_counter() - start);
            mcugen_board_write((const uint8_t *)(n == 40 ? "\r\n" : " "), n == 40 ? 2 : 1);
        }
    }
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory, pio_home):
    """board id -> ELF of the probe agent on that board."""
    root = tmp_path_factory.mktemp("probe")
    agent = root / "agent"
    agent.mkdir()
    (agent / "mcugen_agent.h").write_text("void mcugen_agent_run(void);\n"
                                          "void mcugen_profile_layer_begin(int i);\n"
                                          "void mcugen_profile_layer_end(int i);\n")
    (agent / "mcugen_agent.c").write_text(_PROBE_AGENT)
    elves = {}
    for board_id in BOARDS:
        generate_firmware_project(_model(), board_id, root / board_id, agent_dir=agent)
        elves[board_id] = build_project(root / board_id, pio_home=pio_home).elf
    return elves


def _probe(board_id: str, elf: Path, command: bytes, delay: float = 0.0) -> str:
    with Emulator(get_board(board_id), elf) as emu, emu.open_serial(timeout=0.2) as link:
        text, deadline = b"", time.monotonic() + 20
        while b"ready\r\n" not in text and time.monotonic() < deadline:
            text += link.read(64)
        time.sleep(delay)  # the firmware polls the UART meanwhile: a different SysTick phase
        link.write(command)
        text = b""
        while not text.endswith(b"\r\n") and time.monotonic() < deadline:
            text += link.read(256)
    return text.decode(errors="replace").strip()


@needs_gcc
@needs_qemu
@pytest.mark.parametrize("board_id", BOARDS)
def test_counter_counts_every_instruction_exactly(probe, board_id):
    """Two more instructions give exactly two more counts, whenever the host asks."""
    first = [int(x) for x in _probe(board_id, probe[board_id], b"l").split()]
    assert [b - a for a, b in zip(first, first[1:])] == [2] * 39, first
    again = [int(x) for x in _probe(board_id, probe[board_id], b"l", delay=0.137).split()]
    assert again == first


@needs_gcc
@needs_qemu
@pytest.mark.parametrize("board_id", BOARDS)
def test_fault_handler_reports_on_the_uart(probe, board_id):
    line = _probe(board_id, probe[board_id], b"u")
    assert line.startswith("mcugen: HardFault (exception 3) pc=0x"), line
    assert "UNDEFINSTR" in line and f"board {board_id}" in line


@needs_gcc
def test_build_failure_is_one_line_with_the_first_error(tmp_path, pio_home):
    project = tmp_path / "fw"
    generate_firmware_project(_model(), "qemu-cm7", project)
    main_c = project / "src" / "mcugen_app_bench.c"
    main_c.write_text(main_c.read_text().replace("mcugen_agent_run();", "mcugen_agent_run()"))
    with pytest.raises(BuildError) as info:
        build_project(project, pio_home=pio_home)
    line = info.value.one_line()
    assert "\n" not in line and "src/mcugen_app_bench.c:" in line and "error" not in line.split(":", 1)[0]
    assert (project / ".pio" / "mcugen-build.log").is_file()


def test_without_a_system_toolchain_platformio_fetches_its_own(tmp_path, monkeypatch):
    """No arm-none-eabi-gcc on PATH: no stand-in package, so PlatformIO fetches the
    toolchain from its registry (online); installing one later re-prepares the folder."""
    import mcugen.platformio_offline as offline

    core = tmp_path / "pio"
    monkeypatch.setattr(offline, "_toolchain", lambda: None)
    monkeypatch.setattr(offline, "system_toolchain_present", lambda: False)
    home = offline.prepare(core)
    stamp = json.loads((core / offline.STAMP).read_text())
    assert stamp["toolchain"] is None
    assert not (core / "packages" / offline.TOOLCHAIN_PACKAGE).exists()
    assert (home.installed_platform_dir / "platform.json").is_file()  # the stand-in, installed as a copy
    assert offline._is_prepared(core, offline.dev_platform_dir())
    monkeypatch.setattr(offline, "system_toolchain_present", lambda: True)
    assert not offline._is_prepared(core, offline.dev_platform_dir())
