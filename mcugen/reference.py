"""The oracle: TensorFlow Lite Micro's reference kernels via the tflite-micro package.

Used for the arena TFLM would need (compared with mcugen's plan) and, later, for
the outputs mcugen's generated C must match bit for bit.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ReferenceInterpreterError

# Big enough for every model that fits a microcontroller; TFLM only records what it uses.
_MEASURE_ARENA = 16 * 1024 * 1024
_ALLOC_LINE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")

# print_allocations() writes from C++ straight to a file descriptor, which Python cannot
# redirect in-process; a child process gives us its stdout cleanly.
_MEASURE_SCRIPT = """
import sys
from tflite_micro import runtime
interp = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
sys.stdout.flush()
interp.print_allocations()
"""


@dataclass(frozen=True)
class TflmArena:
    total: int
    head: int  # non-persistent: activations and scratch, what mcugen's plan replaces
    tail: int  # persistent: TFLM's own bookkeeping


def tflm_arena(model_path: str | Path, timeout: float = 120.0) -> TflmArena:
    """Measure TFLM's arena for ``model_path``; raises ReferenceInterpreterError if it cannot."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE_SCRIPT, str(model_path), str(_MEASURE_ARENA)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise ReferenceInterpreterError(f"tflite-micro took over {timeout:.0f} s to load {model_path}") from None
    # The recorder logs through TFLM's MicroPrintf, which goes to stdout or stderr
    # depending on the build; read both.
    found = {kind: int(n) for kind, n in _ALLOC_LINE.findall(proc.stdout + proc.stderr)}
    if proc.returncode != 0 or len(found) != 3:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReferenceInterpreterError(
            f"tflite-micro could not allocate {Path(model_path).name}: {detail}",
            "pip install tflite-micro" if "No module named" in detail else None,
        )
    return TflmArena(found["total"], found["head"], found["tail"])


class TflmInterpreter:
    """Runs a model on TFLM's reference kernels, one input set at a time."""

    def __init__(self, model_path: str | Path):
        try:
            from tflite_micro import runtime
        except ImportError:
            raise ReferenceInterpreterError(
                "the tflite-micro reference interpreter is not installed", "pip install tflite-micro"
            ) from None
        try:
            self._interp = runtime.Interpreter.from_file(str(model_path), arena_size=_MEASURE_ARENA)
        except Exception as exc:  # the binding raises plain RuntimeError with TFLM's message
            raise ReferenceInterpreterError(f"tflite-micro could not load {model_path}: {exc}") from None

    def run(self, inputs: list[np.ndarray], n_outputs: int) -> list[np.ndarray]:
        for i, x in enumerate(inputs):
            self._interp.set_input(x, i)
        self._interp.invoke()
        return [np.array(self._interp.get_output(i), copy=True) for i in range(n_outputs)]
