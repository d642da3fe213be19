"""`mcugen flash`: put a project's firmware on its board and check that it answers.

    result = flash_project("firmware_out")          # find the board, upload, wait for HELLO
    result.port, result.hello.board, result.hello.model_sha256_hex

1. The port: the one given, or on a real board the one USB serial port whose VID:PID
   the board file lists ([serial] usb_ids; one clear line when none or several are
   found); an emulated board's port is that of the QEMU the upload starts.
2. Upload through PlatformIO (`pio run -t upload`) by the board's upload protocol; an
   emulated board's upload_command (mcugen.emulator_upload) boots the image in a QEMU
   left running, as a powered board, stopped by the next flash or `--stop`.
3. Verify: wait for the firmware's HELLO (boards reset after an upload), then check
   that it was generated from this project's model; a wrong one is one line, exit 2.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .boards import Board, get_board
from .errors import McugenError
from .firmware import built_elf_path, read_metadata
from .protocol import AgentError, Hello, ModelMismatchError

EMULATOR_STATE = "mcugen-emulator.json"  # in .pio/: the QEMU a flash left running


class FlashError(McugenError):
    """No board, several boards, or the board does not answer as expected."""

    exit_code = 3


@dataclass
class FlashResult:
    board: Board
    port: str
    hello: Hello
    uploaded: bool


def find_port(board: Board, ports: Iterable[Any]) -> str:
    """The one serial port whose USB VID:PID the board file lists (pyserial ListPortInfo-like)."""
    wanted = set(board.serial_usb_ids)
    if not wanted:
        raise FlashError(f"board '{board.id}' names no USB id to find its serial port by", "give --port")
    found = [p for p in ports if getattr(p, "vid", None) is not None
             and f"{p.vid:04x}:{p.pid:04x}" in wanted]
    if not found:
        raise FlashError(f"no serial port with USB id {', '.join(sorted(wanted))} ({board.serial.get('host_link', '')})",
                         "is the board (or its USB-serial adapter) plugged in? or give --port")
    if len(found) > 1:
        names = ", ".join(sorted(p.device for p in found))
        raise FlashError(f"several serial ports could be {board.id}: {names}", "give --port PORT")
    return found[0].device


def _emulator_state(project: Path) -> Path:
    return project / ".pio" / EMULATOR_STATE


def stop_emulated(project: str | Path) -> bool:
    """Stops the QEMU a flash of this project left running; False if there was none."""
    state = _emulator_state(Path(project))
    try:
        pid = json.loads(state.read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return False
    state.unlink(missing_ok=True)
    try:
        os.kill(int(pid), signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def record_emulated(project: str | Path, pid: int, url: str, elf: Path) -> None:
    """Where the emulated board this project was flashed to listens (emulator_upload writes it)."""
    state = _emulator_state(Path(project))
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"pid": pid, "url": url, "elf": str(elf)}) + "\n")


def _emulated_url(project: Path) -> str:
    try:
        return json.loads(_emulator_state(project).read_text())["url"]
    except (OSError, ValueError, KeyError):
        raise FlashError(f"no emulated board is running {project}", f"mcugen flash {project}") from None


def wait_for_hello(url: str, expected_sha256: str, *, baud: int, seconds: float) -> Hello:
    """HELLO from the firmware on url within `seconds`, from this model."""
    from .serial_link import open_link

    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with open_link(url, baud=baud, timeout=1.0) as client:
                hello = client.hello()
        except AgentError as exc:  # not up yet (reset after upload, port re-enumerating)
            last = exc
            time.sleep(0.5)
            continue
        if hello.model_sha256_hex != expected_sha256:
            raise ModelMismatchError(f"the board on {url} runs firmware {hello.build_id} for another model "
                                     f"(SHA-256 {hello.model_sha256_hex[:12]}, not {expected_sha256[:12]})",
                                     "flash the right project, or check --port names the right board")
        return hello
    raise FlashError(f"no HELLO from the firmware on {url} within {seconds:g} s"
                     + (f" ({last.one_line()})" if isinstance(last, McugenError) else ""),
                     "is the port right, and does the firmware run? (README: the board's section)")


def flash_project(project_dir: str | Path, port: str | None = None, *, upload: bool = True,
                  wait_seconds: float = 20.0, list_ports: Callable[[], Iterable[Any]] | None = None
                  ) -> FlashResult:
    project = Path(project_dir).resolve()
    meta = read_metadata(project)
    board = get_board(meta["board"])
    baud = int(board.serial["baud"])
    if port is None and not board.emulated:
        if list_ports is None:
            from serial.tools.list_ports import comports as list_ports
        port = find_port(board, list_ports())
    if upload:
        from .build import build_project, upload_project

        if not built_elf_path(project, meta["env"]).is_file():
            build_project(project)  # one clear line for a build error, before the upload's log
        # By the board's protocol; an emulated board's boots the image (mcugen.emulator_upload).
        upload_project(project, port=None if board.emulated else port)
    if port is None:  # emulated: where the upload's QEMU listens
        port = _emulated_url(project)
    hello = wait_for_hello(port, meta["model_sha256"], baud=baud, seconds=wait_seconds)
    return FlashResult(board, port, hello, upload)
