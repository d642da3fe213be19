"""The program a model runs: kernel calls in order, each on whole tensors or on a
few rows of them, and the buffers those rows live in.

Data flows model -> IR -> program -> placed plan -> C. The program says *what* runs
on *which rows* and in which buffer (and where inside it) each run's rows are; the
placement (mcugen/plan/place.py) then gives every buffer its offset in the arena,
and the code generator turns each call into one kernel call with pointers into it.

Rows: a 4-D single-image tensor's rows are its H rows (each a contiguous run of
W * C elements); any other tensor is one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..ir import Graph, Operator, Tensor

if TYPE_CHECKING:
    from .stages import Stage


def row_count(t: Tensor) -> int:
    return t.shape[1] if len(t.shape) == 4 and t.shape[0] == 1 and t.shape[1] > 0 else 1


def row_bytes(t: Tensor) -> int:
    return t.nbytes // row_count(t)


def row_pitch(t: Tensor, stride: int | None = None) -> int:
    """Bytes from one row of `t` to the next as stored: its own row, or with its pixels
    `stride` elements apart (a channel slice of a wider image)."""
    if stride is None:
        return row_bytes(t)
    return row_bytes(t) // t.shape[3] * stride


@dataclass(frozen=True)
class Rows:
    """Rows [start, stop) of a tensor, held at byte `at` of buffer `buffer`."""

    tensor: int
    start: int
    stop: int
    buffer: int
    at: int  # byte offset of row `start` inside the buffer

    @property
    def count(self) -> int:
        return self.stop - self.start


@dataclass
class Call:
    """One kernel call: layer `position` makes output rows `writes` from input rows `reads`."""

    position: int  # the layer's position in execution order
    reads: tuple[Rows, ...]  # one per non-constant data input, in the op's order
    writes: tuple[Rows, ...]  # one per output
    scratch_buffer: int | None = None  # the buffer of the kernel's scratch, live during this call only
    scratch_bytes: int = 0
    pad: tuple[int, int] | None = None  # explicit padding before the rows (a strip); None: the layer's own
    whole: bool = True  # the layer in one call over whole tensors
    no_code: bool = False  # nothing to run: a concatenation whose inputs were made in their slices


@dataclass
class Move:
    """Rows a line buffer still needs move to its front before new rows come in (a memmove)."""

    position: int  # the layer whose output rows these are (for the profile)
    source: Rows
    target: Rows


Entry = Call | Move


@dataclass
class Buffer:
    """A region of the arena: one tensor's storage (shared by tensors that alias it or
    that a layer computes in place), a stage's line buffer, or a kernel's scratch."""

    id: int
    size: int
    kind: str  # "tensor", "line" or "scratch"
    tensors: list[int] = field(default_factory=list)
    offset: int = -1


@dataclass
class Program:
    """Every call in order, and the buffers their rows live in."""

    graph: Graph  # the graph in the order the calls run (after rewrites and reordering)
    entries: list[Entry]
    buffers: list[Buffer]
    tensor_buffer: dict[int, int]  # tensors stored whole: tensor -> buffer (its bytes from offset 0)
    strategy: str = "fast"
    notes: list[str] = field(default_factory=list)  # what the strategy did, for inspect
    rewrites: list[str] = field(default_factory=list)  # what was done to the graph first (every strategy)
    extra_macs: int = 0  # MACs recomputed (patch halos), on top of the model's
    stage: Stage | None = None  # the layers run patch by patch, if any
    tensor_at: dict[int, int] = field(default_factory=dict)  # a whole tensor's first byte in its buffer, if not 0
    # Tensors stored as channel slices of a wider image (a concatenation's output):
    # elements from one pixel to the next. Absent: the tensor's own channels.
    tensor_stride: dict[int, int] = field(default_factory=dict)

    def row_pitch(self, t: int) -> int:
        """Bytes from one row of `t` to the next where it is stored."""
        return row_pitch(self.graph.tensor(t), self.tensor_stride.get(t))

    def row_extent(self, t: int) -> int:
        """Bytes from the first to past the last of one row's bytes (a channel slice's row
        has other slices' channels between its pixels)."""
        tensor = self.graph.tensor(t)
        stride = self.tensor_stride.get(t)
        if stride is None:
            return row_bytes(tensor)
        item = row_bytes(tensor) // (tensor.shape[2] * tensor.shape[3])
        return ((tensor.shape[2] - 1) * stride + tensor.shape[3]) * item

    def whole_rows(self, t: int) -> Rows:
        """All rows of a tensor stored whole, where they are."""
        return Rows(t, 0, row_count(self.graph.tensor(t)), self.tensor_buffer[t], self.tensor_at.get(t, 0))

    def calls(self) -> list[Call]:
        return [e for e in self.entries if isinstance(e, Call)]


def call_view(graph: Graph, call: Call) -> tuple[Graph, Operator]:
    """The layer as its kernel call sees it: the whole layer, or, for a strip, the same
    layer on tensors only as tall as the rows the call reads and writes, with the
    padding before them given outright."""
    from dataclasses import replace

    op = graph.operators[call.position]
    if call.whole:
        return graph, op
    tensors = list(graph.tensors)
    for rows in call.reads + call.writes:
        t = graph.tensor(rows.tensor)
        tensors[rows.tensor] = replace(t, shape=(t.shape[0], rows.count) + tuple(t.shape[2:]))
    view_op = replace(op, explicit_padding=call.pad)
    view = Graph(tensors, [view_op], graph.inputs, graph.outputs, graph.name, graph.description)
    return view, view_op
