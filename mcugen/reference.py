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
    """Runs a model on TFLM's reference kernels, one input set at a time, in a child
    process (mcugen/reference_child.py): its crash or hang becomes a
    ReferenceInterpreterError naming the model, never a crash of mcugen."""

    def __init__(self, model_path: str | Path, timeout: float = 120.0, preserve: bool = False):
        """preserve: keep every tensor after a run (TFLM's kPreserveAllTensors, so no
        arena reuse), for run_with_tensors; the outputs are the same either way."""
        import tempfile

        self.model_path = Path(model_path)
        self.timeout = timeout
        self.preserve = preserve
        # The child's stderr (TFLM's own messages) goes to a file: a pipe nobody reads
        # could fill and stall it.
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "mcugen.reference_child", str(model_path), str(_MEASURE_ARENA)]
            + (["preserve"] if preserve else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        kind, detail = self._reply("loading")
        if kind != "ready":
            self.close()
            hint = "pip install tflite-micro" if "not installed" in str(detail) else None
            raise ReferenceInterpreterError(f"tflite-micro {detail} ({self.model_path.name})" if hint is None
                                            else f"{detail}", hint)

    def _reply(self, doing: str) -> tuple[str, object]:
        import select

        from .reference_child import read_frame

        ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout)
        if not ready:
            self.close()
            raise ReferenceInterpreterError(f"tflite-micro hung {doing} {self.model_path.name} (no answer in "
                                            f"{self.timeout:.0f} s): TFLite Micro cannot run this model, so mcugen "
                                            f"cannot check it")
        try:
            return read_frame(self._proc.stdout)
        except EOFError:
            code = self._proc.wait()
            self.close()
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            raise ReferenceInterpreterError(f"tflite-micro crashed ({how}) {doing} {self.model_path.name}: TFLite "
                                            f"Micro cannot run this model, so mcugen cannot check it") from None

    def run(self, inputs: list[np.ndarray], n_outputs: int) -> list[np.ndarray]:
        return self._request(([np.asarray(x) for x in inputs], n_outputs))  # type: ignore[return-value]

    def run_with_tensors(self, inputs: list[np.ndarray], n_outputs: int,
                         tensors: list[int]) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """The outputs and the named tensors (indices in the model file) after one run.
        Needs preserve=True: otherwise TFLM has reused most tensors' bytes by the end."""
        if not self.preserve:
            raise ValueError("run_with_tensors needs TflmInterpreter(..., preserve=True)")
        outputs, found = self._request(([np.asarray(x) for x in inputs], n_outputs, list(tensors)))  # type: ignore[misc]
        return outputs, found

    def _request(self, request: tuple) -> object:
        from .reference_child import write_frame

        if self._proc is None or self._proc.poll() is not None:
            raise ReferenceInterpreterError(f"tflite-micro is no longer running for {self.model_path.name}")
        try:
            write_frame(self._proc.stdin, request)
        except BrokenPipeError:
            pass  # the reply below says how it died
        kind, value = self._reply("running")
        if kind != "ok":
            raise ReferenceInterpreterError(f"tflite-micro {value} ({self.model_path.name})")
        return value

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout, self._log):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._proc = None

    def __enter__(self) -> "TflmInterpreter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
