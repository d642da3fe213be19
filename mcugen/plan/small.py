"""The small strategy: row strips everywhere they pay, and the patch stage (where it
starts and ends, how tall a patch is) that needs the fewest bytes; then taller strips
wherever they cost no bytes."""

from __future__ import annotations

from ..ir import Graph
from ..ops import data_inputs
from .build import KernelNeeds, build_program
from .memory_plan import MemoryPlan, live_at, placed
from .place import lives, profiles
from .program import Call, Program, row_bytes
from .stages import Stage, schedule, stage_eligible

# The patch stage: its first layer, its last, and the patch height are searched.
# Candidates are ranked by the bytes live at once (cheap, and what placement nearly
# always reaches); the best few are placed for real.
PATCH_ROWS = (1, 2)
PLACED_CANDIDATES = 3


def _live_peak(program: Program) -> int:
    return int(live_at(program, profiles(program, lives(program))).max(initial=0))


def best_small(graph: Graph, kernels: KernelNeeds) -> MemoryPlan:
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
    plans = [placed(r[3]) for r in ranked[:PLACED_CANDIDATES]]
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
    candidate = placed(build_program(graph, "small", kernels, stage, taller))
    if candidate.arena_bytes <= plan.arena_bytes:
        return candidate
    return plan
