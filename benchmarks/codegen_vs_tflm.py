#!/usr/bin/env python3
"""Generated code against TFLite Micro, measured in the same run (a benchmark, not a test).

For each model: the generated code's flash bytes for a Cortex-M7 (code and
constants, from the compiled objects' sizes), mcugen's arena beside TFLite
Micro's, and host time per inference of the generated C (-O2) beside the
tflite-micro interpreter's, with the ratio.

    python benchmarks/codegen_vs_tflm.py [MODEL ...]     (default: ../shared/models/*.tflite)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcugen.errors import McugenError  # noqa: E402
from mcugen.generate import compile_model, host_files  # noqa: E402
from mcugen.project import write_project  # noqa: E402
from mcugen.reference import TflmInterpreter, tflm_arena  # noqa: E402
from mcugen.validate import compile_host, random_inputs  # noqa: E402

ARM_FLAGS = ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-Os", "-std=c99",
             "-ffunction-sections", "-fdata-sections"]
RUNS = 20


def cortex_m_bytes(project: Path) -> tuple[int, int] | None:
    """(code bytes, constant bytes) of the model module and its kernels for Cortex-M7, or None without gcc."""
    if shutil.which("arm-none-eabi-gcc") is None:
        return None
    objs = []
    for src in sorted(project.glob("*.c")):
        if src.name == "main_host.c":
            continue
        obj = src.with_suffix(".o")
        subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, "-I", str(project), "-c", str(src), "-o", str(obj)],
                       check=True)
        objs.append(str(obj))
    out = subprocess.run(["arm-none-eabi-size", "-A", *objs], check=True, capture_output=True, text=True).stdout
    code = const = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            if parts[0].startswith(".text"):
                code += int(parts[1])
            elif parts[0].startswith(".rodata") or parts[0].startswith(".data"):
                const += int(parts[1])
    return code, const


def time_host(exe: Path, inputs: list[list[np.ndarray]]) -> float:
    """Seconds per inference; the input set is repeated until a run takes long enough
    that process start-up (measured with one inference) is noise."""
    one = b"".join(x.tobytes() for x in inputs[0])
    start = time.perf_counter()
    subprocess.run([str(exe)], input=one, capture_output=True, check=True)
    startup = time.perf_counter() - start
    payload = b"".join(x.tobytes() for one_set in inputs for x in one_set)
    repeats = 1
    while True:
        start = time.perf_counter()
        subprocess.run([str(exe)], input=payload * repeats, capture_output=True, check=True)
        total = time.perf_counter() - start
        if total > 20 * startup + 0.2 or repeats >= 4096:
            return max(total - startup, 1e-9) / (len(inputs) * repeats)
        repeats *= 4


def time_tflm(model: Path, inputs: list[list[np.ndarray]], n_outputs: int) -> float:
    interp = TflmInterpreter(model)
    interp.run(inputs[0], n_outputs)  # warm up
    start = time.perf_counter()
    for one in inputs:
        interp.run(one, n_outputs)
    return (time.perf_counter() - start) / len(inputs)


def main(argv: list[str]) -> int:
    models = [Path(a) for a in argv] or sorted((REPO.parent / "shared" / "models").glob("*.tflite"))
    if not models:
        print("no models given and ../shared/models not found", file=sys.stderr)
        return 2
    header = (f"{'model':32} {'code B':>8} {'const B':>9} {'arena B':>9} {'TFLM arena B':>13} {'arena ratio':>11} "
              f"{'C us/inf':>10} {'TFLM us/inf':>12} {'speedup':>8}")
    print(header)
    print("-" * len(header))
    for model in models:
        try:
            generated = compile_model(model)
        except McugenError as exc:
            print(f"{model.name:32} skipped: {exc.one_line()}")
            continue
        work = Path(tempfile.mkdtemp(prefix="mcugen-bench-"))
        try:
            project = write_project(work / "host", host_files(generated, model.name), "benchmark")
            sizes = cortex_m_bytes(project)
            exe = compile_host(project)
            inputs = random_inputs(generated.graph.input_tensors(), RUNS, seed=0)
            c_time = time_host(exe, inputs)
            tflm_time = time_tflm(model, inputs, len(generated.graph.outputs))
            tflm = tflm_arena(model)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        code, const = sizes if sizes else (-1, -1)
        arena = generated.plan.arena_bytes
        print(f"{model.name:32} {code:>8,} {const:>9,} {arena:>9,} {tflm.total:>13,} {arena / tflm.total:>11.2f} "
              f"{c_time * 1e6:>10,.0f} {tflm_time * 1e6:>12,.0f} {tflm_time / c_time:>7.1f}x")
    print("\narena ratio = mcugen arena / TFLM total arena (TFLM also keeps interpreter state in its arena);")
    print("speedup = TFLM interpreter time / generated C time per inference, same inputs, this machine, this run.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
