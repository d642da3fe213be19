"""The benchmark agent and a generated model built natively for this machine
(templates/ports/host), for fast tests of the whole link without QEMU.

    exe = build_host_agent("model.tflite", workdir)
    with host_agent(exe) as url:                       # "socket://127.0.0.1:PORT"
        port = serial.serial_for_url(url, baudrate=115200)
        ...

The host port's counter is nanoseconds of the agent thread's CPU time, reported
as cycles of a nominal 1 GHz clock (counter kind 0).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

from . import __version__
from .codegen.emit import template_environment
from .errors import McugenError
from .generate import compile_model
from .resources import templates_dir

AGENT_DIR = Path(__file__).resolve().parent / "agent"
AGENT_FILES = ("mcugen_board.h", "mcugen_app.h", "mcugen_frame.h", "mcugen_frame.c", "mcugen_agent.h", "mcugen_agent.c")
HOST_BOARD_ID = "host"
HOST_CLOCK_HZ = 1_000_000_000
EXE_NAME = "mcugen_host_agent"
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
# LeakSanitizer cannot run under some debuggers and containers; the agent allocates nothing anyway.
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}


class HostAgentError(McugenError):
    """The host agent could not be built or started."""


def host_agent_sources(model_path: str | Path) -> dict[str, str]:
    """Every file of the host agent build, name -> text: the generated model, the
    agent, the host board port and its mcugen_board_config.h."""
    model = compile_model(model_path)
    sha = model.module.model_sha256
    files = dict(model.files)
    for name in AGENT_FILES:
        files[name] = (AGENT_DIR / name).read_text()
    port_dir = templates_dir() / "ports" / "host"
    for name in ("board_host.c", "mcugen_host_link.c", "mcugen_host_link.h"):
        files[name] = (port_dir / name).read_text()
    files["mcugen_app_bench.c"] = (templates_dir() / "apps" / "bench" / "mcugen_app_bench.c").read_text()
    files["mcugen_board_config.h"] = template_environment().get_template("ports/host/mcugen_board_config.h.j2").render(
        version=__version__, board_id=HOST_BOARD_ID, clock_hz=HOST_CLOCK_HZ, counter_kind=0,
        build_id=f"mcugen {__version__} host {sha[:12]}")
    return files


def build_host_agent(model_path: str | Path, workdir: str | Path, *, sanitize: bool = True,
                     cc: str | None = None, optimize: str = "-O1") -> Path:
    """Generates the model and compiles it with the agent and the host port;
    returns the executable. Reuses an earlier build of the same sources."""
    workdir = Path(workdir)
    src = workdir / "src"
    src.mkdir(parents=True, exist_ok=True)
    files = host_agent_sources(model_path)
    compiler = cc or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise HostAgentError(f"no C compiler '{compiler}' to build the host agent", "install gcc or clang")
    flags = ["-std=c99", optimize, "-g", "-Wall", "-Wextra", "-Werror", "-DMCUGEN_PROFILE"]
    if sanitize:
        flags += SANITIZE_FLAGS
    digest = hashlib.sha256(repr((sorted(files.items()), compiler, flags)).encode()).hexdigest()
    exe = workdir / EXE_NAME
    stamp = workdir / (EXE_NAME + ".sha256")
    if exe.exists() and stamp.exists() and stamp.read_text() == digest:
        return exe
    for old in src.iterdir():
        old.unlink()
    for name, text in files.items():
        (src / name).write_text(text)
    sources = sorted(str(src / n) for n in files if n.endswith(".c"))
    proc = subprocess.run([compiler, *flags, "-I", str(src), "-o", str(exe), *sources, "-lm"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise HostAgentError(f"building the host agent for {Path(model_path).name} failed:\n{tail}",
                             f"the sources are in {src}")
    stamp.write_text(digest)
    return exe


class HostAgentProcess:
    """One running host agent listening on 127.0.0.1. restart() kills it and
    starts a fresh one on the same port, as a board reset would (new state, BOOT
    to the next client)."""

    def __init__(self, exe: str | Path, port: int = 0, log: str | Path | None = None, start_timeout: float = 20.0):
        self.exe = Path(exe)
        self.port = port
        self.log = Path(log) if log else self.exe.with_suffix(".log")
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> "HostAgentProcess":
        env = dict(os.environ, **SANITIZER_ENV)
        mode = "w" if self.starts == 0 else "a"
        with open(self.log, mode) as log:
            self.proc = subprocess.Popen([str(self.exe), "--port", str(self.port)], stdout=subprocess.PIPE,
                                         stderr=log, env=env, text=True)
        self.starts += 1
        line = self._first_line()
        try:
            self.port = int(line.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            self.stop()
            raise HostAgentError(f"the host agent did not start: {line.strip() or 'no output'}",
                                 f"see {self.log}") from None
        return self

    def _first_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        # The agent prints one line once it listens (a port in TIME_WAIT may take a moment to rebind).
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=0.1):
                    return self.proc.stdout.readline()
                if self.proc.poll() is not None:
                    return ""
        return ""

    def stop(self) -> int | None:
        """Kills the agent (SIGKILL: a power cut, no goodbye) and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        return code

    def restart(self) -> None:
        self.stop()
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                self.start()
                return
            except HostAgentError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def sanitizer_report(self) -> str:
        """Whatever AddressSanitizer/UBSan wrote to the log ('' if nothing)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        markers = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer", "SUMMARY:")
        return text if any(m in text for m in markers) else ""

    def __enter__(self) -> "HostAgentProcess":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def host_agent(exe: str | Path, port: int = 0) -> Iterator[str]:
    """Runs the host agent on a free port (or ``port``) and yields its pyserial URL."""
    with HostAgentProcess(exe, port) as agent:
        yield agent.url
