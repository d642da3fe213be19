"""Benchmark a model on a board through its agent: latency, agreement with the
TFLite Micro reference, accuracy on labeled inputs, and the memory the model and
its firmware take (inspect's plan; the build's use, when the project is known)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .bench_inputs import Inputs
from .errors import McugenError
from .ir import NUMPY_DTYPES, Graph, Tensor
from .reference import TflmInterpreter

if TYPE_CHECKING:  # annotations only: bench need not load the build and planning code to run
    from .box_labels import TruthBox
    from .build import RegionUse
    from .detection import Box, DetectionHead
    from .detection_metrics import DetectionMetrics
    from .fit import FitVerdict
    from .preprocess import PreprocessParams

COUNTER_NAMES = {0: "cycles", 1: "instructions"}


@dataclass
class Latency:
    counts: list[int]
    clock_hz: int
    unit: str  # "cycles" or "instructions"

    def stat(self, q: float) -> float:
        return float(np.percentile(np.asarray(self.counts, dtype=np.float64), q)) if self.counts else 0.0

    def to_json(self) -> dict[str, Any]:
        values = {"min": min(self.counts, default=0), "median": self.stat(50), "p90": self.stat(90),
                  "max": max(self.counts, default=0)}
        return {
            "unit": self.unit,
            "clock_hz": self.clock_hz,
            **values,
            "ms": {k: v / self.clock_hz * 1e3 for k, v in values.items()},
        }


@dataclass
class ModelMemory:
    """The model's memory as `inspect` plans it for the board: the same analysis, the same
    kernels and memory strategy as the firmware when its project is known."""

    kernels: str
    strategy: str
    arena_bytes: int
    weights_bytes: int
    constants_bytes: int | None  # weights plus per-layer tables, what the code keeps in flash
    fit: FitVerdict | None  # inspect's verdict against the board, an estimate before any build

    def to_json(self) -> dict[str, Any]:
        return {"source": "inspect", "kernels": self.kernels, "memory": self.strategy,
                "arena_bytes": self.arena_bytes, "weights_bytes": self.weights_bytes,
                "constants_bytes": self.constants_bytes, "fit": self.fit.to_json() if self.fit else None}


@dataclass
class BuildMemory:
    """The built firmware's memory, read from its ELF against the board's regions."""

    elf: str
    regions: list[RegionUse]
    weights_bytes: int  # the model's constants as placed in the image
    weights_regions: list[str]
    arena_bytes: int | None
    arena_region: str | None

    def to_json(self) -> dict[str, Any]:
        return {"source": "build", "elf": self.elf, "regions": [r.to_json() for r in self.regions],
                "weights": {"bytes": self.weights_bytes, "regions": self.weights_regions},
                "arena": None if self.arena_bytes is None else {"bytes": self.arena_bytes,
                                                                "region": self.arena_region}}


@dataclass
class MemorySummary:
    """What bench knows about memory: inspect's figures for the model on the board, the
    arena the firmware says it has, and the build's use when the project is known; each
    missing part says why."""

    board: str
    firmware_arena_bytes: int | None = None  # from the firmware's HELLO
    model: ModelMemory | None = None
    model_unknown: str | None = None
    build: BuildMemory | None = None
    build_unknown: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"board": self.board, "firmware_arena_bytes": self.firmware_arena_bytes,
                "model": self.model.to_json() if self.model else None, "model_unknown": self.model_unknown,
                "build": self.build.to_json() if self.build else None, "build_unknown": self.build_unknown,
                "notes": list(self.notes)}


def memory_summary(model_path: Path, board_id: str, firmware_arena_bytes: int | None, build_id: str | None,
                   project: Path | None = None) -> MemorySummary:
    """Inspect's analysis of the model for the board (the firmware's kernels and memory
    strategy when the project is known, else the board's defaults) and, when the project
    is known and built for the firmware the board runs, its ELF's memory use."""
    from .analysis import analyze_model
    from .boards import get_board
    from .build import analyse_elf
    from .firmware import built_elf_path, read_metadata
    from .fit import arena_budget, check_fit

    summary = MemorySummary(board_id, firmware_arena_bytes)
    meta = None
    if project is None:
        summary.build_unknown = ("not known: the project folder was not given (bench --port PORT --project DIR "
                                 "adds its build's flash and RAM use)")
    else:
        try:
            meta = read_metadata(project)
        except McugenError as exc:
            summary.build_unknown = f"not known: {exc.one_line()}"
    try:
        board = get_board(board_id)
    except McugenError as exc:
        summary.model_unknown = f"not known: the firmware's board is not one mcugen knows ({exc.one_line()})"
        board = None
    if board is not None:
        kernels = meta.get("kernels") if meta else None
        strategy = meta.get("memory") if meta else None
        try:
            _, analysis = analyze_model(model_path, with_tflm=False, variant=kernels or board.target.variant("auto"),
                                        memory=strategy or "auto", arena_budget=arena_budget(board))
        except McugenError as exc:
            summary.model_unknown = f"not known: inspect's analysis failed: {exc.one_line()}"
        else:
            flash = analysis.constants_bytes if analysis.constants_bytes is not None else analysis.weights_bytes
            summary.model = ModelMemory(analysis.variant, analysis.memory, analysis.arena_bytes,
                                        analysis.weights_bytes, analysis.constants_bytes,
                                        check_fit(flash, analysis.arena_bytes, board))
            if firmware_arena_bytes is not None and firmware_arena_bytes != analysis.arena_bytes:
                summary.notes.append(f"the firmware's arena ({firmware_arena_bytes:,} B) is not inspect's "
                                     f"{analysis.memory} plan with {analysis.variant} kernels "
                                     f"({analysis.arena_bytes:,} B): it was generated with other --kernels or "
                                     "--memory")
    if meta is not None:
        elf = built_elf_path(project, str(meta.get("env")))
        if build_id is not None and meta.get("build_id") != build_id:
            summary.build_unknown = (f"not known: the board runs firmware {build_id} but {project} is "
                                     f"{meta.get('build_id')}")
        elif not elf.is_file():
            summary.build_unknown = f"not known: {project} has not been built (mcugen build {project})"
        else:
            try:
                regions, _, weights, arena = analyse_elf(elf, meta["regions"], meta.get("weight_symbols"))
            except McugenError as exc:
                summary.build_unknown = f"not known: {exc.one_line()}"
            else:
                summary.build = BuildMemory(str(elf), regions, sum(w.size for w in weights),
                                            sorted({w.region or "?" for w in weights}),
                                            arena.size if arena else None, arena.region if arena else None)
    return summary


@dataclass
class DetectionBench:
    """A detector's --data run: the boxes the device's raw outputs decode to (the project's
    detection head, mcugen.detection.decode) per image, beside the labelled ones."""

    head: DetectionHead
    class_names: list[str]
    labels_source: str | None  # None: the images had no box labels, so no mAP
    input_size: tuple[int, int] = (0, 0)  # the model input's width and height, pixels
    resize: str = "crop"  # how the images were fitted to it (mcugen.preprocess.resize_window)
    sources: list[str] = field(default_factory=list)
    paths: list[Path | None] = field(default_factory=list)
    boxes: list[list[Box]] = field(default_factory=list)  # the device's, best first
    truths: list[list[TruthBox]] = field(default_factory=list)  # in the model input's frame

    @property
    def labelled(self) -> bool:
        return self.labels_source is not None

    def metrics(self) -> DetectionMetrics | None:
        """mAP@0.5 and the rest (mcugen.detection_metrics) over the images run; None without labels."""
        if not self.labelled:
            return None
        from .detection_metrics import evaluate

        return evaluate(self.boxes, self.truths, self.head.num_classes, self.head.score_threshold,
                        self.class_names)

    def to_json(self) -> dict[str, Any]:
        metrics = self.metrics()
        return {"head": self.head.to_json(), "class_names": self.class_names, "labels": self.labels_source,
                "metrics": metrics.to_json() if metrics else None,
                "metrics_unknown": None if metrics else "no box labels: boxes are reported, mAP is not",
                "images": [{"source": src, "boxes": [_box_json(b) for b in boxes],
                            "truth": [t.to_json() for t in truth] if self.labelled else None}
                           for src, boxes, truth in zip(self.sources, self.boxes,
                                                        self.truths if self.labelled else [[]] * len(self.boxes))]}


def _box_json(box: Box) -> dict[str, Any]:
    return {"class_id": box.class_id, "score": round(float(box.score), 6), "x": round(float(box.x), 6),
            "y": round(float(box.y), 6), "w": round(float(box.w), 6), "h": round(float(box.h), 6)}


def project_detection_head(project: Path | None) -> DetectionHead | None:
    """The detection head the project was generated with (mcugen.json's "detection"), if any."""
    if project is None:
        return None
    from .detection import DetectionHead
    from .firmware import read_metadata

    record = read_metadata(project).get("detection")
    return DetectionHead.from_json(record) if record else None


@dataclass
class BenchReport:
    model: str
    model_sha256: str
    board: str
    build_id: str
    arena_bytes: int
    latency: Latency
    inputs: int = 0
    bit_exact: int = 0
    max_abs_diff: float = 0.0
    class_names: list[str] | None = None
    labels: list[int] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)
    profile: list[tuple[str, int]] = field(default_factory=list)  # (op, count) per layer
    profile_macs: list[int] = field(default_factory=list)  # each profiled layer's MACs (the model's, not the board's)
    link: dict[str, int] = field(default_factory=dict)  # the serial link's statistics (AgentClient.stats)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    mismatches: list[str] = field(default_factory=list)
    planned: int = 0  # inputs asked for
    failure: str | None = None  # why the run stopped early (one line), when it did
    failure_exit_code: int = 0
    preprocessing: PreprocessParams | None = None  # how --data images became tensors
    memory: MemorySummary | None = None
    detection: DetectionBench | None = None  # a detector benched on --data images

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.failure is None

    @property
    def incomplete_reason(self) -> str | None:
        if self.failure:
            return self.failure
        return "interrupted (Ctrl-C)" if self.interrupted else None

    @property
    def accuracy(self) -> float | None:
        if not self.labels:
            return None
        return float(np.mean(np.asarray(self.labels) == np.asarray(self.predictions)))

    def confusion(self) -> list[list[int]] | None:
        if not self.labels or not self.class_names:
            return None
        n = len(self.class_names)
        matrix = [[0] * n for _ in range(n)]
        for truth, pred in zip(self.labels, self.predictions):
            if pred < n:
                matrix[truth][pred] += 1
        return matrix

    def _macs(self) -> list[int | None]:
        return list(self.profile_macs) if len(self.profile_macs) == len(self.profile) else [None] * len(self.profile)

    def layer_rows(self) -> list[dict[str, Any]]:
        """Per profiled layer: op, count, share of the inference, count per MAC, ms at the clock."""
        total = sum(c for _, c in self.profile) or 1
        rows = []
        for i, ((op, count), macs) in enumerate(zip(self.profile, self._macs())):
            rows.append({"layer": i, "op": op, "count": count, "share": count / total, "macs": macs,
                         "per_mac": count / macs if macs else None,
                         "ms": count / self.latency.clock_hz * 1e3 if self.latency.clock_hz else None})
        return rows

    def to_json(self) -> dict[str, Any]:
        latency = self.latency.to_json()
        return {
            "model": self.model,
            "model_sha256": self.model_sha256,
            "board": self.board,
            "build_id": self.build_id,
            "arena_bytes": self.arena_bytes,
            "inputs": self.inputs,
            "bit_exact": self.bit_exact,
            "max_abs_diff": self.max_abs_diff,
            "median": latency["median"],
            "latency": latency,
            "accuracy": self.accuracy,
            "class_names": self.class_names,
            "confusion_matrix": self.confusion(),
            "profile": [{"layer": i, "op": op, "count": c, "macs": m}
                        for i, ((op, c), m) in enumerate(zip(self.profile, self._macs()))],
            "link": self.link,
            "notes": self.notes,
            "complete": self.complete,
            "incomplete_reason": self.incomplete_reason,
            "planned_inputs": self.planned,
            "interrupted": self.interrupted,
            "mismatches": self.mismatches,
            "preprocessing": self.preprocessing.to_json() if self.preprocessing else None,
            "memory": self.memory.to_json() if self.memory else None,
            "detection": self.detection.to_json() if self.detection else None,
        }


def _to_bytes(arrays: list[np.ndarray], tensors: list[Tensor]) -> list[bytes]:
    return [np.ascontiguousarray(a, dtype=NUMPY_DTYPES[t.dtype]).reshape(t.shape).tobytes() for a, t in zip(arrays, tensors)]


def _from_bytes(raw: list[bytes], tensors: list[Tensor]) -> list[np.ndarray]:
    return [np.frombuffer(r, dtype=NUMPY_DTYPES[t.dtype]).reshape(t.shape) for r, t in zip(raw, tensors)]


def run_bench(client: Any, model_path: Path, graph: Graph, inputs: Inputs,
              progress: Callable[[int, int], None] | None = None, project: Path | None = None,
              with_memory: bool = True) -> BenchReport:
    """Runs every input on the board and the reference. Ctrl-C, or a failure of the
    board, its link or the reference after HELLO, stops early and returns the partial
    report of what completed, marked incomplete (interrupted, or failure and its exit
    code), so the caller can still write it and then exit non-zero.

    project: the generated project the board runs, when known, for its build's memory
    figures; with_memory=False leaves the memory summary out (it runs inspect's analysis)."""
    # The client refuses firmware generated from another model when it knows the hash.
    sha = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    client.model_sha256 = sha
    hello = client.hello()
    in_tensors, out_tensors = graph.input_tensors(), graph.output_tensors()
    unit = COUNTER_NAMES.get(hello.counter_kind, str(hello.counter_kind))
    report = BenchReport(model=Path(model_path).name, model_sha256=sha, board=hello.board, build_id=hello.build_id,
                         arena_bytes=hello.arena_bytes, latency=Latency([], hello.clock_hz, unit),
                         class_names=inputs.class_names, notes=list(inputs.notes or []), planned=len(inputs.sets),
                         preprocessing=inputs.preprocessing)
    if inputs.detection is not None:
        params = inputs.preprocessing
        report.detection = DetectionBench(inputs.detection.head, inputs.detection.class_names,
                                          inputs.detection.labels_source,
                                          (params.width, params.height) if params else (0, 0),
                                          params.resize if params else "crop")
    if with_memory:  # before the inputs, so a partial report has it too
        report.memory = memory_summary(Path(model_path), hello.board, hello.arena_bytes, hello.build_id, project)
    if unit == "instructions":
        report.notes.append("counts are instructions (QEMU -icount), not cycles; ms assume one instruction "
                            "per clock")
    reference = TflmInterpreter(model_path)
    try:
        for k, one in enumerate(inputs.sets):
            _run_one(client, reference, report, one, k, in_tensors, out_tensors)
            if progress:
                progress(k + 1, report.planned)
        counts = client.profile()
        layers = graph_layers(graph)
        report.profile = [(op, count) for (op, _), count in zip(layers, counts)]
        report.profile_macs = [macs for (_, macs), _ in zip(layers, counts)]
    except KeyboardInterrupt:
        report.interrupted = True
    except McugenError as exc:
        what = "the per-layer profile" if report.inputs == report.planned else f"input {report.inputs + 1}"
        report.failure = f"{what}: {exc.one_line()}"
        report.failure_exit_code = exc.exit_code
    finally:
        report.link = dict(getattr(client, "stats", {}) or {})
        reference.close()
    return report


def _run_one(client: Any, reference: TflmInterpreter, report: BenchReport, one: Any, k: int,
             in_tensors: list[Tensor], out_tensors: list[Tensor]) -> None:
    """One input on the board and the reference, added to the report only once both answered."""
    result = client.run_inference(_to_bytes(one.arrays, in_tensors))
    got = _from_bytes(result.outputs, out_tensors)
    want = reference.run(one.arrays, len(out_tensors))
    same = all(np.array_equal(np.asarray(w).reshape(g.shape), g) for w, g in zip(want, got))
    diff = max(float(np.max(np.abs(np.asarray(w, np.float64).reshape(g.shape) - g.astype(np.float64))))
               for w, g in zip(want, got))
    report.inputs += 1
    report.bit_exact += int(same)
    report.max_abs_diff = max(report.max_abs_diff, diff)
    if not same:
        report.mismatches.append(one.source or f"input {k}")
    report.latency.counts.append(int(result.count))
    if one.label is not None:
        report.labels.append(one.label)
        report.predictions.append(int(np.argmax(got[0].reshape(-1))))
    if report.detection is not None:
        from .detection import decode

        # The device's own raw outputs, decoded as its mcugen_model_boxes() would.
        report.detection.sources.append(one.source or f"input {k}")
        report.detection.paths.append(one.path)
        report.detection.boxes.append(decode(report.detection.head, got))
        report.detection.truths.append(list(one.truth or []))


def graph_layers(graph: Graph) -> list[tuple[str, int]]:
    """(op, MACs) of each layer in the order the board runs them (the profile's order)."""
    from .ops import op_macs
    from .plan import prepare

    run = prepare(graph).graph
    return [(op.op, op_macs(run, op)) for op in run.operators]
