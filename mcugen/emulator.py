"""Run a firmware ELF on an emulated board: QEMU, its UART on a local TCP socket.

    with Emulator(board, elf) as emu:
        link = serial.serial_for_url(emu.url, timeout=2)   # "socket://127.0.0.1:PORT"
        ...

QEMU is started with the board file's [qemu] machine and:

- `-icount shift=N`: every guest instruction takes exactly 2^N ns of virtual
  time, so SysTick (which runs on virtual time) counts instructions, and the
  same firmware gives the same counts on every run and every host. N is the
  smallest shift that gives at least one SysTick tick per instruction
  (2^N * f_cpu >= 1 GHz): N = 6 for the 25 MHz mps2-an500 (1.6 ticks per
  instruction), N = 3 for the 168 MHz netduinoplus2 (1.344). A coarser shift
  would make several instructions share one tick. The firmware is generated
  with the same N and converts ticks back to instructions (icount_settings()).
  A board file may fix N with [qemu] icount_shift.
- `-serial tcp:127.0.0.1:PORT,server=on,wait=on`: QEMU listens on a free local
  port and does not start the guest until a client connects, so nothing the
  firmware prints at boot (its BOOT frame) is lost.
- `-monitor none -display none -nodefaults`: headless, no default devices.

QEMU stops when the `with` block ends, however it ends (exceptions, Ctrl-C),
and also if this process dies (Linux: the parent-death signal).
"""

from __future__ import annotations

import ctypes
import math
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .boards import Board
from .errors import McugenError

QEMU = "qemu-system-arm"
# Printed by QEMU for every mps2 machine started with -nodefaults; harmless.
_HARMLESS_STDERR = ("has no peer",)
_READY_TEXT = "waiting for connection"


class EmulatorError(McugenError):
    """QEMU is missing, refused the board or the image, or stopped unexpectedly."""


@dataclass(frozen=True)
class IcountSettings:
    """How virtual time relates to instructions for one board under `-icount shift`."""

    shift: int
    clock_hz: int

    @property
    def ticks_per_instruction(self) -> Fraction:
        """SysTick ticks (core clock) per instruction: 2^shift ns * f_cpu."""
        return Fraction(2**self.shift * self.clock_hz, 10**9)

    @property
    def num(self) -> int:
        """instructions = ticks * num / den"""
        return (1 / self.ticks_per_instruction).numerator

    @property
    def den(self) -> int:
        return (1 / self.ticks_per_instruction).denominator


def icount_settings(board: Board) -> IcountSettings:
    if not board.qemu:
        raise EmulatorError(f"board '{board.id}' is not emulated (no [qemu] table)",
                            "emulated boards: see 'mcugen boards'")
    shift = board.qemu.get("icount_shift")
    if shift is None:
        shift = max(0, math.ceil(math.log2(10**9 / board.clock_hz)))
        while 2**shift * board.clock_hz < 10**9:  # guard against log2 rounding
            shift += 1
    return IcountSettings(int(shift), board.clock_hz)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: QEMU gets SIGTERM if this Python process dies without cleaning up (kill -9).

    The kernel sends it when the *thread* that started QEMU ends, so start an
    Emulator from a thread that outlives it (the main thread, typically)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def qemu_command(qemu: str, board: Board, elf: Path, port: int, *, wait_for_client: bool) -> list[str]:
    """QEMU for the board with the ELF loaded, exact counts (-icount) and its UART on a
    TCP server at 127.0.0.1:port; with wait_for_client the guest starts only once a
    client connects (nothing it sends is lost)."""
    q = board.qemu or {}
    return [qemu, "-M", q["machine"], *(["-cpu", q["cpu"]] if q.get("cpu") else []),
            "-kernel", str(elf),
            "-icount", f"shift={icount_settings(board).shift}",
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait={'on' if wait_for_client else 'off'}",
            "-monitor", "none",
            "-display", "none",
            "-nodefaults"]


class Emulator:
    """QEMU running one ELF for one board, its UART at `.url`. A context manager."""

    def __init__(self, board: Board, elf: str | Path, *, qemu: str = QEMU, start_timeout: float = 10.0,
                 extra_args: tuple[str, ...] = ()):
        self.board = board
        self.elf = Path(elf)
        self.qemu = qemu
        self.start_timeout = start_timeout
        self.extra_args = tuple(extra_args)
        self.icount = icount_settings(board)
        self.port: int | None = None
        self.command: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._stderr: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- public ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmulatorError("the emulator is not running", "use it as 'with Emulator(board, elf) as emu:'")
        return f"socket://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        """What QEMU printed on stderr so far, without its known harmless warnings."""
        return "\n".join(line for line in list(self._stderr)
                         if not any(h in line for h in _HARMLESS_STDERR) and _READY_TEXT not in line)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check_alive(self) -> None:
        """Raises EmulatorError (with QEMU's stderr) if QEMU has stopped."""
        if self._proc is not None and self._proc.poll() is not None:
            raise EmulatorError(f"QEMU ({self.board.qemu['machine']}) stopped with exit code {self._proc.returncode}"
                                f"{self._stderr_summary()}", "the firmware may have locked up; see the line above")

    def open_serial(self, timeout: float = 2.0):
        """The UART as a pyserial object (connecting starts the guest)."""
        import serial

        return serial.serial_for_url(self.url, timeout=timeout)

    def start(self) -> "Emulator":
        if self._proc is not None:
            raise EmulatorError("the emulator is already running")
        if not self.elf.is_file():
            raise EmulatorError(f"firmware image {self.elf} not found", "build it first: mcugen build")
        # QEMU loads the image only once a client connects to the serial port, so a bad
        # file would surface as a dropped connection: check it here instead.
        with open(self.elf, "rb") as f:
            header = f.read(20)
        if header[:4] != b"\x7fELF" or header[4] != 1 or int.from_bytes(header[18:20], "little") != 40:
            raise EmulatorError(f"{self.elf} is not a 32-bit Arm ELF image", "pass the firmware.elf that mcugen build made")
        qemu = shutil.which(self.qemu)
        if not qemu:
            raise EmulatorError(f"{self.qemu} not found on PATH",
                                "Debian/Ubuntu: apt-get install qemu-system-arm; macOS: brew install qemu")
        last_error = None
        for _ in range(3):  # a free port can be taken between choosing it and QEMU binding it
            try:
                self._launch(qemu, _free_port())
                return self
            except EmulatorError as exc:
                last_error = exc
                if "Address already in use" not in exc.message:
                    raise
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.port = None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2)
        if proc.stderr:
            proc.stderr.close()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __del__(self):  # a forgotten emulator must not outlive its owner
        try:
            self.stop()
        except Exception:  # pragma: no cover
            pass

    # -- internals -----------------------------------------------------------------------------

    def _launch(self, qemu: str, port: int) -> None:
        q = self.board.qemu or {}
        cmd = qemu_command(qemu, self.board, self.elf, port, wait_for_client=True) + list(self.extra_args)
        self.command = cmd
        self._stderr = []
        self._ready.clear()
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True, errors="replace",
                                          preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        except OSError as exc:
            raise EmulatorError(f"cannot start {qemu}: {exc}") from None
        self._stderr_thread = threading.Thread(target=self._read_stderr, args=(self._proc,), daemon=True)
        self._stderr_thread.start()

        try:
            self._wait_ready(q["machine"])
        except BaseException:  # Ctrl-C while waiting too: never leave QEMU behind
            self.stop()
            raise
        self.port = port

    def _wait_ready(self, machine: str) -> None:
        assert self._proc is not None and self._stderr_thread is not None
        deadline = time.monotonic() + self.start_timeout
        while not self._ready.wait(timeout=0.05):
            if self._proc.poll() is not None:
                self._stderr_thread.join(timeout=2)
                code = self._proc.returncode
                raise EmulatorError(f"QEMU ({machine}) exited at start with code {code}"
                                    f"{self._stderr_summary()}", "check the ELF was built for this board")
            if time.monotonic() > deadline:
                raise EmulatorError(f"QEMU ({machine}) did not open its serial port within "
                                    f"{self.start_timeout:g} s{self._stderr_summary()}")

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line.rstrip())
            if _READY_TEXT in line:
                self._ready.set()

    def _stderr_summary(self) -> str:
        text = self.stderr.strip()
        if not text:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return ": " + " | ".join(lines[-3:])


def boot_detached(board: Board, elf: str | Path, log_path: Path, *, qemu: str = QEMU,
                  start_timeout: float = 10.0) -> tuple[int, str]:
    """Boots the ELF in a QEMU that outlives this process (an emulated board left powered
    on, as `mcugen flash` leaves a real one): returns its pid and serial URL. The guest
    runs at once; what it sends before a client connects is lost, as on a real UART."""
    binary = shutil.which(qemu)
    if not binary:
        raise EmulatorError(f"{qemu} not found on PATH", "Debian/Ubuntu: apt-get install qemu-system-arm")
    q = board.qemu or {}
    port = _free_port()
    cmd = qemu_command(binary, board, Path(elf), port, wait_for_client=False)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        except OSError as exc:
            raise EmulatorError(f"cannot start {binary}: {exc}") from None
    deadline = time.monotonic() + start_timeout
    while True:
        if proc.poll() is not None:
            raise EmulatorError(f"QEMU ({q['machine']}) exited at start with code {proc.returncode}",
                                f"its output is in {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise EmulatorError(f"QEMU ({q['machine']}) did not open its serial port within {start_timeout:g} s",
                                    f"its output is in {log_path}") from None
            time.sleep(0.05)
    return proc.pid, f"socket://127.0.0.1:{port}"


def describe_command(emulator: Emulator) -> str:
    """The QEMU command line, quoted, for logs and bug reports."""
    import shlex

    return " ".join(shlex.quote(part) for part in emulator.command)


__all__ = ["boot_detached", "Emulator", "EmulatorError", "IcountSettings", "icount_settings", "describe_command", "QEMU"]
