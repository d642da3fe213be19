"""Does a model fit a board? Flash for weights and code, RAM for the arena."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .boards import Board

# Kernels, agent, startup code and C library before a build measures them.
# Measured on qemu-cm7 at -O2: 12.8 KB (shapes example), 14.2 KB (person_detect);
# kept well above that so a "fits" verdict here holds after the build.
RUNTIME_FLASH_ESTIMATE = 24 * 1024


@dataclass(frozen=True)
class FitVerdict:
    board: str
    flash_needed: int
    flash_available: int
    ram_needed: int
    ram_available: int
    flash_region: str
    arena_region: str

    @property
    def flash_margin(self) -> int:
        return self.flash_available - self.flash_needed

    @property
    def ram_margin(self) -> int:
        return self.ram_available - self.ram_needed

    @property
    def fits(self) -> bool:
        return self.flash_margin >= 0 and self.ram_margin >= 0

    def shortfall(self) -> str:
        parts = []
        if self.ram_margin < 0:
            parts.append(f"RAM: the arena needs {self.ram_needed:,} B but {self.arena_region} has "
                         f"{self.ram_available:,} B free, {-self.ram_margin:,} B short")
        if self.flash_margin < 0:
            parts.append(f"flash: constants and code need {self.flash_needed:,} B but {self.flash_region} has "
                         f"{self.flash_available:,} B free, {-self.flash_margin:,} B short")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "fits": self.fits,
            "flash_needed": self.flash_needed,
            "flash_available": self.flash_available,
            "flash_margin": self.flash_margin,
            "ram_needed": self.ram_needed,
            "ram_available": self.ram_available,
            "ram_margin": self.ram_margin,
            "flash_region": self.flash_region,
            "arena_region": self.arena_region,
            "runtime_flash_estimate": RUNTIME_FLASH_ESTIMATE,
        }


def arena_budget(board: Board) -> int:
    """The bytes the board's arena region has for the arena (its size less what the
    firmware reserves there)."""
    return board.region(board.arena_region).size - board.reserved_ram_bytes


def check_fit(constants_bytes: int, arena_bytes: int, board: Board) -> FitVerdict:
    """constants_bytes: what the model keeps in flash (weights and per-layer tables)."""
    flash = board.region(board.flash_region)
    ram = board.region(board.arena_region)
    return FitVerdict(
        board=board.id,
        flash_needed=constants_bytes + RUNTIME_FLASH_ESTIMATE,
        flash_available=flash.size - board.reserved_flash_bytes,
        ram_needed=arena_bytes,
        ram_available=ram.size - board.reserved_ram_bytes,
        flash_region=flash.name,
        arena_region=ram.name,
    )
