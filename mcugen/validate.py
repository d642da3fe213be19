"""Prove the generated C on the host: compile it with the system C compiler, run
the same inputs through it and through TFLite Micro, and compare bit for bit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InternalError, McugenError
from .float_compare import FloatReport, compare_with_float, load_float_model
from .generate import GeneratedModel, compile_model, host_files
from .layer_compare import LayerReport, compare_layers, dump_plan, parse_dumps
from .target import AUTO, HOST
from .ir import NUMPY_DTYPES, Tensor
from .project import write_project
from .reference import TflmInterpreter

STRICT_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]
SANITIZE_CFLAGS = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                   "-fno-omit-frame-pointer"]


@dataclass
class OutputAgreement:
    index: int
    name: str
    bit_exact: int
    max_abs_diff: float


@dataclass
class ValidationReport:
    model: str
    inputs: int
    bit_exact: int
    max_abs_diff: float
    arena_bytes: int
    weights_bytes: int
    outputs: list[OutputAgreement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_mismatch: int | None = None
    kernels: str = "portable"
    memory: str = "fast"
    float_report: FloatReport | None = None  # --float: the int8 outputs against the float original's
    layers: LayerReport | None = None  # --per-layer: every intermediate tensor against TFLite Micro's

    @property
    def verdict(self) -> str:
        exact = self.bit_exact == self.inputs and (self.layers is None or not self.layers.differing)
        return "bit-exact" if exact else "MISMATCH"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "inputs": self.inputs,
            "bit_exact": self.bit_exact,
            "max_abs_diff": self.max_abs_diff,
            "verdict": self.verdict,
            "arena_bytes": self.arena_bytes,
            "memory": self.memory,
            "weights_bytes": self.weights_bytes,
            "first_mismatch": self.first_mismatch,
            "kernels": self.kernels,
            "outputs": [o.__dict__ for o in self.outputs],
            "notes": self.notes,
            "float": self.float_report.to_json() if self.float_report else None,
            "per_layer": self.layers.to_json() if self.layers else None,
        }


def compile_host(project: Path, sanitize: bool = False, cc: str | None = None, defines: tuple[str, ...] = (),
                 exe_name: str = "model_host") -> Path:
    """defines: macros for every file (-D), e.g. the per-layer dump's MCUGEN_HOST_DUMP."""
    compiler = cc or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise McugenError(f"C compiler '{compiler}' not found", "install gcc (apt-get install gcc) or set CC")
    exe = project / exe_name
    sources = sorted(str(p) for p in project.glob("*.c"))
    flags = STRICT_CFLAGS + (SANITIZE_CFLAGS if sanitize else ["-O2"]) + [f"-D{d}" for d in defines]
    proc = subprocess.run([compiler, *flags, "-I", str(project), "-o", str(exe), *sources, "-lm"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
        raise InternalError(f"the generated C did not compile: {first}", "this is a bug in mcugen; please report it")
    return exe


def random_inputs(tensors: list[Tensor], count: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        one = []
        for t in tensors:
            if t.dtype in ("int8", "uint8", "int16"):
                info = np.iinfo(NUMPY_DTYPES[t.dtype])
                one.append(rng.integers(info.min, info.max + 1, size=t.shape, dtype=NUMPY_DTYPES[t.dtype]))
            elif t.dtype == "float32":
                # the range the model's QUANTIZE maps onto int8, and a little beyond
                q = t.quant
                scale, zp = (q.scale[0], q.zero_point[0]) if q else (1.0 / 128, 0)
                lo, hi = scale * (-128 - zp), scale * (127 - zp)
                pad = 0.05 * (hi - lo)
                one.append(rng.uniform(lo - pad, hi + pad, size=t.shape).astype(np.float32))
            else:
                raise McugenError(f"cannot make random inputs of type {t.dtype} for {t.label()}")
        sets.append(one)
    return sets


def load_vectors(paths: list[Path], tensors: list[Tensor]) -> tuple[list[list[np.ndarray]], list[str]]:
    """Read .npy vectors for a single-input model. A uint8 vector for an int8 input
    is shifted by -128 (the usual uint8 -> int8 conversion, zero point minus 128)."""
    notes = []
    sets = []
    if paths and len(tensors) != 1:
        raise McugenError(f"--vectors works with single-input models; this one has {len(tensors)} inputs",
                          "bench it with --random N")
    for path in paths:
        t = tensors[0]
        try:
            with open(path, "rb") as f:
                magic = f.read(6)
        except FileNotFoundError:
            raise McugenError(f"vector file not found: {path}", "check the path (a .npy file per input batch)") \
                from None
        except IsADirectoryError:
            inside = sorted(p.name for p in Path(path).glob("*.npy"))
            raise McugenError(f"{path} is a folder, not a .npy vector file",
                              f"give the files in it: --vectors {path}/{inside[0]} ..." if inside else
                              "give a .npy file (numpy.save(path, array))") from None
        except OSError as exc:
            raise McugenError(f"cannot read vector file {path}: {exc.strerror or exc}") from None
        if magic != b"\x93NUMPY":
            raise McugenError(f"{path} is not a NumPy .npy file (it does not start with the .npy header)",
                              "save the inputs with numpy.save(path, array)")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise McugenError(f"{path} is not a readable NumPy .npy file ({exc})",
                              "save the inputs with numpy.save(path, array) as a plain numeric array") from None
        if arr.dtype == np.uint8 and t.dtype == "int8":
            arr = (arr.astype(np.int16) - 128).astype(np.int8)
            notes.append(f"{Path(path).name}: uint8 vector shifted by -128 to the int8 input")
        if arr.dtype != NUMPY_DTYPES[t.dtype]:
            fix = f"save the inputs as {t.dtype}"
            if t.quant is not None and arr.dtype.kind == "f" and t.dtype in ("int8", "uint8"):
                fix += (f": quantize them first, round(x / {t.quant.scale[0]:.6g}) + {t.quant.zero_point[0]}, "
                        f"clipped to {t.dtype}")
            raise McugenError(f"{path} holds {arr.dtype} but input {t.label()} is {t.dtype}", fix)
        rows = _split_batch(arr, t, path)
        if not rows:
            raise McugenError(f"{path} holds no inputs (a batch of 0 of shape {list(arr.shape)})",
                              "save at least one input in it")
        sets.extend([row] for row in rows)
    return sets, notes


def _split_batch(arr: np.ndarray, t: Tensor, path: Path) -> list[np.ndarray]:
    """One input of exactly the tensor's shape (with or without its batch of 1), or a
    batch of them stacked on the first axis. Anything else is refused, never reshaped."""
    shape = tuple(t.shape)
    item = shape[1:] if shape and shape[0] == 1 else shape
    if arr.shape in (shape, item):
        return [arr.reshape(shape)]
    if arr.ndim == len(item) + 1 and arr.shape[1:] == item:
        return [row.reshape(shape) for row in arr]
    if arr.ndim == len(shape) + 1 and arr.shape[1:] == shape:
        return [row for row in arr]
    raise McugenError(f"{path} has shape {list(arr.shape)} but input {t.label()} is {list(shape)}",
                      "save one input per file, or a batch stacked on the first axis")


def _run_exe(exe: Path, input_sets: list[list[np.ndarray]]) -> bytes:
    stdin = b"".join(x.tobytes() for one in input_sets for x in one)
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=600)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise InternalError(f"the generated model crashed on the host (exit {proc.returncode}): "
                          f"{detail[0] if detail else 'no message'}", "this is a bug in mcugen; please report it")
    return proc.stdout


def _split_outputs(raw: bytes, outputs: list[Tensor]) -> list[np.ndarray]:
    one, offset = [], 0
    for t in outputs:
        one.append(np.frombuffer(raw[offset : offset + t.nbytes], dtype=NUMPY_DTYPES[t.dtype]).reshape(t.shape))
        offset += t.nbytes
    return one


def run_host(exe: Path, input_sets: list[list[np.ndarray]], outputs: list[Tensor]) -> list[list[np.ndarray]]:
    results = []
    offset = 0
    raw = _run_exe(exe, input_sets)
    for _ in input_sets:
        one = []
        for t in outputs:
            n = t.nbytes
            one.append(np.frombuffer(raw[offset : offset + n], dtype=NUMPY_DTYPES[t.dtype]).reshape(t.shape))
            offset += n
        results.append(one)
    if offset != len(raw):
        raise McugenError(f"the host harness wrote {len(raw)} bytes, expected {offset}")
    return results


def validate_model(model_path: str | Path, n_random: int = 10, vectors: list[Path] | None = None, seed: int = 0,
                   sanitize: bool = False, workdir: Path | None = None, cc: str | None = None,
                   model: GeneratedModel | None = None, kernels: str = AUTO,
                   memory: str = AUTO, float_model: Path | None = None,
                   per_layer: bool = False) -> ValidationReport:
    """kernels: the variant to run (`auto` is the host's: portable; `arm-dsp` runs the
    DSP kernels through mcugen_simd.h's portable C).
    float_model: the float original, to score the int8 outputs against (float_compare.py).
    per_layer: also compare every intermediate tensor with TFLite Micro's (layer_compare.py)."""
    model_path = Path(model_path)
    model = model or compile_model(model_path, HOST, kernels, memory)
    graph = model.graph
    inputs, outputs = graph.input_tensors(), graph.output_tensors()
    if float_model is not None:
        load_float_model(Path(float_model), graph)  # refused before anything runs
    vector_sets, notes = load_vectors(list(vectors or []), inputs)
    input_sets = random_inputs(inputs, n_random, seed) + vector_sets
    dumps = dump_plan(model, model_path) if per_layer else None
    reference_tensors: list[dict[int, np.ndarray]] = []
    with TflmInterpreter(model_path, preserve=per_layer) as reference:
        if dumps is None:
            expected = [reference.run(one, len(outputs)) for one in input_sets]
        else:
            wanted = [s.tensor for s in dumps.slots]
            expected = []
            for one in input_sets:
                outs, tensors = reference.run_with_tensors(one, len(outputs), wanted)
                expected.append(outs)
                reference_tensors.append(tensors)

    own_dir = workdir is None
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="mcugen-validate-"))
    layers = None
    try:
        files = host_files(model, model_path.name)
        if dumps is not None:
            files["mcugen_host_dump.h"] = dumps.header(model_path.name)
        project = write_project(work / "host", files, "mcugen validate")
        exe = compile_host(project, sanitize=sanitize, cc=cc)
        got = run_host(exe, input_sets, outputs)
        if dumps is not None:
            # A second build of the same files whose layer hooks copy each tensor out.
            dump_exe = compile_host(project, sanitize=sanitize, cc=cc, exe_name="model_host_layers",
                                    defines=("MCUGEN_PROFILE", "MCUGEN_HOST_DUMP"))
            out_bytes = sum(t.nbytes for t in outputs)
            parsed = parse_dumps(_run_exe(dump_exe, input_sets), dumps, model.plan.graph, len(input_sets), out_bytes)
            for k, (_, raw) in enumerate(parsed):
                if any(not np.array_equal(a, b) for a, b in zip(_split_outputs(raw, outputs), got[k])):
                    raise InternalError("the per-layer build of the generated C gave other outputs than the plain "
                                        f"build on input {k}", "this is a bug in mcugen; please report it")
            layers = compare_layers(dumps, model.plan.graph, [tensors for tensors, _ in parsed], reference_tensors)
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)

    agreements = [OutputAgreement(i, t.label(), 0, 0.0) for i, t in enumerate(outputs)]
    exact = 0
    first_mismatch = None
    for k, (want, have) in enumerate(zip(expected, got)):
        all_same = True
        for i, agreement in enumerate(agreements):
            w = np.asarray(want[i]).reshape(outputs[i].shape)
            diff = float(np.max(np.abs(w.astype(np.float64) - have[i].astype(np.float64)))) if w.size else 0.0
            same = np.array_equal(w, have[i])
            agreement.bit_exact += int(same)
            agreement.max_abs_diff = max(agreement.max_abs_diff, diff)
            all_same &= same
        exact += int(all_same)
        if not all_same and first_mismatch is None:
            first_mismatch = k
    # The float original scores what ships: the generated C's outputs.
    float_report = compare_with_float(Path(float_model), graph, input_sets, got) if float_model is not None else None
    return ValidationReport(
        model=model_path.name,
        inputs=len(input_sets),
        bit_exact=exact,
        max_abs_diff=max((a.max_abs_diff for a in agreements), default=0.0),
        arena_bytes=model.plan.arena_bytes,
        weights_bytes=model.module.weights_bytes,
        outputs=agreements,
        notes=notes,
        first_mismatch=first_mismatch,
        kernels=model.variant,
        memory=model.plan.strategy,
        float_report=float_report,
        layers=layers,
    )
