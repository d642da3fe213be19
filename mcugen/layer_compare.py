"""`mcugen validate --per-layer`: every intermediate tensor of the generated C against
TensorFlow Lite Micro's, to name the first layer whose output differs.

The generated C on the host gets a table (mcugen_host_dump.h, made here from the memory
plan) of the layer outputs to copy out of the arena and when: right after the call that
completes each one, since the plan reuses arena bytes and a later layer may overwrite it.
The host harness does the copying in the layer hooks the model module already calls
(MCUGEN_LAYER_END), so the model module is the one the boards run, unchanged. The
reference keeps every tensor (TFLM's kPreserveAllTensors) and hands over each by its
index in the model file, the index mcugen's IR keeps too.

Not every tensor of the file exists in the generated C: a constant computation folded
at generate time, a PAD folded into the next convolution's padding, and the layers of
a patch stage (`--memory small`), which only ever hold a few rows, are never whole in
the arena. Those are skipped and counted, each with its reason. (A fused activation is
no tensor in the file either; an aliased RESHAPE's output is its input's bytes, read
where they are.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__
from .errors import InternalError
from .generate import GeneratedModel
from .ir import DTYPE_BYTES, NUMPY_DTYPES, Graph
from .tflite_reader import read_tflite


@dataclass(frozen=True)
class DumpSlot:
    """One layer output the host harness copies out: `span` bytes from arena `offset`,
    after program entry `entry` (the call that completes it)."""

    entry: int
    position: int  # the layer's place in execution order
    layer: int  # the layer's index in the model file (as Netron shows it)
    op: str
    tensor: int
    name: str
    offset: int
    span: int
    pixel_pitch: int | None = None  # bytes between pixels when stored as channels of a wider image
    row_pitch: int | None = None  # bytes between rows then

    def extract(self, raw: bytes, graph: Graph) -> np.ndarray:
        """The tensor from its dumped bytes (a channel slice is read through its strides)."""
        t = graph.tensor(self.tensor)
        dtype = np.dtype(NUMPY_DTYPES[t.dtype])
        if self.pixel_pitch is None:
            return np.frombuffer(raw, dtype=dtype, count=t.num_elements).reshape(t.shape).copy()
        n, h, w, c = t.shape
        padded = raw + bytes(-len(raw) % dtype.itemsize)
        flat = np.frombuffer(padded, dtype=dtype)
        view = np.lib.stride_tricks.as_strided(flat, shape=(h, w, c),
                                               strides=(self.row_pitch, self.pixel_pitch, dtype.itemsize))
        return view.reshape(t.shape).copy()


@dataclass(frozen=True)
class SkippedTensor:
    layer: int
    op: str
    tensor: int
    name: str
    reason: str


@dataclass
class DumpPlan:
    """Which layer outputs the generated C can show, and where each is when."""

    slots: list[DumpSlot]
    skipped: list[SkippedTensor]
    entries: int  # layer calls per inference
    anchor: int  # arena offset of input 0
    strategy: str
    layers: int = 0  # layers the generated C runs

    @property
    def dump_bytes(self) -> int:
        return sum(s.span for s in self.slots)

    def header(self, model_name: str) -> str:
        from .codegen.emit import template_environment

        env = template_environment()
        slots = [dict(entry=s.entry, offset=s.offset, span=s.span, layer=s.layer, op=s.op,
                      name=" ".join(s.name.split())) for s in self.slots]
        return env.get_template("host/mcugen_host_dump.h.j2").render(
            version=__version__, model_name=model_name, strategy=self.strategy, anchor=self.anchor,
            entries=self.entries, slots=slots)


_FOLDED_CONSTANT = "computed at generate time (a constant in the generated C)"
_FOLDED_PAD = "a PAD folded into the next convolution's padding (never made)"
_IN_STAGE = "inside the patch stage (--memory small): only a few rows at a time, never whole"
_NOT_WHOLE = "not stored whole in the arena"


def dump_plan(model: GeneratedModel, model_path: Any) -> DumpPlan:
    """Every layer output of the model file, either a slot the host harness dumps or a
    reason it cannot. Layers in the file's order; slots in the order they are dumped."""
    plan = model.plan
    program = plan.program
    graph = plan.graph  # the order the calls run, after the rewrites
    produced_at = {t: pos for pos, op in enumerate(graph.operators) for t in op.outputs}
    completes: dict[int, int] = {}
    for k, entry in enumerate(program.entries):
        for rows in getattr(entry, "writes", ()):  # Moves shift rows inside a line buffer: no tensor completes
            completes[rows.tensor] = k
    offsets = plan.tensor_offsets
    stage = set(program.stage.positions) if program.stage is not None else set()
    slots: list[DumpSlot] = []
    skipped: list[SkippedTensor] = []
    # The file's own layer list: folding removed some operators from the IR.
    for op in read_tflite(model_path).operators:
        for t in op.outputs:
            tensor = model.graph.tensor(t)
            name = tensor.label()
            if tensor.is_constant:
                skipped.append(SkippedTensor(op.index, op.op, t, name, _FOLDED_CONSTANT))
                continue
            if t not in produced_at:
                skipped.append(SkippedTensor(op.index, op.op, t, name,
                                             _FOLDED_PAD if op.op in ("PAD", "PADV2") else _NOT_WHOLE))
                continue
            pos = produced_at[t]
            if t not in offsets or t not in completes:
                skipped.append(SkippedTensor(op.index, op.op, t, name, _IN_STAGE if pos in stage else _NOT_WHOLE))
                continue
            item = DTYPE_BYTES[tensor.dtype]
            stride = program.tensor_stride.get(t)
            if stride is None:
                slots.append(DumpSlot(completes[t], pos, op.index, op.op, t, name, offsets[t], tensor.nbytes))
            else:
                _, h, w, c = tensor.shape
                pitch = program.row_pitch(t)
                span = (h - 1) * pitch + program.row_extent(t)
                slots.append(DumpSlot(completes[t], pos, op.index, op.op, t, name, offsets[t], span,
                                      pixel_pitch=stride * item, row_pitch=pitch))
    slots.sort(key=lambda s: (s.entry, s.position, s.tensor))
    anchor = offsets[graph.inputs[0]] if graph.inputs else 0
    return DumpPlan(slots, skipped, len(program.entries), anchor, program.strategy, len(graph.operators))


@dataclass
class TensorCheck:
    """One layer output, the generated C's against TFLite Micro's, over every input."""

    position: int
    layer: int
    op: str
    tensor: int
    name: str
    elements: int  # per input
    inputs_differing: int = 0
    differing: int = 0  # elements that differ, over all inputs
    max_abs_diff: float = 0.0
    first_input: int | None = None  # the first input on which it differs
    first_input_differing: int = 0  # elements that differ on that input

    @property
    def matches(self) -> bool:
        return self.inputs_differing == 0

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "layer": self.layer, "op": self.op, "tensor": self.tensor,
                "name": self.name, "elements": self.elements, "inputs_differing": self.inputs_differing,
                "differing": self.differing, "max_abs_diff": self.max_abs_diff, "first_input": self.first_input,
                "first_input_differing": self.first_input_differing}


@dataclass
class LayerReport:
    inputs: int
    checks: list[TensorCheck] = field(default_factory=list)  # in execution order
    skipped: list[SkippedTensor] = field(default_factory=list)
    strategy: str = "fast"
    layers: int = 0  # layers the generated C runs

    @property
    def first_difference(self) -> TensorCheck | None:
        """The first layer, in the order the generated C runs them, whose output differs:
        everything it reads was made earlier and matched (or cannot be seen)."""
        return next((c for c in self.checks if not c.matches), None)

    @property
    def differing(self) -> list[TensorCheck]:
        return [c for c in self.checks if not c.matches]

    def to_json(self) -> dict[str, Any]:
        first = self.first_difference
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        return {"inputs": self.inputs, "compared": len(self.checks), "skipped": len(self.skipped),
                "differing": len(self.differing), "first_difference": first.to_json() if first else None,
                "memory": self.strategy, "layers": self.layers,
                "skipped_reasons": reasons,
                "tensors": [c.to_json() for c in self.checks],
                "skipped_tensors": [s.__dict__ for s in self.skipped]}


def parse_dumps(raw: bytes, plan: DumpPlan, graph: Graph, n_inputs: int,
                output_bytes: int) -> list[tuple[dict[int, np.ndarray], bytes]]:
    """Per input: the dumped tensors by index, and the outputs' raw bytes after them."""
    per_input = plan.dump_bytes + output_bytes
    if len(raw) != per_input * n_inputs:
        raise InternalError(f"the per-layer host harness wrote {len(raw)} bytes, expected {per_input * n_inputs}",
                            "this is a bug in mcugen; please report it")
    results = []
    for k in range(n_inputs):
        at = k * per_input
        tensors = {}
        for s in plan.slots:
            tensors[s.tensor] = s.extract(raw[at : at + s.span], graph)
            at += s.span
        results.append((tensors, raw[at : at + output_bytes]))
    return results


def compare_layers(plan: DumpPlan, graph: Graph, have: list[dict[int, np.ndarray]],
                   want: list[dict[int, np.ndarray]]) -> LayerReport:
    """have: the generated C's tensors per input; want: TFLite Micro's."""
    report = LayerReport(len(have), skipped=list(plan.skipped), strategy=plan.strategy, layers=plan.layers)
    for s in sorted(plan.slots, key=lambda s: (s.position, s.tensor)):
        t = graph.tensor(s.tensor)
        check = TensorCheck(s.position, s.layer, s.op, s.tensor, s.name, t.num_elements)
        for k, (mine, theirs) in enumerate(zip(have, want)):
            a = mine[s.tensor]
            b = np.asarray(theirs[s.tensor])
            if b.size != a.size or b.dtype != a.dtype:
                raise InternalError(f"TFLite Micro's tensor {s.tensor} ({s.name}) is {b.dtype} {list(b.shape)}, "
                                    f"mcugen's {a.dtype} {list(a.shape)}",
                                    "this is a bug in mcugen; please report it with the model")
            b = np.ascontiguousarray(b).reshape(a.shape)
            # Same bits, not only equal values (a float's -0.0 or NaN counts as stored).
            item = a.dtype.itemsize
            differs = (a.reshape(-1).view(np.uint8).reshape(-1, item) !=
                       b.reshape(-1).view(np.uint8).reshape(-1, item)).any(axis=1)
            count = int(np.count_nonzero(differs))
            if count:
                check.inputs_differing += 1
                check.differing += count
                delta = np.abs(a.astype(np.float64) - b.astype(np.float64))
                check.max_abs_diff = max(check.max_abs_diff, float(np.nanmax(delta)) if delta.size else 0.0)
                if check.first_input is None:
                    check.first_input, check.first_input_differing = k, count
        report.checks.append(check)
    return report
