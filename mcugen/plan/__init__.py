"""Memory planning: the program a model runs and where its data lives in one arena.

model -> IR -> (rewrite, order) -> program (build.py) -> placement (place.py) -> plan,
checked (check.py) before any C is written. The arena size is known when the model
is compiled: no trial and error.

Strategies: "fast" runs every layer whole (no cost in speed: aliases and elementwise
layers in place); "small" also runs windowed layers in row strips whose output goes
over input rows already used. `choose_strategy` takes the fast plan when it fits the
board and the small one when only that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import McugenError
from ..ir import Graph
from ..ops import data_inputs
from .build import KernelNeeds, build_program
from .place import ALIGNMENT, Profile, align_up, lives, place, profiles
from .stages import Stage, schedule, stage_eligible
from .program import Call, Program, Rows, row_bytes
from .order import memory_order
from .rewrite import Rewritten, fold_pads

STRATEGIES = ("fast", "small")
AUTO = "auto"
MEMORY_CHOICES = (AUTO,) + STRATEGIES


class PlanError(McugenError):
    """A plan that failed its own check: a bug in mcugen, never the model's fault."""

    exit_code = 4  # a bug in mcugen (README: exit codes)


@dataclass
class MemoryPlan:
    program: Program
    arena_bytes: int
    offsets: dict[int, int]  # buffer -> arena offset
    profiles: dict[int, Profile] = field(repr=False, default_factory=dict)
    order: str = ""  # the placement order that won

    @property
    def graph(self) -> Graph:
        return self.program.graph

    @property
    def strategy(self) -> str:
        return self.program.strategy

    def address(self, rows: Rows) -> int:
        return self.offsets[rows.buffer] + rows.at

    @property
    def tensor_offsets(self) -> dict[int, int]:
        """Arena offset of every tensor stored whole (model inputs and outputs among them)."""
        at = self.program.tensor_at
        return {t: self.offsets[b] + at.get(t, 0) for t, b in self.program.tensor_buffer.items() if b in self.offsets}

    def scratch_address(self, call: Call) -> int | None:
        return self.offsets.get(call.scratch_buffer) if call.scratch_buffer is not None else None

    def live_at(self) -> np.ndarray:
        """Bytes live at each entry (index 0: before the first call)."""
        return live_at(self.program, self.profiles)

    @property
    def live_bytes(self) -> list[int]:
        """Per layer position: the most bytes live during any of its calls."""
        live = self.live_at()
        out = [0] * len(self.graph.operators)
        for k, e in enumerate(self.program.entries):
            out[e.position] = max(out[e.position], int(live[k + 1]))
        return out

    @property
    def lower_bound(self) -> int:
        """No placement of these buffers can use fewer bytes than are live at once."""
        return int(self.live_at().max(initial=0))

    @property
    def peak_position(self) -> int | None:
        """The layer during which the most bytes are live (the one that sets the arena's size)."""
        if not len(self.program.entries):
            return None
        k = int(np.argmax(self.live_at()[1 : len(self.program.entries) + 1]))
        return self.program.entries[k].position

    def problems(self) -> list[str]:
        from .check import plan_problems

        return plan_problems(self)


def _placed(program: Program) -> MemoryPlan:
    placement, profs = place(program)
    return MemoryPlan(program, placement.arena_bytes, placement.offsets, profs, placement.order)


# The patch stage: its first layer, its last, and the patch height are searched.
# Candidates are ranked by the bytes live at once (cheap, and what placement nearly
# always reaches); the best few are placed for real.
PATCH_ROWS = (1, 2)
PLACED_CANDIDATES = 3


def live_at(program: Program, profs: dict[int, Profile]) -> np.ndarray:
    """Bytes live at each entry, summed over buffers (index 0: before the first call;
    the last index: after the last, when only the outputs are)."""
    live = np.zeros(len(program.entries) + 2, np.int64)
    for p in profs.values():
        live[p.first + 1 : p.last + 2] += np.maximum(p.hi - p.lo, 0)
    return live


def _live_peak(program: Program) -> int:
    return int(live_at(program, profiles(program, lives(program))).max(initial=0))


def _best_small(graph: Graph, kernels: KernelNeeds) -> MemoryPlan:
    """The small strategy: strips everywhere, and the patch stage (if any) that needs least."""
    plain = build_program(graph, "small", kernels)
    ranked = [(_live_peak(plain), len(plain.calls()), 0, plain)]
    first = next((p for p in range(len(graph.operators)) if stage_eligible(graph, [p])), None)
    if first is not None:
        for last in range(first + 1, len(graph.operators)):
            positions = list(range(first, last + 1))
            if not stage_eligible(graph, positions):
                continue
            for rows in PATCH_ROWS:
                stage = Stage(tuple(positions), rows)
                if not _patches_tall_enough(graph, stage, kernels):
                    continue
                program = build_program(graph, "small", kernels, stage)
                ranked.append((_live_peak(program), len(program.calls()), len(ranked), program))
    ranked.sort(key=lambda r: r[:3])
    plans = [_placed(r[3]) for r in ranked[:PLACED_CANDIDATES]]
    best = min(plans, key=lambda p: (p.arena_bytes, len(p.program.calls())))
    return _relaxed(graph, kernels, best)


def _patches_tall_enough(graph: Graph, stage: Stage, kernels: KernelNeeds) -> bool:
    """Every layer of the stage makes at least its kernel's fewest rows per call (the
    first and last patch aside)."""
    plan = schedule(graph, stage)
    for pos in stage.positions:
        need = kernels.min_strip_rows(pos)
        if need <= 1:
            continue
        t = graph.operators[pos].outputs[0]
        made = [b - a for a, b in zip([0] + plan.hi[t][:-1], plan.hi[t])]
        if min(made[1:-1] or made) < need:
            return False
    return True


def _relaxed(graph: Graph, kernels: KernelNeeds, plan: MemoryPlan) -> MemoryPlan:
    """Strips cost kernel calls (a depthwise convolution re-reads the rows strips
    share): a layer whose strips are not what sets the arena gets taller strips, as
    tall as the room under the arena allows, or runs whole. Kept only if the arena
    does not grow."""
    stage = plan.program.stage
    staged = set(stage.positions) if stage else set()
    live = plan.live_at()
    peak: dict[int, int] = {}
    rows: dict[int, int] = {}
    for k, e in enumerate(plan.program.entries):
        if isinstance(e, Call) and not e.whole and e.position not in staged:
            peak[e.position] = max(peak.get(e.position, 0), int(live[k + 1]))
            rows[e.position] = max(rows.get(e.position, 0), e.writes[0].count)
    if not rows:
        return plan
    taller = {}
    for pos, r in rows.items():
        op = graph.operators[pos]
        # One more output row per call moves the output's start about one output row
        # (and an input row) further from the input's: grow by what the room under the
        # arena holds, halved to be safe.
        step = row_bytes(graph.tensor(op.outputs[0])) + max(
            row_bytes(graph.tensor(t)) for t in data_inputs(op) if not graph.tensor(t).is_constant)
        taller[pos] = r + (plan.arena_bytes - peak[pos]) // (2 * step)
    candidate = _placed(build_program(graph, "small", kernels, stage, taller))
    if candidate.arena_bytes <= plan.arena_bytes:
        return candidate
    return plan


def prepare(graph: Graph) -> Rewritten:
    """The graph as the board runs it, whatever the strategy: rewrites that change no
    output bit (rewrite.py), in the order that keeps the fewest bytes alive (order.py).
    `bench` works out the layers of a profile from this, from the model alone."""
    rewritten = fold_pads(graph)
    ordered = memory_order(rewritten.graph)
    notes = list(rewritten.notes)
    if ordered.graph is not rewritten.graph:
        notes.append(f"layers reordered for memory ({'exact search' if ordered.exact else 'beam search'}): "
                     f"{ordered.model_peak:,} -> {ordered.peak:,} bytes live at the peak")
    return Rewritten(ordered.graph, notes)


def plan_graph(graph: Graph, strategy: str = "fast", kernels: KernelNeeds | None = None,
               notes: list[str] | None = None, stage: Stage | None = None) -> MemoryPlan:
    """Build, place and check the plan of `graph` (already prepared) for one strategy.
    stage: the small strategy with this patch stage instead of the best one found."""
    if strategy not in STRATEGIES:
        raise ValueError(f"memory strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if strategy == "small" and stage is not None:
        plan = _placed(build_program(graph, "small", kernels, stage))
    elif strategy == "small":
        plan = _best_small(graph, kernels or KernelNeeds())
    else:
        plan = _placed(build_program(graph, strategy, kernels))
    program = plan.program
    program.rewrites = list(notes or [])
    for b in program.buffers:
        b.offset = plan.offsets.get(b.id, -1)
    problems = plan.problems()
    if problems:
        raise PlanError(f"the {strategy} memory plan failed its check: {problems[0]}"
                        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                        "a bug in mcugen's planner; please report it with the model")
    return plan


__all__ = ["ALIGNMENT", "AUTO", "KernelNeeds", "MEMORY_CHOICES", "MemoryPlan", "choose_strategy", "PlanError", "STRATEGIES", "Stage", "align_up", "plan_graph", "prepare"]


def choose_strategy(memory: str, fast_arena: int, arena_budget: int | None) -> str:
    """`auto`: the fastest plan that fits the board's RAM, else the smallest."""
    if memory != AUTO:
        return memory
    if arena_budget is None or fast_arena <= arena_budget:
        return "fast"
    return "small"
