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


@dataclass(frozen=True)
class DetectionOutputs:
    """Where one TFLite_Detection_PostProcess layer's outputs are among the model's."""

    boxes: int
    classes: int
    scores: int
    count: int
    tensors: tuple[int, int, int, int]  # the same four as tensor indices in the model file


def fast_nms_outputs(model_path: str | Path) -> list[DetectionOutputs]:
    """The fast-NMS TFLite_Detection_PostProcess layers whose outputs are all model outputs.

    TFLite Micro's fast NMS writes only the detections it makes: the slots after
    them keep whatever the arena held (an earlier input's detections, or other
    tensors' bytes), so they are not an output of the model. mcugen's kernel writes
    zeros there, and the reference's outputs get the same zeros (TflmInterpreter.run)
    so that every slot TFLite Micro defines is still compared bit for bit."""
    from .errors import McugenError
    from .ops import DETECTION_POSTPROCESS
    from .tflite_reader import read_tflite

    try:
        graph = read_tflite(model_path)
    except McugenError:
        return []  # not mcugen's to judge here: the interpreter reports what it makes of it
    position = {t: k for k, t in enumerate(graph.outputs)}
    found = []
    for op in graph.operators:
        if (op.op == DETECTION_POSTPROCESS and not op.options.get("use_regular_nms", False)
                and len(op.outputs) == 4 and all(t in position for t in op.outputs)):
            found.append(DetectionOutputs(*(position[t] for t in op.outputs), tensors=tuple(op.outputs)))
    return found


def clear_undefined_detections(outputs: list[np.ndarray], layers: list[DetectionOutputs]) -> list[np.ndarray]:
    """Zero the slots after each fast-NMS layer's detections (see fast_nms_outputs)."""
    for layer in layers:
        if max(layer.boxes, layer.classes, layer.scores, layer.count) >= len(outputs):
            continue
        count = outputs[layer.count].reshape(-1)
        made = int(count[0]) if count.size and np.isfinite(count[0]) else 0
        for pos in (layer.boxes, layer.classes, layer.scores):
            out = np.array(outputs[pos], copy=True)
            if out.ndim >= 2:
                out[:, max(0, made):] = 0
            outputs[pos] = out
    return outputs


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
        self._detections = fast_nms_outputs(model_path)
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
        outputs = self._request(([np.asarray(x) for x in inputs], n_outputs))
        return clear_undefined_detections(list(outputs), self._detections)  # type: ignore[arg-type]

    def run_with_tensors(self, inputs: list[np.ndarray], n_outputs: int,
                         tensors: list[int]) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """The outputs and the named tensors (indices in the model file) after one run.
        Needs preserve=True: otherwise TFLM has reused most tensors' bytes by the end."""
        if not self.preserve:
            raise ValueError("run_with_tensors needs TflmInterpreter(..., preserve=True)")
        outputs, found = self._request(([np.asarray(x) for x in inputs], n_outputs, list(tensors)))  # type: ignore[misc]
        outputs = clear_undefined_detections(list(outputs), self._detections)
        for layer in self._detections:  # the same slots as intermediate tensors (--per-layer)
            for t, pos in zip(layer.tensors[:3], (layer.boxes, layer.classes, layer.scores)):
                if t in found and pos < len(outputs):
                    found[t] = outputs[pos].reshape(np.shape(found[t]))
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
