"""Does TensorFlow Lite Micro accept a model? The fuzzer's oracle.

One long-lived child process (this file run as a script) loads each model it is
sent with the real tflite-micro interpreter, allocates it and invokes it once on
zeros; a model that makes it crash or hang costs only that child, which is then
started again. Frames are mcugen.reference_child's (a length and a pickle).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_ARENA = 8 * 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    detail: str  # TFLM's error, "crashed (signal N)" or "hung"


class TflmOracle:
    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL)
        return self.proc

    def judge(self, model: bytes) -> Verdict:
        from mcugen.reference_child import read_frame, write_frame

        proc = self._start()
        try:
            write_frame(proc.stdin, model)
        except BrokenPipeError:
            self.close()
            return self.judge(model)
        # A watchdog rather than select(): the pickle frame may arrive in pieces.
        import threading

        timer = threading.Timer(self.timeout, proc.kill)
        timer.start()
        try:
            verdict = read_frame(proc.stdout)
        except EOFError:
            code = proc.wait()
            self.proc = None
            return Verdict(False, "hung" if not timer.is_alive() else f"crashed (exit {code})")
        finally:
            timer.cancel()
        return Verdict(verdict[0] == "ok", verdict[1])

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _judge_one(runtime, np, model: bytes) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    try:
        interp = runtime.Interpreter.from_bytes(model, arena_size=_ARENA)
        index = 0
        while True:
            try:
                details = interp.get_input_details(index)
            except Exception:  # noqa: BLE001 - past the last input
                break
            interp.set_input(np.zeros(details["shape"], dtype=details["dtype"]), index)
            index += 1
        interp.invoke()
    except Exception as exc:  # noqa: BLE001 - the binding raises RuntimeError/ValueError with TFLM's message
        return "refused", f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    return "ok", ""


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numpy as np
    from tflite_micro import runtime

    from mcugen.reference_child import read_frame, write_frame

    import tempfile

    frames = os.fdopen(os.dup(1), "wb")
    # TFLM's C++ prints why it refuses (MicroPrintf): keep that off the frame stream,
    # in a file read back after each model.
    log = tempfile.TemporaryFile()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    while True:
        try:
            model = read_frame(sys.stdin.buffer)
        except EOFError:
            return 0
        log.seek(0)
        log.truncate()
        verdict, detail = _judge_one(runtime, np, model)
        if verdict != "ok":
            log.seek(0)
            printed = [line for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
            detail = " / ".join(printed[-3:] + [detail])
        write_frame(frames, (verdict, detail))


if __name__ == "__main__":
    sys.exit(main())
