"""The tflite-micro interpreter in a process of its own (run by mcugen.reference).

A model that crashes the interpreter's C++ (a segmentation fault on a corrupted
file) or makes it hang must cost one line and an exit code, never mcugen itself:
so the interpreter lives here, and talks to its parent over stdin/stdout in frames
of an 8-byte little-endian length and a pickle.

    python -m mcugen.reference_child MODEL ARENA_BYTES [preserve]

First reply: ("ready", None) or ("error", message). Then each request
(inputs, n_outputs) gets ("ok", outputs) or ("error", message); EOF ends it.
With `preserve` the interpreter keeps every tensor (TFLM's kPreserveAllTensors:
no arena reuse), and a request (inputs, n_outputs, tensor_indices) gets
("ok", (outputs, {index: tensor})): `validate --per-layer` reads each layer's
output. The indices must exist in the model (TFLM's GetTensor does not check them).
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import Any, BinaryIO


def read_frame(stream: BinaryIO) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)


def write_frame(stream: BinaryIO, value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(body)) + body)
    stream.flush()


def main() -> int:
    import os
    import signal

    import numpy as np

    # Ctrl-C reaches the whole process group: the parent decides what it means (a
    # partial report, say) and closes this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # TFLM's C++ may print to fd 1: keep the frames on a copy of it, point fd 1 at stderr.
    sys.stdout.flush()
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        from tflite_micro import runtime
    except ImportError:
        write_frame(frames, ("error", "the tflite-micro reference interpreter is not installed"))
        return 1
    preserve = sys.argv[3:4] == ["preserve"]
    config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve
              else runtime.InterpreterConfig.kAllocationRecording)
    try:
        interp = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]),
                                               intrepreter_config=config)
    except Exception as exc:  # the binding raises plain RuntimeError with TFLM's message
        write_frame(frames, ("error", f"could not load the model: {exc}"))
        return 1
    write_frame(frames, ("ready", None))
    while True:
        try:
            request = read_frame(sys.stdin.buffer)
        except EOFError:
            return 0
        inputs, n_outputs = request[0], request[1]
        wanted = request[2] if len(request) > 2 else None
        if wanted is not None and not preserve:
            write_frame(frames, ("error", "intermediate tensors asked of an interpreter that does not keep them"))
            continue
        try:
            for i, x in enumerate(inputs):
                interp.set_input(x, i)
            interp.invoke()
            outputs = [np.array(interp.get_output(i), copy=True) for i in range(n_outputs)]
            if wanted is not None:
                tensors = {t: np.array(interp.GetTensor(t, 0)["tensor_data"], copy=True) for t in wanted}
        except Exception as exc:
            write_frame(frames, ("error", f"could not run the model: {exc}"))
            continue
        write_frame(frames, ("ok", outputs if wanted is None else (outputs, tensors)))


if __name__ == "__main__":
    sys.exit(main())
