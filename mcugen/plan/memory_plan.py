"""A placed memory plan: the program, every buffer's offset, and what is live when."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InternalError
from ..ir import Graph
from .place import Profile, place
from .program import Call, Program, Rows


class PlanError(InternalError):
    """A plan that failed its own check: a bug in mcugen, never the model's fault."""



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


def live_at(program: Program, profs: dict[int, Profile]) -> np.ndarray:
    """Bytes live at each entry, summed over buffers (index 0: before the first call;
    the last index: after the last, when only the outputs are)."""
    live = np.zeros(len(program.entries) + 2, np.int64)
    for p in profs.values():
        live[p.first + 1 : p.last + 2] += np.maximum(p.hi - p.lo, 0)
    return live


def placed(program: Program) -> MemoryPlan:
    placement, profs = place(program)
    return MemoryPlan(program, placement.arena_bytes, placement.offsets, profs, placement.order)
