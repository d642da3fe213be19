"""Portable PlatformIO projects, built offline: `platform = ststm32` through mcugen's stand-in in a
private PlatformIO home, with locks so that builds run together and a re-prepare waits for them.

The projects here are written by the test (a tiny bare-metal main.c, a linker script, a local
board manifest), in the shape mcugen's firmware projects have. Needs arm-none-eabi-gcc with newlib.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mcugen.platformio_offline as offline
from mcugen.build import BuildError, run_pio, run_project
from mcugen.platformio_offline import (PLATFORM_NAME, STAMP, board_manifests, exclusive_lock, home_key,
                                       offline_capable, prepare, project_platform, shared_lock)

HAVE_GCC = shutil.which("arm-none-eabi-gcc") is not None
needs_gcc = pytest.mark.skipif(not HAVE_GCC, reason="arm-none-eabi-gcc not installed (apt-get install "
                               "gcc-arm-none-eabi libnewlib-arm-none-eabi)")
REPO = Path(__file__).resolve().parents[1]
ENV = "tiny-m7"
BOARD = "mcugen_tiny_m7"

MAIN_C = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "tiny_board.h"

extern uint32_t _estack;
void Reset_Handler(void);

__attribute__((section(".isr_vector"), used))
const void *const vectors[2] = {&_estack, (const void *)Reset_Handler};

volatile float result;
static char scratch[16];

int main(void) {
    memcpy(scratch, "mcugen", 7);          /* libc (newlib-nano) */
    result = expf(tiny_board_value());     /* libm, hard-float multilib */
    return (int)result + scratch[0];
}

void Reset_Handler(void) {
    main();
    for (;;) {
    }
}
"""

LINKER_SCRIPT = """\
MEMORY
{
  FLASH (rx)  : ORIGIN = 0x08000000, LENGTH = 256K
  RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 64K
}
ENTRY(Reset_Handler)
SECTIONS
{
  .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
  .text : { *(.text*) *(.rodata*) } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  .data : { *(.data*) } > RAM AT > FLASH
  .bss : { *(.bss*) *(COMMON) } > RAM
  _estack = ORIGIN(RAM) + LENGTH(RAM);
}
"""


def write_project(root: Path, *, board: str = BOARD, upload: str = "custom", upload_command: str = "",
                  local_board: bool = True) -> Path:
    """A bare-metal project of the shape mcugen generates: nothing in it names this machine."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "main.c").write_text(MAIN_C)
    lib = root / "lib" / "tiny_board"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "library.json").write_text(json.dumps({"name": "tiny_board", "version": "0.0.0",
                                                  "build": {"libArchive": False}}))
    (lib / "tiny_board.h").write_text("float tiny_board_value(void);\n")
    (lib / "tiny_board.c").write_text('#include "tiny_board.h"\nfloat tiny_board_value(void) { return 1.5f; }\n')
    (root / "mcugen.ld").write_text(LINKER_SCRIPT)
    if local_board:
        (root / "boards").mkdir(exist_ok=True)
        (root / "boards" / f"{board}.json").write_text(json.dumps({
            "build": {"cpu": "cortex-m7", "f_cpu": "25000000L", "mcu": "cortex-m7"},
            "frameworks": [], "name": "tiny test board", "vendor": "mcugen tests", "url": "",
            "upload": {"maximum_size": 262144, "maximum_ram_size": 65536, "protocol": "custom",
                       "protocols": ["custom"]},
        }, indent=2))
    lines = [
        "[platformio]",
        f"default_envs = {ENV}",
        "boards_dir = boards",
        "",
        f"[env:{ENV}]",
        "platform = ststm32",
        f"board = {board}",
        "board_build.ldscript = mcugen.ld",
        "build_flags = -mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard -O2 -ffunction-sections",
        "    -fdata-sections -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs -nostartfiles",
    ]
    if upload:
        lines.append(f"upload_protocol = {upload}")
    if upload_command:
        lines.append(f"upload_command = {upload_command}")
    lines += ["monitor_speed = 115200", ""]
    (root / "platformio.ini").write_text("\n".join(lines))
    return root


def products(project: Path) -> tuple[Path, Path, Path]:
    build = project / ".pio" / "build" / ENV
    return build / "firmware.elf", build / "firmware.bin", build / "firmware.map"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    if not HAVE_GCC:
        pytest.skip("arm-none-eabi-gcc not installed")
    core = tmp_path_factory.mktemp("pio-home")
    prepare(core)
    return core


# ------------------------------------------------------------------------------------------------
# Pure functions


def test_offline_capable_names_ststm32_only():
    assert offline_capable("ststm32") and offline_capable("platformio/ststm32")
    assert offline_capable("ststm32@^19") and offline_capable(" ststm32 ")
    for other in ("espressif32", "native", "", None, "symlink:///x/ststm32", "file://ststm32", "./ststm32"):
        assert not offline_capable(other), other


def test_project_platform_reads_the_environment(tmp_path):
    (tmp_path / "platformio.ini").write_text("[env]\nplatform = espressif32\n\n[env:a]\nplatform = ststm32 ; c\n"
                                             "[env:b]\nboard = x\n")
    assert project_platform(tmp_path, "a") == "ststm32"
    assert project_platform(tmp_path, "b") == "espressif32"
    assert project_platform(tmp_path / "missing", "a") is None


def test_each_install_has_its_own_home(monkeypatch, tmp_path):
    monkeypatch.delenv("MCUGEN_PIO_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = offline.default_core_dir()
    assert first.parent == (tmp_path / "mcugen" / "platformio").resolve()
    assert first.name == home_key() and len(first.name) == 12
    monkeypatch.setattr(sys, "executable", "/another/checkout/.venv/bin/python")
    assert offline.default_core_dir() != first
    monkeypatch.setattr(offline, "__version__", "999.0")
    assert home_key() != first.name
    assert home_key("0" * 64) != home_key("1" * 64)  # another stand-in, another home
    monkeypatch.setenv("MCUGEN_PIO_HOME", str(tmp_path / "mine"))
    assert offline.default_core_dir() == (tmp_path / "mine").resolve()


def test_the_test_session_uses_a_private_home():
    """conftest points MCUGEN_PIO_HOME away from the user's ~/.cache for the whole session."""
    assert os.environ.get("MCUGEN_PIO_HOME")
    assert not offline.default_core_dir().is_relative_to(Path.home() / ".cache")


def test_board_manifests_come_from_mcugens_board_files():
    manifests = board_manifests()
    for board_id, manifest in manifests.items():
        assert manifest["build"]["cpu"].startswith("cortex-m") and manifest["build"]["f_cpu"].endswith("L")
        assert manifest["build"]["mcu"] == manifest["build"]["mcu"].lower()
        assert manifest["upload"]["maximum_size"] > 0 and manifest["upload"]["maximum_ram_size"] > 0
    from mcugen.boards import list_boards

    on_ststm32 = {b.platformio["board"] for b in list_boards()
                  if b.platformio.get("platform") == PLATFORM_NAME and not b.platformio.get("local_board")}
    assert set(manifests) == on_ststm32


def test_the_shipped_stand_in_is_named_ststm32():
    platform_dir = offline.dev_platform_dir()
    manifest = json.loads((platform_dir / "platform.json").read_text())
    assert manifest["name"] == "ststm32" and "mcugen" in manifest["keywords"]
    assert "class Ststm32Platform(" in (platform_dir / "platform.py").read_text()
    assert not (platform_dir / "boards").exists()  # generated into the installed copy only


# ------------------------------------------------------------------------------------------------
# Preparing


@needs_gcc
def test_prepare_installs_a_copy_and_is_idempotent(home):
    installed = home / "platforms" / PLATFORM_NAME
    assert (installed / "platform.json").is_file() and not installed.is_symlink()
    assert json.loads((installed / "platform.json").read_text())["name"] == "ststm32"
    assert not (home / "platforms" / f"{PLATFORM_NAME}.pio-link").exists()
    for board_id, manifest in board_manifests().items():
        assert json.loads((installed / "boards" / f"{board_id}.json").read_text()) == manifest
    stamp = home / STAMP
    before = stamp.stat().st_mtime_ns, (installed / "platform.json").stat().st_mtime_ns
    started = time.monotonic()
    prepare(home)
    again = time.monotonic() - started
    assert again < 0.5, again
    assert (stamp.stat().st_mtime_ns, (installed / "platform.json").stat().st_mtime_ns) == before


@needs_gcc
def test_a_changed_stand_in_is_installed_again(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shutil.copytree(offline.dev_platform_dir(), shipped, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(offline, "dev_platform_dir", lambda: shipped)
    core = tmp_path / "core"
    prepare(core)
    first = json.loads((core / STAMP).read_text())["platform"]["sha256"]
    (shipped / "README.md").write_text((shipped / "README.md").read_text() + "\nan upgrade\n")
    assert not offline._is_prepared(core, shipped)
    prepare(core)
    assert json.loads((core / STAMP).read_text())["platform"]["sha256"] != first
    assert (core / "platforms" / PLATFORM_NAME / "README.md").read_text().endswith("an upgrade\n")


# ------------------------------------------------------------------------------------------------
# Building


@needs_gcc
def test_a_plain_ststm32_project_builds_offline_and_moves(home, tmp_path):
    project = write_project(tmp_path / "made-here")
    ini = (project / "platformio.ini").read_text()
    assert "platform = ststm32\n" in ini
    assert str(tmp_path) not in ini and "://" not in ini and not any(
        word.startswith("/") for line in ini.splitlines() for word in line.replace("=", " ").split())
    run_project(project, ENV, pio_home=home)
    elf, binary, link_map = products(project)
    assert elf.read_bytes()[:4] == b"\x7fELF" and binary.stat().st_size > 8 and link_map.is_file()
    # The image's first word is the stack top from the linker script: it was linked with mcugen.ld.
    assert int.from_bytes(binary.read_bytes()[:4], "little") == 0x20000000 + 64 * 1024
    log = (project / ".pio" / "mcugen-build.log").read_text()
    assert "-mfloat-abi=hard" in log or "SUCCESS" in log

    for where in (tmp_path / "elsewhere" / "copy", tmp_path / "with a space" / "copy two"):
        shutil.copytree(project, where, ignore=shutil.ignore_patterns(".pio"))
        run_project(where, ENV, pio_home=home)
        assert products(where)[1].read_bytes() == binary.read_bytes()


@needs_gcc
def test_a_standard_board_id_resolves_in_the_stand_in(home, tmp_path):
    manifests = board_manifests()
    if not manifests:
        pytest.skip("no mcugen board names a PlatformIO ststm32 board")
    board_id = sorted(manifests)[0]
    project = write_project(tmp_path / "std", board=board_id, local_board=False)
    run_project(project, ENV, pio_home=home)
    assert products(project)[1].is_file()


@needs_gcc
def test_a_framework_is_refused_in_one_line(home, tmp_path):
    project = write_project(tmp_path / "fw")
    ini = project / "platformio.ini"
    ini.write_text(ini.read_text().replace("board = ", "framework = stm32cube\nboard = "))
    with pytest.raises(BuildError) as info:
        run_project(project, ENV, pio_home=home)
    line = info.value.one_line()
    assert "\n" not in line and "no frameworks" in line


@needs_gcc
def test_upload_custom_runs_the_upload_command_with_the_bin(home, tmp_path):
    record = tmp_path / "uploaded.txt"
    command = (f'{sys.executable} -c "import sys, pathlib; pathlib.Path(sys.argv[2]).write_text(sys.argv[1])" '
               f"$SOURCE {record}")
    project = write_project(tmp_path / "up load", upload_command=command)
    log = run_project(project, ENV, pio_home=home, extra=("-t", "upload"))
    assert "Uploading" in log
    # $SOURCE is firmware.bin (relative to the project folder, where `pio run` runs commands).
    assert (project / record.read_text()).resolve() == products(project)[1]


@needs_gcc
def test_upload_stlink_runs_st_flash_at_the_flash_origin(home, tmp_path, monkeypatch):
    """No ST-LINK here: a stand-in st-flash on PATH records what it was asked to write."""
    record = tmp_path / "st-flash.args"
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "st-flash"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{record}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    project = write_project(tmp_path / "stlink", upload="stlink")
    run_project(project, ENV, pio_home=home, extra=("-t", "upload"))
    args = record.read_text().split()
    assert args[:2] == ["--reset", "write"] and args[-1] == "0x08000000"
    assert (project / args[2]).resolve() == products(project)[1]


@needs_gcc
def test_other_upload_protocols_are_refused_in_one_line(home, tmp_path):
    project = write_project(tmp_path / "jlink", upload="jlink")
    with pytest.raises(BuildError) as info:
        run_project(project, ENV, pio_home=home, extra=("-t", "upload"))
    line = info.value.one_line()
    assert "\n" not in line and "upload_protocol = custom" in line and "'jlink'" in line


def test_other_platforms_use_the_users_home_and_say_when_they_need_the_registry(tmp_path, monkeypatch):
    """espressif32: no PLATFORMIO_CORE_DIR of mcugen's; offline, one line naming the registry."""
    import mcugen.build as build

    project = tmp_path / "esp"
    project.mkdir()
    (project / "platformio.ini").write_text("[env:esp32cam]\nplatform = espressif32\nboard = esp32cam\n")
    seen = tmp_path / "env.json"
    fake = ("import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w')); "
            "print('HTTPClientError: could not reach the registry'); sys.exit(1)")
    monkeypatch.setattr(build, "pio_command", lambda *args: [sys.executable, "-c", fake, str(seen)])
    monkeypatch.delenv("PLATFORMIO_CORE_DIR", raising=False)
    monkeypatch.setattr(offline, "prepare", lambda *a, **k: pytest.fail("prepared mcugen's home for espressif32"))
    with pytest.raises(BuildError) as info:
        run_project(project, "esp32cam")
    line = info.value.one_line()
    assert "'espressif32' must be fetched from the PlatformIO registry (needs network)" in line
    assert "PLATFORMIO_CORE_DIR" not in json.loads(seen.read_text())


# ------------------------------------------------------------------------------------------------
# Concurrency

_CHILD = """
import sys, time
from pathlib import Path
from mcugen.build import run_project
project, env, home, out = sys.argv[1:5]
started = time.time()
run_project(Path(project), env, pio_home=home or None)
Path(out).write_text(f"{started} {time.time()}")
"""


def _builds_at_once(jobs: list[tuple[Path, str]], tmp_path: Path) -> list[tuple[float, float]]:
    procs = []
    for i, (project, core) in enumerate(jobs):
        out = tmp_path / f"times-{i}"
        procs.append((subprocess.Popen([sys.executable, "-c", _CHILD, str(project), ENV, core, str(out)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO), out))
    times = []
    for proc, out in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        times.append(tuple(float(x) for x in out.read_text().split()))
    return times


@needs_gcc
def test_two_processes_build_at_once_in_one_home(home, tmp_path):
    a, b = write_project(tmp_path / "a"), write_project(tmp_path / "b")
    _builds_at_once([(a, str(home)), (b, str(home))], tmp_path)
    assert products(a)[1].read_bytes() == products(b)[1].read_bytes()


@needs_gcc
def test_two_processes_build_at_once_in_two_fresh_homes(tmp_path):
    """Two installs (two checkouts) at the same time: each prepares and builds in its own home."""
    a, b = write_project(tmp_path / "a"), write_project(tmp_path / "b")
    _builds_at_once([(a, str(tmp_path / "home-a")), (b, str(tmp_path / "home-b"))], tmp_path)
    for core in ("home-a", "home-b"):
        assert (tmp_path / core / STAMP).is_file()
    assert products(a)[1].is_file() and products(b)[1].is_file()


@needs_gcc
def test_a_build_holds_the_home_shared_and_a_re_prepare_waits(home, tmp_path):
    import fcntl

    with shared_lock(home):  # as a running build does
        with shared_lock(home):  # another build: shared locks do not exclude each other
            pass
        with open(home / offline.LOCK, "a") as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # A re-prepare (stale stamp) in another process must wait for the build.
        stamp = json.loads((home / STAMP).read_text())
        stamp["mcugen"] = "0.0.0-old"
        (home / STAMP).write_text(json.dumps(stamp))
        proc = subprocess.Popen([sys.executable, "-m", "mcugen.platformio_offline", str(home)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert json.loads((home / STAMP).read_text())["mcugen"] == offline.__version__
    with exclusive_lock(home):  # and nothing is left holding it
        pass


@needs_gcc
def test_run_pio_holds_the_lock_while_pio_runs(home, tmp_path, monkeypatch):
    import fcntl

    import mcugen.build as build

    probe = ("import fcntl, sys\nf = open(sys.argv[1], 'a')\n"
             "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    print('held')\n"
             "else:\n    print('free')\n")
    monkeypatch.setattr(build, "pio_command", lambda *args: [sys.executable, "-c", probe, str(home / offline.LOCK)])
    project = tmp_path / "p"
    project.mkdir()
    assert "held" in run_pio(project, ENV, offline.PlatformioHome(home, offline.dev_platform_dir()))
    with open(home / offline.LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards
        fcntl.flock(lock, fcntl.LOCK_UN)


@needs_gcc
def test_a_session_re_prepares_a_stale_home_and_holds_it(home):
    import fcntl

    stamp = json.loads((home / STAMP).read_text())
    stamp["platform"]["sha256"] = "0" * 64  # as after an upgrade of mcugen's stand-in
    (home / STAMP).write_text(json.dumps(stamp))
    with offline.session(home) as held:
        assert held.core_dir == home and offline._is_prepared(home, held.platform_dir)
        with open(home / offline.LOCK, "a") as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with exclusive_lock(home):
        pass
