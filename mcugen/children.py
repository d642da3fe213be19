"""Child processes that never outlive mcugen.

PlatformIO starts SCons, which starts the compilers. If mcugen is stopped (Ctrl-C,
or SIGINT/SIGTERM sent to it alone), killing PlatformIO alone would leave those
running. So each such child starts in a process group of its own, and anything that
ends the wait (an interrupt, a timeout) ends the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any


def kill_group(proc: subprocess.Popen) -> None:
    """Stop proc and everything it started: SIGTERM, then SIGKILL for what lingers."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pgid is not None:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=3)
            break
        except subprocess.TimeoutExpired:
            continue


def run_group(cmd: list[str], *, timeout: float | None = None, input: str | bytes | None = None,
              **kwargs: Any) -> subprocess.CompletedProcess:
    """subprocess.run, with the command and all it starts in one group that is killed
    whole if mcugen is interrupted or the timeout passes (TimeoutExpired is raised)."""
    stdout = kwargs.pop("stdout", subprocess.PIPE if kwargs.pop("capture_output", False) else None)
    stderr = kwargs.pop("stderr", subprocess.PIPE if stdout == subprocess.PIPE else None)
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, start_new_session=True,
                            stdin=kwargs.pop("stdin", subprocess.PIPE if input is not None else None), **kwargs)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except BaseException:
        kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
