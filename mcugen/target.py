"""What the code generator may assume about the core it compiles for.

A board names its core (boards/<id>.toml: `core`, `fpu`, optionally `dsp`); the
core's instruction-set facts are here, one row per core, so a board file stays
data. The code generator picks each layer's kernel variant from the target:
`arm-dsp` (SIMD32 multiply-accumulate: SMLAD, SXTB16, ...) where the core has the
DSP extension, else `portable` (C99, the reference every other variant must match
bit for bit).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import McugenError

PORTABLE = "portable"
ARM_DSP = "arm-dsp"
VARIANTS = (PORTABLE, ARM_DSP)
AUTO = "auto"
KERNEL_CHOICES = (AUTO, *VARIANTS)


@dataclass(frozen=True)
class CoreFacts:
    """One core's facts, from its Technical Reference Manual."""

    arch: str
    dsp: bool | None  # None: an option the chip's maker chooses (the board file says)
    mve: bool = False


CORES: dict[str, CoreFacts] = {
    "cortex-m0": CoreFacts("armv6-m", False),
    "cortex-m0plus": CoreFacts("armv6-m", False),
    "cortex-m3": CoreFacts("armv7-m", False),
    "cortex-m4": CoreFacts("armv7e-m", True),
    "cortex-m7": CoreFacts("armv7e-m", True),
    "cortex-m33": CoreFacts("armv8-m.main", None),
    "cortex-m55": CoreFacts("armv8.1-m.main", True, mve=True),
    "xtensa-lx6": CoreFacts("xtensa", False),
    "xtensa-lx7": CoreFacts("xtensa", False),
    "riscv32": CoreFacts("riscv32", False),
}


class KernelChoiceError(McugenError):
    exit_code = 2


@dataclass(frozen=True)
class Target:
    """The core a model is compiled for. `host` is the machine running mcugen
    (validate, tests): it has no Arm DSP instructions, but the arm-dsp kernels run
    there through mcugen_simd.h's portable implementation of them."""

    name: str
    core: str
    dsp: bool = False
    mve: bool = False
    fpu: str = "none"

    @property
    def best_variant(self) -> str:
        return ARM_DSP if self.dsp else PORTABLE

    @property
    def emulates_dsp(self) -> bool:
        """Can run the arm-dsp kernels though it lacks the instructions (the host)."""
        return self.core == "host"

    def variant(self, kernels: str) -> str:
        """The variant `--kernels` asks for on this target, or a one-line refusal."""
        if kernels == AUTO:
            return self.best_variant
        if kernels not in VARIANTS:
            raise KernelChoiceError(f"unknown kernel variant '{kernels}'", f"choose one of: {', '.join(KERNEL_CHOICES)}")
        if kernels == ARM_DSP and not (self.dsp or self.emulates_dsp):
            raise KernelChoiceError(f"{self.name} ({self.core}) has no Arm DSP extension, so it cannot run the "
                                    f"arm-dsp kernels", "--kernels portable or auto compiles the portable C kernels")
        return kernels


HOST = Target("host", "host")


def target_for(board_id: str, core: str, fpu: str, dsp: bool | None = None) -> Target:
    """A board's target: the core's facts, with the board's say where the core leaves it open."""
    facts = CORES[core]
    has_dsp = facts.dsp if dsp is None else dsp
    return Target(board_id, core, bool(has_dsp), facts.mve, fpu)
