"""Lowering: one IR operator -> one typed kernel call with its constants baked in.

Each op family has a module under ``mcugen/codegen/ops/`` that registers a
lowering function with ``@lowers("OP")``. A lowering computes every constant the
kernel needs (multipliers, shifts, offsets, ranges, shapes) in Python and
returns a LayerCall; it raises UnsupportedOpError for options it cannot honour,
before anything is written.

Kernel variants: the model is compiled for one variant (mcugen/target.py: portable,
or arm-dsp on cores with the DSP extension). An op family that has a faster kernel
registers a chooser with ``@chooses("OP")``: from the layer alone it says whether the
layer takes the variant's kernel and how much scratch that kernel needs. The planner
places the scratch before lowering, and the lowering asks the same chooser, so the
kernel that runs is the kernel that was planned (CMSIS-NN's get_buffer_size pattern).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InternalError, McugenError
from ..ir import Graph, Operator, Tensor
from ..ops import OP_SPECS
from ..plan import KernelNeeds, MemoryPlan, plan_graph
from ..plan.program import Call, Move, call_view
from ..target import PORTABLE
from .kernels import KERNELS, KernelSpec

C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "float32": "float",
}


class UnsupportedOpError(McugenError):
    """An op, or an option of an op, that mcugen has no kernel for."""

    exit_code = 1

    def __init__(self, op: Operator, detail: str, hint: str | None = None):
        super().__init__(f"layer {op.index} ({op.op}): {detail}",
                         hint or "mcugen cannot compile this model; see README for the supported ops and options")
        self.op = op


@dataclass
class ConstArray:
    """A constant C array emitted once, in flash on MCUs, aligned to 16 bytes."""

    name: str
    ctype: str
    values: np.ndarray
    comment: str = ""
    group: int = 1  # >1: an array of structs, `group` integers each
    item_bytes: int = 0  # a struct's size when its members are not all 4-byte integers

    @property
    def count(self) -> int:
        return len(self.values) // self.group

    @property
    def nbytes(self) -> int:
        if self.item_bytes:
            return self.count * self.item_bytes
        return int(self.values.size * (4 if self.group > 1 else self.values.dtype.itemsize))


class KernelFieldError(InternalError):
    """A lowering filled a kernel's parameter struct wrongly: a bug in mcugen, caught before any C is written."""



@dataclass
class LayerCall:
    index: int
    op: str
    comment: str
    kernel: str | None = None  # None: no code runs (an aliased reshape)
    params_type: str | None = None
    params: list[tuple[str, str]] = field(default_factory=list)  # (field, C initializer)
    args: list[str] = field(default_factory=list)  # C expressions after &params
    header: str | None = None  # runtime header declaring the kernel
    macs: int = 0
    spec: KernelSpec | None = field(default=None, init=False)
    position: int = field(default=0, init=False)  # the layer's position in execution order (profile slot)
    params_name: str = field(default="", init=False)  # the const struct the call passes
    strip: str = field(default="", init=False)  # "rows a..b of h" for a call on part of the layer
    statement: str = field(default="", init=False)  # plain C instead of a kernel call (a line buffer's move)

    def __post_init__(self) -> None:
        if self.kernel is None:
            return
        spec = KERNELS.get(self.kernel)
        if spec is None:
            raise KernelFieldError(f"layer {self.index} ({self.op}): kernel {self.kernel} has no spec",
                                   "declare it in mcugen/codegen/kernels.py")
        given = [name for name, _ in self.params]
        problems = []
        if self.params_type not in (None, spec.params_type):
            problems.append(f"parameter type {self.params_type} is not {spec.params_type}")
        if self.header not in (None, spec.header):
            problems.append(f"header {self.header} is not {spec.header}")
        missing = [f for f in spec.fields if f not in given]
        unknown = [f for f in given if f not in spec.fields]
        twice = sorted({f for f in given if given.count(f) > 1})
        for what, names in (("missing", missing), ("unknown", unknown), ("set twice", twice)):
            if names:
                problems.append(f"{what} field(s) {', '.join(names)}")
        if problems:
            raise KernelFieldError(f"layer {self.index} ({self.op}): {self.kernel}: {'; '.join(problems)}",
                                   "a bug in mcugen's lowering; please report it with the model")
        self.spec = spec
        self.params_type = spec.params_type
        self.header = spec.header
        order = {f: i for i, f in enumerate(spec.fields)}
        self.params = sorted(self.params, key=lambda kv: order[kv[0]])

    @classmethod
    def of(cls, spec: KernelSpec, index: int, op: str, comment: str, params: list[tuple[str, str]],
           args: list[str], macs: int = 0) -> "LayerCall":
        return cls(index, op, comment, spec.name, spec.params_type, params, args, spec.header, macs)


Lowering = Callable[["LoweringContext", Operator], LayerCall]
LOWERINGS: dict[str, Lowering] = {}


@dataclass(frozen=True)
class KernelChoice:
    """Which variant's kernel a layer runs, and the scratch bytes it needs."""

    variant: str = PORTABLE
    scratch_bytes: int = 0
    # Fewest output rows per call when the layer runs in strips (mcugen/plan/): below
    # this the kernel's own per-call work (widening the shared halo rows, say) shows.
    min_strip_rows: int = 1


# (graph, op, variant the model is compiled for) -> the layer's choice
Chooser = Callable[[Graph, Operator, str], KernelChoice]
CHOOSERS: dict[str, Chooser] = {}
# Ops whose one kernel needs scratch in every variant (its working memory): their
# chooser is asked for portable models too.
PORTABLE_SCRATCH_OPS: set[str] = set()


def chooses(*ops: str, portable: bool = False) -> Callable[[Chooser], Chooser]:
    def register(fn: Chooser) -> Chooser:
        for op in ops:
            CHOOSERS[op] = fn
            if portable:
                PORTABLE_SCRATCH_OPS.add(op)
        return fn
    return register


def choose_kernel(graph: Graph, op: Operator, variant: str) -> KernelChoice:
    chooser = CHOOSERS.get(op.op)
    if chooser is None or (variant == PORTABLE and op.op not in PORTABLE_SCRATCH_OPS):
        return KernelChoice()
    return chooser(graph, op, variant)


# A fast kernel costs flash for its code (about 0.5-4 KB each). An op family whose
# layers would take less than this share of the model's time with the portable
# kernels keeps them: the speed-up would be invisible, the code not (a keyword
# spotter's 64x12 classifier or its one average pool, say).
MIN_WORK_SHARE = 0.01
# Rough portable-kernel instructions per MAC, and per output element (times the
# window for pools), from the per-layer profiles of the shared models on qemu-cm7:
# only their ratios matter.
PORTABLE_PER_MAC = 8
PORTABLE_PER_ELEMENT = {"ADD": 120, "SUB": 120, "MUL": 60, "QUANTIZE": 50, "PAD": 4, "PADV2": 4,
                        "MAX_POOL_2D": 20, "AVERAGE_POOL_2D": 9}


def portable_work(graph: Graph, op: Operator) -> int:
    """A layer's cost with the portable kernels, in rough instructions."""
    from ..ops import op_macs

    macs = op_macs(graph, op)
    if macs:
        return macs * PORTABLE_PER_MAC
    out = graph.tensor(op.outputs[0]) if op.outputs else None
    elements = out.num_elements if out is not None else 0
    pool = op.op in ("MAX_POOL_2D", "AVERAGE_POOL_2D")
    window = int(op.options.get("filter_height", 1)) * int(op.options.get("filter_width", 1)) if pool else 1
    return elements * window * PORTABLE_PER_ELEMENT.get(op.op, 4)


def choose_kernels(graph: Graph, variant: str) -> dict[int, KernelChoice]:
    """Every layer's kernel choice (by op position), for a model compiled for `variant`."""
    from . import ops  # noqa: F401  (registers the lowerings and choosers)

    choices = {pos: choose_kernel(graph, op, variant) for pos, op in enumerate(graph.operators)}
    work = [portable_work(graph, op) for op in graph.operators]
    total = sum(work)
    by_op: dict[str, list[int]] = {}
    for pos, op in enumerate(graph.operators):
        if choices[pos].variant != PORTABLE:
            by_op.setdefault(op.op, []).append(pos)
    for positions in by_op.values():
        if sum(work[p] for p in positions) < MIN_WORK_SHARE * total:
            for p in positions:
                choices[p] = KernelChoice()
    return choices


def lowers(*ops: str) -> Callable[[Lowering], Lowering]:
    def register(fn: Lowering) -> Lowering:
        for op in ops:
            if op not in OP_SPECS:  # a kernel for an op mcugen has no definition of (cost, planning)
                raise RuntimeError(f"{fn.__name__} lowers {op}, which mcugen/ops.py does not define")
            LOWERINGS[op] = fn
        return fn
    return register


def c_int(v: int) -> str:
    v = int(v)
    if v == -(1 << 31):
        return "INT32_MIN"  # the literal 2147483648 does not fit int
    return str(v)


def c_float(v: float) -> str:
    """A float literal that reads back as exactly the same float32."""
    f = np.float32(v)
    if not np.isfinite(f):
        raise ValueError(f"non-finite constant {v}")
    text = np.format_float_scientific(f, unique=True, precision=None)
    return f"{text}f"


def dims_init(shape: tuple[int, ...]) -> str:
    """NHWC mcugen_dims_t initializer; lower ranks are padded with leading 1s."""
    if len(shape) > 4:
        raise ValueError(f"rank {len(shape)}")
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    return "{.n = %d, .h = %d, .w = %d, .c = %d}" % padded


def shape_text(t: Tensor) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


class LoweringContext:
    """What a lowering may ask: tensors, their arena pointers, and const arrays."""

    def __init__(self, graph: Graph, plan: MemoryPlan, arena_symbol: str = "mcugen_arena", variant: str = PORTABLE):
        self.graph = graph  # during a call: the layer as that call sees it (a strip's shorter tensors)
        self.model_graph = graph
        self.plan = plan
        self.arena_symbol = arena_symbol
        self.variant = variant
        self.position = 0  # the current op's position in execution order
        self._choices: dict[int, KernelChoice] | None = None
        self.arrays: list[ConstArray] = []
        self._array_names: set[str] = set()
        self._array_content: dict[tuple, str] = {}
        self._tensor_arrays: dict[int, str] = {}
        self.current: Operator | None = None
        self.call: Call | None = None  # the call being lowered: where its rows are

    def tensor(self, index: int) -> Tensor:
        return self.graph.tensor(index)

    def input(self, op: Operator, pos: int) -> Tensor | None:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return None
        return self.graph.tensor(op.inputs[pos])

    def output(self, op: Operator, pos: int = 0) -> Tensor:
        return self.graph.tensor(op.outputs[pos])

    def ptr(self, t: Tensor, const: bool = False) -> str:
        """C expression for a tensor's data: its arena slot, or its const array."""
        ctype = C_TYPES.get(t.dtype)
        if ctype is None:
            raise UnsupportedOpError(self.current, f"tensor {t.label()} has type {t.dtype}")  # type: ignore[arg-type]
        if t.is_constant:
            return self.const_tensor(t)
        offset = self._address(t.index)
        qual = "const " if const else ""
        return f"({qual}{ctype} *)({self.arena_symbol} + {offset})"

    def _address(self, tensor: int) -> int:
        if self.call is not None:
            for rows in self.call.reads + self.call.writes:
                if rows.tensor == tensor:
                    return self.plan.address(rows)
        return self.plan.tensor_offsets[tensor]

    def output_stride(self, t: Tensor) -> int:
        """Elements between two pixels of `t` where this call writes it: its channels, or
        the channels of the wider tensor it is a slice of (a concatenation made in place)."""
        return self.plan.program.tensor_stride.get(t.index) or (t.shape[-1] if t.shape else 1)

    def const_tensor(self, t: Tensor, name: str | None = None) -> str:
        """The const array holding a constant tensor, emitted once however often it is used."""
        if t.index in self._tensor_arrays:
            return self._tensor_arrays[t.index]
        ctype = C_TYPES[t.dtype]
        label = name or f"l{self.current.index if self.current else 0}_t{t.index}"
        array = self.add_array(label, ctype, t.data, f"{t.label()} {shape_text(t)} {t.dtype}")
        self._tensor_arrays[t.index] = array
        return array

    def add_array(self, name: str, ctype: str, values: np.ndarray | list, comment: str = "", group: int = 1,
                  item_bytes: int = 0) -> str:
        flat = np.asarray(values).reshape(-1)
        # Every strip of a layer lowers it again: the same constants are emitted once.
        key = (ctype, group, item_bytes, flat.dtype.str, flat.tobytes())
        if key in self._array_content:
            return self._array_content[key]
        base = f"mcugen_{name}"
        unique = base
        n = 1
        while unique in self._array_names:
            n += 1
            unique = f"{base}_{n}"
        self._array_names.add(unique)
        self._array_content[key] = unique
        self.arrays.append(ConstArray(unique, ctype, flat, comment, group, item_bytes))
        return unique

    def choice(self, op: Operator) -> KernelChoice:
        """The kernel variant this layer was planned with (the same choice, the same answer)."""
        if self._choices is None:
            self._choices = choose_kernels(self.model_graph, self.variant)
        return self._choices[self.position]

    def scratch(self, ctype: str = "int16_t") -> str:
        """C expression for the current layer's planned scratch memory."""
        offset = self.plan.scratch_address(self.call) if self.call is not None else None
        if offset is None:
            raise KernelFieldError(f"layer {self.current.index if self.current else '?'}: no scratch was planned",
                                   "a bug in mcugen's kernel choice; please report it with the model")
        return f"({ctype} *)({self.arena_symbol} + {offset})"

    def unsupported(self, op: Operator, detail: str, hint: str | None = None) -> UnsupportedOpError:
        return UnsupportedOpError(op, detail, hint)


def supported_ops() -> set[str]:
    """Ops with an int8 kernel: exactly the lowerings registered."""
    from . import ops  # noqa: F401  (registers the lowerings)

    return set(LOWERINGS)


class VariantKernels(KernelNeeds):
    """The kernels of a model compiled for `variant`, as the plan needs to know them:
    each layer's choice (made once, on the whole model) and its scratch, sized for the
    rows each call works on."""

    def __init__(self, graph: Graph, variant: str):
        from . import ops  # noqa: F401  (registers the lowerings and choosers)

        self.graph = graph
        self.variant = variant
        self.choices = choose_kernels(graph, variant)

    def scratch(self, view: Graph, op: Operator, position: int) -> int:
        choice = self.choices[position]
        if choice.variant == PORTABLE and not choice.scratch_bytes:
            return 0
        if view is self.graph:
            return choice.scratch_bytes
        # A strip runs the layer's kernel (the choice is the layer's: a size threshold
        # may turn a short strip down on its own), with that kernel's scratch rule
        # applied to the strip's rows.
        strip = choose_kernel(view, op, self.variant)
        if strip.variant != choice.variant and choice.scratch_bytes == 0:
            return 0
        if strip.variant != choice.variant:
            raise KernelFieldError(f"layer {op.index} ({op.op}): a strip of it would take the {strip.variant} "
                                   f"kernel, the layer the {choice.variant} one",
                                   "a bug in mcugen's kernel choice; please report it with the model")
        return strip.scratch_bytes

    def min_strip_rows(self, position: int) -> int:
        return self.choices[position].min_strip_rows

    # Kernels with an output_stride field (every variant of these ops).
    STRIDED_OUTPUT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")

    def strided_output(self, position: int) -> bool:
        return self.graph.operators[position].op in self.STRIDED_OUTPUT_OPS


def scratch_rule(graph: Graph, variant: str) -> VariantKernels:
    return VariantKernels(graph, variant)


def plan_for(graph: Graph, variant: str = PORTABLE, memory: str = "fast",
             arena_budget: int | None = None) -> MemoryPlan:
    """The memory plan of a model compiled for `variant`: tensors and kernel scratch,
    on the graph as the board runs it (plan.graph: rewritten, in its execution order).
    memory `auto` takes the fast plan when it needs at most arena_budget bytes."""
    return plans_for(graph, variant, memory, arena_budget)[0]


def plans_for(graph: Graph, variant: str = PORTABLE, memory: str = "fast", arena_budget: int | None = None,
              every: bool = False) -> tuple[MemoryPlan, dict[str, MemoryPlan]]:
    """The chosen plan, and every plan made on the way (all strategies when `every`)."""
    from ..plan import STRATEGIES, choose_strategy, prepare

    prepared = prepare(graph)
    rule = scratch_rule(prepared.graph, variant)
    made: dict[str, MemoryPlan] = {}

    def plan(strategy: str) -> MemoryPlan:
        if strategy not in made:
            made[strategy] = plan_graph(prepared.graph, strategy, rule, prepared.notes)
        return made[strategy]

    for strategy in STRATEGIES if every else ():
        plan(strategy)
    fast_arena = plan("fast").arena_bytes if memory == "auto" else 0
    chosen = plan(choose_strategy(memory, fast_arena, arena_budget))
    return chosen, made


def _move(ctx: LoweringContext, graph: Graph, move: Move) -> LayerCall:
    """Rows a line buffer keeps for the next patch go to its front (the regions may overlap)."""
    from ..plan.program import row_bytes

    op = graph.operators[move.position]
    t = graph.tensor(move.source.tensor)
    size = move.source.count * row_bytes(t)
    src, dst = ctx.plan.address(move.source), ctx.plan.address(move.target)
    call = LayerCall(op.index, op.op, f"keep rows {move.source.start}..{move.source.stop - 1} of {t.label()} "
                                      f"for the next patch")
    call.position = move.position
    call.statement = f"memmove({ctx.arena_symbol} + {dst}, {ctx.arena_symbol} + {src}, {size});"
    return call


def _strip_text(graph: Graph, call: Call) -> str:
    out = call.writes[0]
    return f"rows {out.start}..{out.stop - 1} of {graph.tensor(out.tensor).shape[1]}"


def lower_graph(graph: Graph, plan: MemoryPlan, variant: str = PORTABLE) -> tuple[list[LayerCall], LoweringContext]:
    """Lower every call of the plan's program (one per layer, or one per strip of a
    layer), or raise for the first layer mcugen cannot compile."""
    from . import ops  # noqa: F401  (registers the lowerings)

    graph = plan.graph  # the order and rewrites the plan was made for
    ctx = LoweringContext(graph, plan, variant=variant)
    calls = []
    names: dict[tuple, str] = {}
    strips: dict[int, int] = {}
    for call in plan.program.entries:
        if isinstance(call, Move):
            calls.append(_move(ctx, graph, call))
            continue
        op = graph.operators[call.position]
        lowering = LOWERINGS.get(op.op)
        if lowering is None:
            raise UnsupportedOpError(op, f"mcugen has no int8 kernel for {op.op}")
        view, view_op = call_view(graph, call)
        ctx.graph, ctx.current, ctx.position, ctx.call = view, view_op, call.position, call
        lowered = lowering(ctx, view_op)
        lowered.position = call.position
        if not call.whole:
            lowered.strip = _strip_text(graph, call)
        if lowered.kernel:
            # Strips of a layer share one parameter struct wherever theirs are the same.
            key = (lowered.params_type, tuple(lowered.params))
            if key not in names:
                k = strips.get(op.index, 0)
                strips[op.index] = k + 1
                names[key] = f"mcugen_l{op.index}_params" + (f"_{k}" if k else "")
            lowered.params_name = names[key]
        calls.append(lowered)
    ctx.graph, ctx.current, ctx.call = graph, None, None
    return calls, ctx
