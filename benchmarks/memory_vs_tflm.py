#!/usr/bin/env python3
"""mcugen's arena per memory strategy against TensorFlow Lite Micro's (a benchmark, not a test).

For each model and strategy (fast, small), the firmware is generated for an emulated
board (default qemu-cm7, arm-dsp kernels), built, booted in QEMU and run on the ramp
input of the peer measurements, checked bit for bit against the tflite-micro
interpreter. Printed per model: mcugen's arena for each strategy beside TFLite
Micro's arena_used (the RAM a user must give it: the stored figure in
../shared/notes/peer-baseline.md) and its activation plan (the non-persistent part,
measured in this run with the tflite-micro Python interpreter), the ratios, and the
instructions per inference of each strategy (QEMU -icount: exact) with the small
strategy's cost over the fast one. Then the geometric means.

    python benchmarks/memory_vs_tflm.py [MODEL.tflite ...] [--board qemu-cm7]
        [--kernels arm-dsp] [--jobs N] [--json out.json] [--no-run]

--no-run prints the arenas only (no build, no emulator): a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from kernels_vs_cmsis_nn import elf_flash, geomean, ramp_input  # noqa: E402

from mcugen.bench import run_bench  # noqa: E402
from mcugen.boards import get_board  # noqa: E402
from mcugen.build import build_project  # noqa: E402
from mcugen.codegen.lowering import plans_for  # noqa: E402
from mcugen.emulator import Emulator  # noqa: E402
from mcugen.errors import McugenError  # noqa: E402
from mcugen.firmware import generate_firmware_project  # noqa: E402
from mcugen.loader import load_model  # noqa: E402
from mcugen.plan import STRATEGIES  # noqa: E402
from mcugen.reference import tflm_arena  # noqa: E402
from mcugen.serial_link import open_link  # noqa: E402

SHARED = REPO.parent / "shared"
PEER_NOTE = SHARED / "notes" / "peer-baseline.md"
MODELS_DIR = SHARED / "models"


def read_arena_used(path: Path) -> dict[str, tuple[int, int]]:
    """Model -> (TFLM reference arena_used, TFLM + CMSIS-NN arena_used), by column name."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    ref, cmsis = header.index("TFLM ref arena_used B"), header.index("CMSIS-NN arena_used B")
    found = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(header):
            found[cells[0]] = (int(re.sub(r"[^0-9]", "", cells[ref])), int(re.sub(r"[^0-9]", "", cells[cmsis])))
    return found


@dataclass
class Run:
    model: str
    strategy: str
    arena: int
    instructions: int | None = None
    bit_exact: bool | None = None
    flash: int | None = None
    calls: int = 0
    peak_layer: str = ""
    notes: tuple[str, ...] = ()


def plan_only(model: Path, strategy: str, kernels: str) -> Run:
    plan, _ = plans_for(load_model(model), kernels, strategy)
    pos = plan.peak_position
    peak = f"{plan.graph.operators[pos].index} {plan.graph.operators[pos].op}" if pos is not None else "-"
    return Run(model.stem, strategy, plan.arena_bytes, calls=len(plan.program.calls()), peak_layer=peak,
               notes=tuple(plan.program.notes))


def measure(model: Path, board_id: str, strategy: str, kernels: str, work: Path) -> Run:
    run = plan_only(model, strategy, kernels)
    out = work / f"{model.stem}-{strategy}"
    fw = generate_firmware_project(model, get_board(board_id), out, kernels=kernels, memory=strategy)
    if fw.model.plan.arena_bytes != run.arena:
        raise McugenError(f"{model.name}: the firmware's arena {fw.model.plan.arena_bytes} is not the plan's {run.arena}")
    build = build_project(out)
    graph = fw.model.graph
    with Emulator(get_board(board_id), build.elf) as emu, open_link(emu.url, model_path=model) as client:
        report = run_bench(client, model, graph, ramp_input(graph))
    if report.inputs != 1:
        raise McugenError(f"{model.name} ({strategy}): the board ran {report.inputs} of 1 inputs")
    run.instructions = report.latency.counts[0]
    run.bit_exact = report.bit_exact == 1
    run.flash = elf_flash(build.elf)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--board", default="qemu-cm7")
    parser.add_argument("--kernels", default="arm-dsp")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-run", action="store_true", help="arenas only: no build, no emulator")
    args = parser.parse_args()
    if not PEER_NOTE.exists():
        print(f"benchmark: {PEER_NOTE} is missing; it holds the stored TFLite Micro figures "
              f"(run from a checkout beside ../shared)", file=sys.stderr)
        return 2
    peers = read_arena_used(PEER_NOTE)
    models = args.models or [MODELS_DIR / f"{m}.tflite" for m in peers]
    runs: dict[tuple[str, str], Run] = {}
    heads = {m.stem: tflm_arena(m).head for m in models}
    with tempfile.TemporaryDirectory(prefix="mcugen-bench-memory-") as tmp:
        jobs = [(m, s) for m in models for s in STRATEGIES]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            if args.no_run:
                futures = {pool.submit(plan_only, m, s, args.kernels): (m, s) for m, s in jobs}
            else:
                futures = {pool.submit(measure, m, args.board, s, args.kernels, Path(tmp)): (m, s) for m, s in jobs}
            for future, (m, s) in futures.items():
                try:
                    runs[(m.stem, s)] = future.result()
                except McugenError as exc:
                    print(f"benchmark: {m.name} ({s}): {exc.one_line()}", file=sys.stderr)
                    return 1

    print(f"arena bytes ({args.kernels} kernels): mcugen per strategy against TFLite Micro's arena_used "
          f"(stored, peer-baseline.md) and activation plan (measured now)")
    head = f"{'model':26s} {'TFLM used':>10s} {'TFLM plan':>10s}"
    for s in STRATEGIES:
        head += f" {s:>9s} {'/used':>6s} {'/plan':>6s}"
    print(head)
    summary: dict = {"kernels": args.kernels, "board": args.board, "models": {}, "geomean": {}}
    ratios: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    for m in models:
        used = peers.get(m.stem, (0, 0))[0]
        line = f"{m.stem:26s} {used:>10,} {heads[m.stem]:>10,}"
        entry: dict = {"tflm_arena_used": used, "tflm_activation_plan": heads[m.stem]}
        for s in STRATEGIES:
            r = runs[(m.stem, s)]
            to_used = r.arena / used if used else float("nan")
            if used:
                ratios[s].append(to_used)
            line += f" {r.arena:>9,} {to_used:>6.3f} {r.arena / heads[m.stem]:>6.3f}"
            entry[s] = {"arena": r.arena, "vs_tflm_arena_used": to_used, "vs_tflm_plan": r.arena / heads[m.stem],
                        "instructions": r.instructions, "bit_exact": r.bit_exact, "flash": r.flash,
                        "calls": r.calls, "peak_layer": r.peak_layer, "notes": list(r.notes)}
        summary["models"][m.stem] = entry
        print(line)
    line = f"{'geometric mean':26s} {'':>10s} {'':>10s}"
    for s in STRATEGIES:
        g = geomean(ratios[s])
        summary["geomean"][s] = {"vs_tflm_arena_used": g}
        line += f" {'':>9s} {g:>6.3f} {'':>6s}"
    print(line)
    print("\nwhere each plan peaks, and how many kernel calls it makes")
    for m in models:
        print(f"{m.stem:26s}" + "".join(f"  {s}: {runs[(m.stem, s)].peak_layer:18s} {runs[(m.stem, s)].calls:>4} calls"
                                        for s in STRATEGIES))
    if not args.no_run:
        print(f"\ninstructions per inference on {args.board} (QEMU -icount), bit-exact against tflite-micro")
        print(f"{'model':26s}" + "".join(f" {s:>12s} {'exact':>5s}" for s in STRATEGIES) + f" {'small/fast':>10s}")
        costs = []
        for m in models:
            fast, small = runs[(m.stem, "fast")], runs[(m.stem, "small")]
            cost = small.instructions / fast.instructions
            costs.append(cost)
            summary["models"][m.stem]["small_vs_fast_instructions"] = cost
            print(f"{m.stem:26s}" + "".join(f" {runs[(m.stem, s)].instructions:>12,} "
                                            f"{'yes' if runs[(m.stem, s)].bit_exact else 'NO':>5s}"
                                            for s in STRATEGIES) + f" {cost:>10.3f}")
        summary["geomean"]["small_vs_fast_instructions"] = geomean(costs)
        print(f"{'geometric mean':26s}" + " " * (19 * len(STRATEGIES)) + f" {geomean(costs):>10.3f}")
        print(f"{'worst':26s}" + " " * (19 * len(STRATEGIES)) + f" {max(costs):>10.3f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(r.bit_exact is not False for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
