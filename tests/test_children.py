"""Children that never outlive mcugen (mcugen/children.py): a stopped wait ends the
child's whole process group, grandchildren included, as PlatformIO's SCons and
compilers are."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from mcugen.children import run_group


def _alive(marker: str) -> str:
    return subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout.strip()


def test_a_timeout_ends_the_grandchildren_too():
    marker = "sleep 31.7"
    with pytest.raises(subprocess.TimeoutExpired):
        run_group(["sh", "-c", f"{marker} & {marker}"], timeout=0.5)
    time.sleep(0.2)
    assert _alive(marker) == ""


def test_sigint_to_the_parent_alone_ends_the_grandchildren():
    """The parent (standing in for mcugen) is interrupted; nobody signals its children."""
    marker = "sleep 32.3"
    parent = subprocess.Popen(
        [sys.executable, "-c", "from mcugen.children import run_group\n"
                               f"run_group(['sh', '-c', '{marker} & {marker}'])"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(marker).count("\n") < 1:
        time.sleep(0.05)
    assert _alive(marker), "the children never started"
    parent.send_signal(signal.SIGINT)
    parent.communicate(timeout=10)
    assert parent.returncode != 0
    time.sleep(0.2)
    assert _alive(marker) == ""


def test_output_and_exit_code_come_back():
    proc = run_group(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
