"""What a model needs: ops, MACs, weight bytes, the memory plan, TFLM's arena beside it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ReferenceInterpreterError
from .ir import Graph, Tensor
from .loader import load_model
from .codegen.lowering import UnsupportedOpError, lower_graph, plans_for, supported_ops
from .target import PORTABLE
from .ops import data_inputs, op_macs
from .plan import MemoryPlan
from .reference import TflmArena, tflm_arena


@dataclass(frozen=True)
class LayerRow:
    index: int  # the layer's position in the model file
    op: str
    output_shape: tuple[int, ...]
    macs: int
    weight_bytes: int
    live_bytes: int
    supported: bool


@dataclass(frozen=True)
class EdgeTensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | list[float] | None
    zero_point: int | list[int] | None

    @classmethod
    def of(cls, t: Tensor) -> "EdgeTensor":
        scale = zero_point = None
        if t.quant is not None:
            q = t.quant.to_json()
            scale, zero_point = q["scale"], q["zero_point"]
        return cls(t.label(), t.shape, t.dtype, scale, zero_point)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class StrategyRow:
    """One memory strategy's plan, as inspect shows it beside the others."""

    name: str
    arena_bytes: int
    peak_layer: int | None  # model index of the layer during which the arena is fullest
    peak_op: str
    calls: int  # kernel calls per inference (a layer in strips makes several)
    extra_macs: int  # MACs recomputed on top of the model's (0: nothing is computed twice)
    notes: tuple[str, ...]
    chosen: bool

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.name, "arena_bytes": self.arena_bytes, "peak_layer": self.peak_layer,
                "peak_op": self.peak_op, "calls": self.calls, "extra_macs": self.extra_macs,
                "notes": list(self.notes), "chosen": self.chosen}


def strategy_row(plan: MemoryPlan, chosen: bool) -> StrategyRow:
    pos = plan.peak_position
    op = plan.graph.operators[pos] if pos is not None else None
    return StrategyRow(plan.strategy, plan.arena_bytes, op.index if op else None, op.op if op else "",
                       len(plan.program.calls()), plan.program.extra_macs, tuple(plan.program.notes), chosen)


@dataclass
class ModelReport:
    model: str
    layers: list[LayerRow]
    inputs: list[EdgeTensor]
    outputs: list[EdgeTensor]
    macs: int
    weights_bytes: int
    arena_bytes: int
    plan: MemoryPlan
    # Everything the generated code keeps in flash: weights plus per-layer tables
    # (per-channel multipliers and shifts, lookup tables), from the code generator.
    # None when an op has no kernel yet.
    constants_bytes: int | None = None
    tflm: TflmArena | None = None
    tflm_error: str | None = None
    unsupported: list[str] = field(default_factory=list)
    refusal: str | None = None  # why the code generator refuses a supported op's options
    variant: str = PORTABLE  # the kernel variant the plan and constants are for
    strategies: list[StrategyRow] = field(default_factory=list)  # every memory strategy, the chosen one marked

    @property
    def ops(self) -> dict[str, int]:
        return dict(sorted(Counter(layer.op for layer in self.layers).items()))

    @property
    def scratch_bytes(self) -> int:
        """The largest kernel scratch buffer (inside the arena, live during its layer only)."""
        return max((c.scratch_bytes for c in self.plan.program.calls()), default=0)

    @property
    def memory(self) -> str:
        return self.plan.strategy

    @property
    def rewrites(self) -> list[str]:
        return self.plan.program.rewrites

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kernels": self.variant,
            "memory": self.memory,
            "strategies": [r.to_json() for r in self.strategies],
            "rewrites": self.rewrites,
            "scratch_bytes": self.scratch_bytes,
            "macs": self.macs,
            "weights_bytes": self.weights_bytes,
            "constants_bytes": self.constants_bytes,
            "arena_bytes": self.arena_bytes,
            "tflm_arena_bytes": self.tflm.head if self.tflm else None,
            "tflm_arena_total_bytes": self.tflm.total if self.tflm else None,
            "tflm_error": self.tflm_error,
            "ops": self.ops,
            "unsupported_ops": self.unsupported,
            "refusal": self.refusal,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "layers": [
                {"index": r.index, "op": r.op, "output_shape": list(r.output_shape), "macs": r.macs,
                 "weight_bytes": r.weight_bytes, "live_bytes": r.live_bytes, "supported": r.supported}
                for r in self.layers
            ],
        }


def weight_tensors(graph: Graph) -> dict[int, Tensor]:
    """Constant data the generated code keeps in flash, each tensor counted once."""
    found: dict[int, Tensor] = {}
    for op in graph.operators:
        for t in data_inputs(op):
            tensor = graph.tensor(t)
            if tensor.is_constant:
                found[t] = tensor
    return found


def analyze_graph(graph: Graph, name: str, variant: str = PORTABLE, memory: str = "auto",
                  arena_budget: int | None = None) -> ModelReport:
    """variant: the kernels the model would be compiled with (their scratch is in the arena);
    memory: the strategy to report on (`auto`: fast if its arena fits arena_budget, else small).
    Every strategy's plan is made, for the comparison."""
    plan, made = plans_for(graph, variant, memory, arena_budget, every=True)
    known = supported_ops()
    unsupported = {op.index for op in graph.operators if op.op not in known}
    model_graph, graph = graph, plan.graph  # the layers as the board runs them
    rows = []
    for pos, op in enumerate(graph.operators):
        consts = [graph.tensor(t) for t in data_inputs(op) if graph.tensor(t).is_constant]
        rows.append(LayerRow(
            index=op.index,
            op=op.op,
            output_shape=graph.tensor(op.outputs[0]).shape if op.outputs else (),
            macs=op_macs(graph, op),
            weight_bytes=sum(t.nbytes for t in consts),
            live_bytes=plan.live_bytes[pos],
            supported=op.index not in unsupported,
        ))
    constants = None
    refusal = None
    if not unsupported:
        try:
            _, ctx = lower_graph(graph, plan, variant)
            constants = sum(a.nbytes for a in ctx.arrays)
        except UnsupportedOpError as exc:  # a known op with an option mcugen cannot honour
            refusal = exc.message
    return ModelReport(
        model=name,
        constants_bytes=constants,
        layers=rows,
        inputs=[EdgeTensor.of(t) for t in graph.input_tensors()],
        outputs=[EdgeTensor.of(t) for t in graph.output_tensors()],
        macs=sum(op_macs(model_graph, op) for op in model_graph.operators),
        weights_bytes=sum(t.nbytes for t in weight_tensors(graph).values()),
        arena_bytes=plan.arena_bytes,
        plan=plan,
        unsupported=sorted({op.op for op in model_graph.operators if op.op not in known}),
        refusal=refusal,
        variant=variant,
        strategies=[strategy_row(p, p is plan) for p in made.values()],
    )


def analyze_model(path: str | Path, with_tflm: bool = True, variant: str = PORTABLE, memory: str = "auto",
                  arena_budget: int | None = None) -> tuple[Graph, ModelReport]:
    graph = load_model(path)
    report = analyze_graph(graph, Path(path).name, variant, memory, arena_budget)
    if not with_tflm:
        report.tflm_error = "skipped (--no-tflm)"
    else:
        try:
            report.tflm = tflm_arena(path)
        except ReferenceInterpreterError as exc:
            report.tflm_error = exc.one_line()
    return graph, report
