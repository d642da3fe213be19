"""Build a model's program for a memory strategy (mcugen/plan/program.py).

- Every strategy: tensors that an op only reinterprets (RESHAPE, SQUEEZE,
  EXPAND_DIMS) share one buffer, and an elementwise layer (ADD, QUANTIZE, an
  activation ...) writes its output over a same-sized input that dies there (its
  kernels read each element before writing it), so neither costs bytes.
- "small" also runs each windowed layer (convolutions, pools) whose input dies
  there a few output rows per call. Nothing in the kernels changes: each call is the
  layer on a strip of rows. What changes is what the placement may do: the output's
  first rows can go over input rows no later call reads, so input and output need
  little more than the larger of the two instead of both.
"""

from __future__ import annotations

from typing import Callable

from ..ir import DTYPE_BYTES, Graph, Operator
from ..ops import data_inputs, row_window, spec_for
from .program import Buffer, Call, Move, Program, Rows, call_view, row_bytes, row_count, row_pitch
from .stages import Stage, schedule


class KernelNeeds:
    """What the plan must know of the kernels the code generator will call (the plan
    knows no kernel itself): the scratch each call needs, and the fewest output rows a
    strip call should have for the layer's kernel to stay about as fast as whole."""

    def scratch(self, view: Graph, op: Operator, position: int) -> int:
        """Bytes for the call of layer `position` as `view` shows it (a strip: shorter tensors)."""
        return 0

    def min_strip_rows(self, position: int) -> int:
        return 1

    def strided_output(self, position: int) -> bool:
        """The layer's kernel can write its output pixels further apart than its channels
        (into its slice of a concatenation's channels)."""
        return False


# A strip costs a kernel call's set-up (and, for a window taller than its stride,
# re-reading the rows strips share); the input rows a strip frees are what let the
# output in early. About this many strips per layer keep both small.
STRIPS_PER_LAYER = 12


class _Buffers:
    """Tensor storage: which buffer holds each tensor, and the buffers' sizes."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.of: dict[int, int] = {}
        self.at: dict[int, int] = {}  # a tensor's first byte inside its buffer (a concatenation's slice)
        self.stride: dict[int, int] = {}  # a channel slice's elements from one pixel to the next
        self.buffers: list[Buffer] = []

    def new(self, size: int, kind: str, tensors: list[int] | None = None) -> int:
        b = Buffer(len(self.buffers), size, kind, list(tensors or []))
        self.buffers.append(b)
        for t in b.tensors:
            self.of[t] = b.id
        return b.id

    def tensor(self, t: int) -> int:
        if t not in self.of:
            self.new(self.graph.tensor(t).nbytes, "tensor", [t])
        return self.of[t]

    def rows(self, t: int, start: int, stop: int) -> Rows:
        """Rows of a tensor stored whole."""
        pitch = row_pitch(self.graph.tensor(t), self.stride.get(t))
        return Rows(t, start, stop, self.tensor(t), self.at.get(t, 0) + start * pitch)

    def nest(self, t: int, buffer: int, at: int, stride: int | None = None) -> None:
        """t is stored inside `buffer` from byte `at` (a slice of a concatenation's
        output); stride: its pixels that many elements apart (a slice of the channels)."""
        self.of[t] = buffer
        self.at[t] = at
        if stride is not None:
            self.stride[t] = stride
        self.buffers[buffer].tensors.append(t)

    def join(self, t: int, buffer: int) -> None:
        """t is stored in `buffer` from its byte 0 (an alias, or an in-place result)."""
        self.of[t] = buffer
        b = self.buffers[buffer]
        b.tensors.append(t)
        b.size = max(b.size, self.graph.tensor(t).nbytes)


def last_reads(graph: Graph) -> dict[int, int]:
    """Tensor -> position of the last layer reading it (model outputs: past the end)."""
    last: dict[int, int] = {}
    for pos, op in enumerate(graph.operators):
        for t in data_inputs(op):
            last[t] = pos
    for t in graph.outputs:
        last[t] = len(graph.operators)
    return last


def _in_place_input(graph: Graph, op: Operator, pos: int, last: dict[int, int], buffers: _Buffers) -> int | None:
    """The input whose buffer an elementwise layer's output can take, if any."""
    if not spec_for(op).elementwise or len(op.outputs) != 1:
        return None
    out = graph.tensor(op.outputs[0])
    ins = data_inputs(op)
    if any(graph.tensor(t).shape != out.shape for t in ins):  # broadcasting: keep it simple and separate
        return None
    for t in ins:
        src = graph.tensor(t)
        if src.is_constant or ins.count(t) > 1 or last.get(t) != pos:
            continue
        if _keeps_or_narrows(src.dtype, out.dtype):
            group = buffers.buffers[buffers.tensor(t)].tensors
            if all(last.get(m, -1) <= pos for m in group):  # nothing else in the buffer is needed later
                return t
    return None


def _keeps_or_narrows(src: str, out: str) -> bool:
    """Output elements no wider than the input's: writing element i touches only input bytes of elements <= i."""
    return DTYPE_BYTES[out] <= DTYPE_BYTES[src]


def _whole(graph: Graph, op: Operator, pos: int, buffers: _Buffers) -> Call:
    reads = tuple(buffers.rows(t, 0, row_count(graph.tensor(t)))
                  for t in data_inputs(op) if not graph.tensor(t).is_constant)
    writes = tuple(buffers.rows(t, 0, row_count(graph.tensor(t))) for t in op.outputs)
    return Call(pos, reads, writes)


def _strip_call(graph: Graph, op: Operator, pos: int, start: int, stop: int,
                where: Callable[[int, int, int], Rows]) -> Call | None:
    """Layer `pos` making output rows [start, stop) from the input rows they need, each
    placed by where(tensor, first row, stop row); None if a strip would read nothing."""
    window = row_window(graph, op)
    reads = []
    pad_top = 0
    for t in data_inputs(op):
        if graph.tensor(t).is_constant:
            continue
        lo, hi = window.input_rows(start, stop, row_count(graph.tensor(t)))
        if hi <= lo:
            return None
        reads.append(where(t, lo, hi))
        pad_top = lo - (start * window.stride - window.pad)
    return Call(pos, tuple(reads), (where(op.outputs[0], start, stop),), pad=(pad_top, window.pad_cols),
                whole=False)


def _strips(graph: Graph, op: Operator, pos: int, buffers: _Buffers, rows_per_call: int,
            reverse: bool) -> list[Call] | None:
    if row_window(graph, op) is None:
        return None
    height = row_count(graph.tensor(op.outputs[0]))
    calls = []
    for start in range(0, height, rows_per_call):
        call = _strip_call(graph, op, pos, start, min(height, start + rows_per_call), buffers.rows)
        if call is None:
            return None  # a strip that reads nothing: leave such a layer whole
        calls.append(call)
    return calls[::-1] if reverse else calls


def _stage_calls(graph: Graph, stage: Stage, buffers: _Buffers) -> list[Call | Move]:
    """The stage's layers interleaved patch by patch, their inner tensors in line buffers."""
    plan = schedule(graph, stage)
    lines = {t: buffers.new(plan.capacity(t) * row_bytes(graph.tensor(t)), "line") for t in plan.internal}

    def place(t: int, start: int, stop: int, s: int) -> Rows:
        if t in lines:
            return Rows(t, start, stop, lines[t], (start - plan.base[t][s]) * row_bytes(graph.tensor(t)))
        return buffers.rows(t, start, stop)

    entries: list[Call | Move] = []
    for s in range(plan.patches):
        for pos in stage.positions:
            op = graph.operators[pos]
            t = op.outputs[0]
            if t in lines and s and plan.base[t][s] > plan.base[t][s - 1] and plan.hi[t][s - 1] > plan.base[t][s]:
                kept = (plan.base[t][s], plan.hi[t][s - 1])
                rb = row_bytes(graph.tensor(t))
                source = Rows(t, *kept, lines[t], (kept[0] - plan.base[t][s - 1]) * rb)
                entries.append(Move(pos, source, Rows(t, *kept, lines[t], 0)))
            start, stop = (plan.hi[t][s - 1] if s else 0), plan.hi[t][s]
            if stop <= start:
                continue
            call = _strip_call(graph, op, pos, start, stop, lambda u, a, b, s=s: place(u, a, b, s))
            if call is None:  # the schedule only asks for rows that read some: a bug if not
                raise AssertionError(f"patch {s} of layer {op.index} reads no input rows")
            entries.append(call)
    return entries


def concatenations_in_place(graph: Graph, last: dict[int, int],
                            kernels: KernelNeeds) -> dict[int, tuple[list[int], int | None]]:
    """Concatenations whose inputs can be written straight into their slices of the
    output (op position -> the inputs' byte offsets in it, and the pixel stride when
    the slices are channels of an image). Each input must be made by a layer for this
    concatenation alone; a slice must be contiguous (nothing but ones before the
    axis), or channels of a single image, whose producers' kernels write with a pixel
    stride."""
    producer = {t: pos for pos, op in enumerate(graph.operators) for t in op.outputs}
    outputs = set(graph.outputs)
    found: dict[int, list[int]] = {}
    taken: set[int] = set()
    for pos, op in enumerate(graph.operators):
        if op.op != "CONCATENATION" or len(op.outputs) != 1 or op.options.get("fused_activation_function",
                                                                             "NONE") != "NONE":
            continue
        out = graph.tensor(op.outputs[0])
        axis = int(op.options.get("axis", 0))
        axis = axis + len(out.shape) if axis < 0 else axis
        ins = list(op.inputs)
        if not 0 <= axis < len(out.shape) or len(set(ins)) != len(ins):
            continue
        contiguous = all(d == 1 for d in out.shape[:axis])
        channels = len(out.shape) == 4 and axis == 3 and out.shape[0] == 1 and not contiguous
        if not contiguous and not (channels and all(t in producer and kernels.strided_output(producer[t])
                                                    for t in ins)):
            continue
        ok = all(t >= 0 and t in producer and not graph.tensor(t).is_constant and t not in outputs
                 and last.get(t) == pos and t not in taken and graph.tensor(t).dtype == out.dtype
                 and graph.tensor(t).quant == out.quant and len(graph.operators[producer[t]].outputs) == 1
                 and not spec_for(graph.operators[producer[t]]).aliases_input
                 and sum(x == t for o in graph.operators for x in o.inputs) == 1 for t in ins)
        if not ok or sum(graph.tensor(t).nbytes for t in ins) != out.nbytes:
            continue
        offsets, at = [], 0
        item = out.nbytes // max(out.num_elements, 1)
        for t in ins:
            offsets.append(at)
            at += graph.tensor(t).nbytes if contiguous else graph.tensor(t).shape[3] * item
        found[pos] = (offsets, None if contiguous else out.shape[3])
        taken.update(ins)
    return found


def _worth_strips(graph: Graph, op: Operator, pos: int, last: dict[int, int]) -> bool:
    """Strips pay only where an input dies here (its rows can make room for the output)."""
    if spec_for(op).elementwise or len(op.outputs) != 1 or row_count(graph.tensor(op.outputs[0])) < 2:
        return False
    ins = [t for t in data_inputs(op) if not graph.tensor(t).is_constant]
    return any(last.get(t) == pos for t in ins)


def default_strip_rows(graph: Graph, pos: int) -> int:
    height = row_count(graph.tensor(graph.operators[pos].outputs[0]))
    return max(1, -(-height // STRIPS_PER_LAYER))


def build_program(graph: Graph, strategy: str = "fast", kernels: KernelNeeds | None = None,
                  stage: Stage | None = None, strip_rows: dict[int, int] | None = None) -> Program:
    """The calls a model runs, for strategy "fast" (each layer whole) or "small" (with
    `stage`, those layers run patch by patch). strip_rows: output rows per call of a
    layer run in strips (a layer's whole height or more: it runs whole)."""
    kernels = kernels or KernelNeeds()
    buffers = _Buffers(graph)
    last = last_reads(graph)
    for t in graph.inputs:
        buffers.tensor(t)
    # Producers write straight into their slice of a concatenation's output: decided
    # before any producer is placed.
    concats = concatenations_in_place(graph, last, kernels)
    for pos, (offsets, stride) in concats.items():
        op = graph.operators[pos]
        whole = buffers.tensor(op.outputs[0])
        for t, at in zip(op.inputs, offsets):
            buffers.nest(t, whole, at, stride)
    entries: list = []
    notes: list[str] = []
    in_place = 0
    strips = 0
    # Strips from the top put the output below the input (it starts where the input's
    # first rows were freed), strips from the bottom put it above; alternating keeps a
    # chain of such layers in one place instead of drifting a strip's height per layer.
    reverse = False
    for pos, op in enumerate(graph.operators):
        if stage is not None and pos in stage.positions:
            if pos == stage.positions[0]:
                patch = _stage_calls(graph, stage, buffers)
                for call in patch:
                    if isinstance(call, Call):
                        need = kernels.scratch(*call_view(graph, call), call.position)
                        if need > 0:
                            call.scratch_buffer, call.scratch_bytes = buffers.new(need, "scratch"), need
                entries.extend(patch)
                first, last_op = graph.operators[stage.positions[0]], graph.operators[stage.last]
                moved = sum(m.source.count * row_bytes(graph.tensor(m.source.tensor))
                            for m in patch if isinstance(m, Move))
                notes.append(f"layers {first.index}-{last_op.index} run patch by patch "
                             f"({schedule(graph, stage).patches} patches of {stage.rows_per_patch} output row(s); "
                             f"halo rows kept, not recomputed: {moved:,} B moved per inference)")
                reverse = True  # the stage ran top down: the next strips go bottom up
            continue
        ins = data_inputs(op)
        if spec_for(op).aliases_input and ins and not graph.tensor(ins[0]).is_constant and op.outputs:
            buffers.join(op.outputs[0], buffers.tensor(ins[0]))
        else:
            src = _in_place_input(graph, op, pos, last, buffers)
            if src is not None:
                buffers.join(op.outputs[0], buffers.tensor(src))
                in_place += 1
        calls = None
        if pos in concats:
            calls = [_whole(graph, op, pos, buffers)]
            calls[0].no_code = True
        elif strategy == "small" and _worth_strips(graph, op, pos, last):
            height = row_count(graph.tensor(op.outputs[0]))
            rows = (strip_rows or {}).get(pos, max(default_strip_rows(graph, pos), kernels.min_strip_rows(pos)))
            calls = _strips(graph, op, pos, buffers, rows, reverse) if rows < height else None
            if calls is not None:
                strips += 1
                reverse = not reverse
        if calls is None:
            calls = [_whole(graph, op, pos, buffers)]
        for call in calls:
            # Each strip's scratch a buffer of its own: it can go wherever is free just then
            # (in the input rows already used, say).
            need = kernels.scratch(*call_view(graph, call), pos)
            if need > 0:
                call.scratch_buffer, call.scratch_bytes = buffers.new(need, "scratch"), need
            entries.append(call)
    if in_place:
        notes.append(f"{in_place} elementwise layer(s) in place")
    if concats:
        notes.append(f"{len(concats)} concatenation(s) without a copy: their inputs are made in place")
    if strips:
        notes.append(f"{strips} layer(s) run in row strips, output over the input rows already used")
    return Program(graph, entries, buffers.buffers, dict(buffers.of), strategy, notes, stage=stage,
                   tensor_at=dict(buffers.at), tensor_stride=dict(buffers.stride))
