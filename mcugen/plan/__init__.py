"""Memory planning: the program a model runs and where its data lives in one arena.

model -> IR -> (rewrite, order) -> program (build.py) -> placement (place.py) -> plan,
checked (check.py) before any C is written. The arena size is known when the model
is compiled: no trial and error.

Strategies: "fast" runs every layer whole (no cost in speed: aliases and elementwise
layers in place); "small" also runs windowed layers in row strips whose output goes
over input rows already used, and the first layers patch by patch (small.py).
`choose_strategy` takes the fast plan when it fits the
board and the small one when only that fits.
"""

from __future__ import annotations

from ..ir import Graph
from .build import KernelNeeds, build_program
from .memory_plan import MemoryPlan, PlanError, placed
from .order import memory_order
from .place import ALIGNMENT, align_up
from .rewrite import Rewritten, fold_pads
from .small import best_small
from .stages import Stage

STRATEGIES = ("fast", "small")
AUTO = "auto"
MEMORY_CHOICES = (AUTO,) + STRATEGIES


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
        plan = placed(build_program(graph, "small", kernels, stage))
    elif strategy == "small":
        plan = best_small(graph, kernels or KernelNeeds())
    else:
        plan = placed(build_program(graph, strategy, kernels))
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
