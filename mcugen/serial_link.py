"""Open the serial link to a board's agent: any pyserial URL, one clear error if it fails."""

from __future__ import annotations

import hashlib
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import serial

from .agent_client import AgentClient, TraceEvent
from .protocol import PortError


def _trace_to_stderr(event: TraceEvent) -> None:
    print(f"trace: {event}", file=sys.stderr)


@contextmanager
def open_link(url: str, *, baud: int = 115200, timeout: float = 5.0, model_path: Path | None = None,
              trace: bool = False) -> Iterator[AgentClient]:
    """An AgentClient on ``url`` (a device path, socket://host:port, rfc2217://..., ...).

    With ``model_path`` the client refuses firmware generated from another model."""
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=0.05, do_not_open=False)
    except (serial.SerialException, ValueError) as exc:
        raise PortError(f"cannot open serial port {url}: {exc}",
                          "give a device such as /dev/ttyACM0, or socket://HOST:PORT for an emulated board") from None
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest() if model_path else None
    try:
        yield AgentClient(port, timeout=timeout, trace=_trace_to_stderr if trace else None, model_sha256=sha)
    finally:
        port.close()
