"""Build a generated firmware project with PlatformIO and account for its memory.

    report = build_project("build/fw")
    report.elf, report.regions  # per board region: used, size, percent

`pio run` for an ststm32 project runs offline in this install's own PlatformIO
home (platformio_offline.py), holding that home's lock shared for the whole run
so a re-prepare cannot change it underneath; other platforms (espressif32) run
in the user's own PlatformIO home, which fetches them from PlatformIO's registry
(network). The output is captured; the whole log is kept in
.pio/mcugen-build.log and a failure is one line naming the first compiler or
linker error.

The ELF is then read against the board's memory regions (from mcugen.json,
which holds the regions the linker script was made from):

- a region's use is the sum of the allocated sections that occupy it, at their
  run address (VMA) and, for initialised data, also at their load address (LMA)
  in code memory, where the image that is copied at reset lives;
- the model's weights must be in the board's flash region, the arena in its
  RAM (arena) region: otherwise the build is refused, however it linked.
"""

from __future__ import annotations

import re
import subprocess
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .children import run_group
from .errors import FitError, McugenError
from .firmware import built_elf_path, read_metadata
from .platformio_offline import (PLATFORM_NAME, PlatformioHome, offline_capable, pio_command, project_platform,
                                 prepare, session, shared_lock, system_toolchain_present,
                                 user_environment)

ARENA_SYMBOL = "mcugen_arena"
BUILD_LOG = "mcugen-build.log"
_BUILD_TIMEOUT = 900
_SHF_ALLOC = 0x2


class BuildError(McugenError):
    """The firmware did not compile or link, or its image breaks the board's memory layout."""


@dataclass(frozen=True)
class RegionUse:
    name: str
    kind: str  # "flash" or "ram"
    origin: int
    size: int
    used: int
    sections: tuple[str, ...] = ()

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.size if self.size else 0.0

    @property
    def free(self) -> int:
        return self.size - self.used

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "origin": self.origin, "size": self.size,
                "used": self.used, "percent": round(self.percent, 2), "sections": list(self.sections)}


@dataclass(frozen=True)
class Placement:
    """Where one thing the model needs ended up in the image."""

    what: str
    symbol: str
    section: str
    address: int
    size: int
    region: str | None


@dataclass
class BuildReport:
    project_dir: Path
    board: str
    elf: Path
    bin: Path | None
    regions: list[RegionUse]
    weights: list[Placement]
    arena: Placement | None
    seconds: float
    log: Path
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (address, size)

    def region(self, name: str) -> RegionUse:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "project_dir": str(self.project_dir),
            "board": self.board,
            "elf": str(self.elf),
            "bin": str(self.bin) if self.bin else None,
            "seconds": round(self.seconds, 2),
            "regions": [r.to_json() for r in self.regions],
            "weights": {"symbols": len(self.weights), "bytes": sum(w.size for w in self.weights),
                        "regions": sorted({w.region or "?" for w in self.weights})},
            "arena": None if self.arena is None else {"bytes": self.arena.size, "address": self.arena.address,
                                                      "region": self.arena.region},
        }


# ------------------------------------------------------------------------------------------------
# Running PlatformIO

_ERROR_PATTERNS = [
    re.compile(r"region [`'](?P<region>\w+)' overflowed by (?P<bytes>\d+) bytes"),
    re.compile(r"^(?P<where>[^\s:]+:\d+(?::\d+)?): (?:fatal )?error: (?P<what>.*)$"),
    re.compile(r"(?P<what>undefined reference to .*)$"),
    re.compile(r"^(?:.*ld(?:\.exe)?: )(?P<what>.*(?:error|cannot|not found|multiple definition).*)$"),
    re.compile(r"^Error: (?P<what>.*)$"),
]


def first_error(log: str) -> str | None:
    """The first compiler or linker error in a build log, as one line."""
    lines = log.splitlines()
    for pattern in _ERROR_PATTERNS:
        for line in lines:
            m = pattern.search(line.strip())
            if m:
                groups = m.groupdict()
                if "region" in groups:
                    return f"memory region {groups['region']} overflowed by {int(groups['bytes']):,} bytes"
                if groups.get("where"):
                    return f"{groups['where']}: {groups['what']}"
                return groups["what"].strip()
    return None


# What PlatformIO prints when it needs its registry and cannot reach it.
_REGISTRY_NEEDED = re.compile(r"HTTPClientError|InternetConnectionError|not connected to the Internet|"
                              r"Could not resolve|Name or service not known|Temporary failure in name resolution|"
                              r"Max retries exceeded|ConnectionError|registry\.platformio\.org|api\.registry",
                              re.IGNORECASE)


def run_pio(project_dir: Path, env_name: str, home: PlatformioHome | None, *, verbose: bool = False,
            jobs: int | None = None, extra: tuple[str, ...] = (), platform: str | None = None) -> str:
    """`pio run` for one environment; returns the log. Raises BuildError with the first error.

    home: mcugen's private PlatformIO home (offline ststm32 builds), held shared for the whole
    run; None: the user's own PlatformIO home and environment (no PLATFORMIO_CORE_DIR of
    mcugen's), for platforms mcugen cannot build offline. `platform` names the project's
    platform in messages."""
    args = ["run", "-d", str(project_dir), "-e", env_name, *extra]
    if verbose:
        args.append("-v")
    if jobs:
        args += ["-j", str(jobs)]
    log_path = project_dir / ".pio" / BUILD_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = home.environment() if home is not None else user_environment()
    try:
        with shared_lock(home.core_dir) if home is not None else nullcontext():
            # Its own process group: Ctrl-C stops SCons and the compilers too, not only pio.
            proc = run_group(pio_command(*args), capture_output=True, text=True, errors="replace",
                             env=env, timeout=_BUILD_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BuildError(f"'pio run' did not finish in {_BUILD_TIMEOUT} s", f"project {project_dir}") from None
    except OSError as exc:
        raise BuildError(f"cannot run PlatformIO: {exc}") from None
    log = proc.stdout + ("\n" + proc.stderr if proc.stderr else "")
    log_path.write_text(log)
    if proc.returncode != 0:
        error = first_error(log)
        hint = f"full log: {log_path}"
        if error and error.startswith("memory region"):
            raise FitError(f"the firmware does not fit: {error}", hint)
        if home is None and _REGISTRY_NEEDED.search(log):
            name = platform or project_platform(project_dir, env_name) or "?"
            raise BuildError(f"platform '{name}' must be fetched from the PlatformIO registry (needs network)",
                             f"connect once and run 'pio run' in {project_dir}; mcugen builds only "
                             f"'{PLATFORM_NAME}' offline; {hint}")
        if home is not None and not system_toolchain_present():
            hint = ("no arm-none-eabi-gcc on PATH, so PlatformIO had to fetch its toolchain from its registry; "
                    "offline, apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi; " + hint)
        raise BuildError(f"build failed: {error or 'pio run exited with code %d' % proc.returncode}", hint)
    return log


def run_project(project_dir: Path, env_name: str, *, pio_home: str | Path | None = None, verbose: bool = False,
                jobs: int | None = None, extra: tuple[str, ...] = ()) -> str:
    """`pio run` in the right home for the project's platform: ststm32 offline in mcugen's
    (prepared, held shared meanwhile), anything else in the user's own."""
    platform = project_platform(project_dir, env_name)
    if offline_capable(platform):
        with session(pio_home) as home:
            return run_pio(project_dir, env_name, home, verbose=verbose, jobs=jobs, extra=extra,
                           platform=platform)
    return run_pio(project_dir, env_name, None, verbose=verbose, jobs=jobs, extra=extra, platform=platform)


# ------------------------------------------------------------------------------------------------
# Reading the image


def _region_of(address: int, regions: list[dict]) -> dict | None:
    for r in regions:
        if r["origin"] <= address < r["origin"] + r["size"]:
            return r
    return None


def analyse_elf(elf_path: Path, regions: list[dict], weight_symbols: list[str] | None = None
                ) -> tuple[list[RegionUse], dict[str, tuple[int, int]], list[Placement], Placement | None]:
    """Per-region use, the allocated sections, and where the weights and the arena are."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    used = {r["name"]: 0 for r in regions}
    owners: dict[str, list[str]] = {r["name"]: [] for r in regions}
    sections: dict[str, tuple[int, int]] = {}
    try:
        with open(elf_path, "rb") as f:
            elf = ELFFile(f)
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            section_list = []
            for sec in elf.iter_sections():
                if not sec["sh_flags"] & _SHF_ALLOC or sec["sh_size"] == 0:
                    continue
                addr, size = sec["sh_addr"], sec["sh_size"]
                sections[sec.name] = (addr, size)
                section_list.append((sec.name, addr, size))
                places = [addr]
                if sec["sh_type"] != "SHT_NOBITS":  # initialised: also stored at its load address
                    for seg in loads:
                        if seg["p_vaddr"] <= addr < seg["p_vaddr"] + max(seg["p_memsz"], 1):
                            lma = seg["p_paddr"] + (addr - seg["p_vaddr"])
                            if lma != addr:
                                places.append(lma)
                            break
                for place in places:
                    region = _region_of(place, regions)
                    if region is None:
                        raise BuildError(f"section {sec.name} at 0x{place:08x} lies outside the board's memory",
                                         "the linker script and the board file disagree; regenerate the project")
                    used[region["name"]] += size
                    owners[region["name"]].append(sec.name)

            symtab = elf.get_section_by_name(".symtab")
            by_name = {}
            if symtab is not None:
                for sym in symtab.iter_symbols():
                    if sym["st_info"]["type"] == "STT_OBJECT" and sym.name:
                        by_name.setdefault(sym.name, sym)
    except (OSError, ELFError) as exc:
        raise BuildError(f"cannot read the firmware image {elf_path}: {exc}") from None

    def placement(what: str, name: str) -> Placement | None:
        sym = by_name.get(name)
        if sym is None:
            return None
        addr = sym["st_value"]
        section = next((n for n, a, s in section_list if a <= addr < a + s), "?")
        region = _region_of(addr, regions)
        return Placement(what, name, section, addr, sym["st_size"], region["name"] if region else None)

    weights = [p for p in (placement("weights", n) for n in (weight_symbols or [])) if p is not None]
    arena = placement("arena", ARENA_SYMBOL)
    uses = [RegionUse(r["name"], r["kind"], r["origin"], r["size"], used[r["name"]], tuple(owners[r["name"]]))
            for r in regions]
    return uses, sections, weights, arena


def check_placement(meta: dict, weights: list[Placement], arena: Placement | None) -> None:
    """Weights in the board's flash region (read-only data), the arena in its RAM region (.bss)."""
    flash, ram = meta["flash_region"], meta["arena_region"]
    for w in weights:
        if w.region != flash or not w.section.startswith(".rodata"):
            raise BuildError(f"model constant {w.symbol} is in {w.section} ({w.region or 'no region'}), "
                             f"not in read-only data in {flash}", "the weights must be const and stay in flash")
    if arena is None:
        raise BuildError(f"the model's arena ({ARENA_SYMBOL}) is missing from the image",
                         "regenerate the project with this mcugen")
    if arena.region != ram or not arena.section.startswith(".bss"):
        raise BuildError(f"the model's arena is in {arena.section} ({arena.region or 'no region'}), "
                         f"not in .bss in {ram}", "the linker script and the board file disagree")
    if arena.size < meta.get("arena_bytes", 0):
        raise BuildError(f"the arena in the image has {arena.size} bytes, the plan needs {meta['arena_bytes']}")


def build_project(project_dir: str | Path, *, pio_home: str | Path | None = None, verbose: bool = False,
                  jobs: int | None = None) -> BuildReport:
    """Build a project made by generate_firmware_project and account for its memory."""
    project_dir = Path(project_dir).resolve()
    meta = read_metadata(project_dir)
    if offline_capable(project_platform(project_dir, meta["env"])):
        prepare(pio_home)  # the first time: seconds below are the build's own
    started = time.monotonic()
    run_project(project_dir, meta["env"], pio_home=pio_home, verbose=verbose, jobs=jobs)
    seconds = time.monotonic() - started
    elf = built_elf_path(project_dir, meta["env"])
    if not elf.is_file():
        raise BuildError(f"'pio run' succeeded but left no {elf}", "run 'pio run -v' in the project to see why")
    regions, sections, weights, arena = analyse_elf(elf, meta["regions"], meta.get("weight_symbols"))
    check_placement(meta, weights, arena)
    for r in regions:
        if r.used > r.size:  # the linker refuses this first; kept as a guard for hand-edited scripts
            raise FitError(f"region {r.name} needs {r.used:,} bytes of {r.size:,}")
    binary = elf.with_name("firmware.bin")
    return BuildReport(project_dir, meta["board"], elf, binary if binary.is_file() else None, regions, weights,
                       arena, seconds, project_dir / ".pio" / BUILD_LOG, sections)


def upload_project(project_dir: str | Path, *, port: str | None = None, pio_home: str | Path | None = None) -> str:
    """`pio run -t upload` with the board's upload method; returns PlatformIO's log."""
    project_dir = Path(project_dir).resolve()
    meta = read_metadata(project_dir)
    extra = ("-t", "upload") + (("--upload-port", port) if port else ())
    return run_project(project_dir, meta["env"], pio_home=pio_home, extra=extra)
