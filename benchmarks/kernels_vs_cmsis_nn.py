#!/usr/bin/env python3
"""mcugen's kernel variants against TensorFlow Lite Micro with CMSIS-NN (a benchmark, not a test).

For each model: the firmware is generated for an emulated board (default qemu-cm7)
once per kernel variant, built, booted in QEMU and run on the same ramp input the
peer figures used (x[i] = i & 0xFF as the input's type), checked bit for bit against
the tflite-micro interpreter. Printed per model: instructions per inference for each
variant beside TFLite Micro's reference and CMSIS-NN counts, their ratios, flash
(text + data of the ELF) against mcugen's flash before the arm-dsp variant; then the
instructions per MAC of every op type, per variant.

The peer figures are the stored measurements in ../shared/notes/peer-baseline.md:
instruction counts under QEMU -icount are exact and repeat to the instruction, so a
stored count is as good as one measured in this run.

    python benchmarks/kernels_vs_cmsis_nn.py [MODEL.tflite ...] [--board qemu-cm7]
        [--variants portable,arm-dsp] [--jobs N] [--json out.json] [--layers]

Default models: every model in the peer table, from ../shared/models.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcugen.bench import run_bench  # noqa: E402
from mcugen.bench_inputs import InputSet, Inputs  # noqa: E402
from mcugen.boards import get_board  # noqa: E402
from mcugen.build import build_project  # noqa: E402
from mcugen.emulator import Emulator  # noqa: E402
from mcugen.errors import McugenError  # noqa: E402
from mcugen.firmware import generate_firmware_project  # noqa: E402
from mcugen.ir import NUMPY_DTYPES  # noqa: E402
from mcugen.ops import op_macs  # noqa: E402
from mcugen.serial_link import open_link  # noqa: E402
from mcugen.target import ARM_DSP, PORTABLE  # noqa: E402

SHARED = REPO.parent / "shared"
PEER_NOTE = SHARED / "notes" / "peer-baseline.md"
MODELS_DIR = SHARED / "models"


@dataclass(frozen=True)
class PeerRow:
    """One model's row of the stored peer table."""

    model: str
    macs: int
    tflm_ref: int
    cmsis_nn: int
    mcugen_before: int  # mcugen's portable kernels when the table was measured
    flash_cmsis_nn: int
    flash_before: int  # mcugen's flash when the table was measured: the flash budget's base


def read_peer_table(path: Path) -> dict[str, PeerRow]:
    """The figures table of peer-baseline.md, by column name (not position)."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]

    def col(name: str) -> int:
        return header.index(name)

    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header):
            continue

        def num(name: str) -> int:
            return int(re.sub(r"[^0-9]", "", cells[col(name)]))

        rows[cells[0]] = PeerRow(cells[0], num("MACs"), num("TFLM ref instr"), num("TFLM + CMSIS-NN instr"),
                                 num("mcugen instr"), num("flash CMSIS-NN B"), num("flash mcugen B"))
    return rows


def ramp_input(graph) -> Inputs:
    """x[i] = i & 0xFF reinterpreted as each input's type: the peer measurement's input."""
    arrays = []
    for t in graph.input_tensors():
        raw = (np.arange(t.num_elements) & 0xFF).astype(np.uint8)
        arrays.append(raw.view(np.int8).astype(NUMPY_DTYPES[t.dtype]) if t.dtype == "int8"
                      else raw.astype(NUMPY_DTYPES[t.dtype]))
    return Inputs([InputSet([a.reshape(t.shape) for a, t in zip(arrays, graph.input_tensors())], None, "ramp")])


def elf_flash(elf: Path) -> int:
    """text + data (Berkeley format: text includes .rodata) of the whole ELF."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], check=True, capture_output=True, text=True).stdout
    text, data = out.splitlines()[1].split()[:2]
    return int(text) + int(data)


@dataclass
class Run:
    model: str
    variant: str
    instructions: int
    bit_exact: bool
    flash: int
    arena: int
    layers: list[tuple[str, int, int]] = field(default_factory=list)  # (op, MACs, instructions)


def measure(model: Path, board_id: str, variant: str, work: Path) -> Run:
    board = get_board(board_id)
    out = work / f"{model.stem}-{variant}"
    fw = generate_firmware_project(model, board, out, kernels=variant)
    build = build_project(out)
    graph = fw.model.graph
    ran = fw.model.plan.graph  # the layers in the order the board runs them (the profile's order)
    with Emulator(board, build.elf) as emu, open_link(emu.url, model_path=model) as client:
        report = run_bench(client, model, graph, ramp_input(graph))
    if report.inputs != 1:
        raise McugenError(f"{model.name} ({variant}): the board ran {report.inputs} of 1 inputs")
    layers = [(op.op, op_macs(ran, op), count) for op, (_, count) in zip(ran.operators, report.profile)]
    return Run(model.stem, variant, report.latency.counts[0], report.bit_exact == 1, elf_flash(build.elf),
               fw.model.module.arena_bytes, layers)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def print_results(runs: dict[tuple[str, str], Run], peers: dict[str, PeerRow], variants: list[str],
                  show_layers: bool) -> dict:
    models = sorted({m for m, _ in runs}, key=lambda m: list(peers).index(m) if m in peers else 999)
    head = f"{'model':26s} {'MACs':>11s} {'TFLM ref':>12s} {'CMSIS-NN':>12s}"
    for v in variants:
        head += f" {v:>12s} {'/CMSIS':>7s} {'/ref':>6s} {'exact':>5s}"
    print("instructions per inference (QEMU -icount), peers from peer-baseline.md")
    print(head)
    ratios: dict[str, list[float]] = {v: [] for v in variants}
    summary: dict = {"models": {}, "geomean": {}}
    for m in models:
        peer = peers.get(m)
        line = f"{m:26s} {peer.macs if peer else 0:>11,} {peer.tflm_ref if peer else 0:>12,} " \
               f"{peer.cmsis_nn if peer else 0:>12,}"
        entry = {}
        for v in variants:
            r = runs.get((m, v))
            if r is None:
                line += f" {'-':>12s} {'':>7s} {'':>6s} {'':>5s}"
                continue
            to_cmsis = r.instructions / peer.cmsis_nn if peer else float("nan")
            to_ref = r.instructions / peer.tflm_ref if peer else float("nan")
            if peer:
                ratios[v].append(to_cmsis)
            line += f" {r.instructions:>12,} {to_cmsis:>7.3f} {to_ref:>6.3f} {'yes' if r.bit_exact else 'NO':>5s}"
            entry[v] = {"instructions": r.instructions, "vs_cmsis_nn": to_cmsis, "vs_tflm_ref": to_ref,
                        "bit_exact": r.bit_exact, "flash": r.flash, "arena": r.arena,
                        "flash_vs_before": r.flash / peer.flash_before if peer else None}
        summary["models"][m] = entry
        print(line)
    line = f"{'geometric mean':26s} {'':>11s} {'':>12s} {'':>12s}"
    for v in variants:
        g = geomean(ratios[v])
        summary["geomean"][v] = g
        line += f" {'':>12s} {g:>7.3f} {'':>6s} {'':>5s}"
    print(line)

    print("\nflash, text + data of the ELF (bytes); 'before' is mcugen's in peer-baseline.md")
    head = f"{'model':26s} {'before':>9s} {'CMSIS-NN':>9s}"
    for v in variants:
        head += f" {v:>9s} {'/before':>8s}"
    print(head)
    for m in models:
        peer = peers.get(m)
        line = f"{m:26s} {peer.flash_before if peer else 0:>9,} {peer.flash_cmsis_nn if peer else 0:>9,}"
        for v in variants:
            r = runs.get((m, v))
            line += f" {r.flash:>9,} {r.flash / peer.flash_before:>8.3f}" if r and peer else f" {'-':>9s} {'':>8s}"
        print(line)

    print("\ninstructions per MAC by op type (all models), per variant")
    per_op: dict[str, dict[str, list[int]]] = {}
    for (m, v), r in runs.items():
        for op, macs, count in r.layers:
            slot = per_op.setdefault(op, {}).setdefault(v, [0, 0])
            slot[0] += macs
            slot[1] += count
    print(f"{'op':22s}" + "".join(f" {v + ' instr/MAC':>22s}" for v in variants))
    summary["per_op"] = {}
    for op in sorted(per_op, key=lambda o: -max(c for _, c in per_op[o].values())):
        line = f"{op:22s}"
        for v in variants:
            macs, count = per_op[op].get(v, [0, 0])
            line += f" {count / macs:>22.2f}" if macs else f" {count:>15,} instr"
        summary["per_op"][op] = {v: per_op[op].get(v) for v in variants}
        print(line)

    if show_layers:
        for m in models:
            print(f"\n{m}: per layer (instructions, instructions per MAC)")
            layer_runs = [runs[(m, v)] for v in variants if (m, v) in runs]
            for i, (op, macs, _) in enumerate(layer_runs[0].layers):
                cells = "".join(f" {r.layers[i][2]:>11,} {r.layers[i][2] / macs if macs else 0:>6.2f}"
                                for r in layer_runs)
                print(f"  {i:3d} {op:20s} {macs:>10,}{cells}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--board", default="qemu-cm7")
    parser.add_argument("--variants", default=f"{PORTABLE},{ARM_DSP}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--layers", action="store_true", help="print every layer")
    args = parser.parse_args()
    if not PEER_NOTE.exists():
        print(f"benchmark: {PEER_NOTE} is missing; it holds the stored TFLite Micro figures "
              f"(run from a checkout beside ../shared)", file=sys.stderr)
        return 2
    peers = read_peer_table(PEER_NOTE)
    models = args.models or [MODELS_DIR / f"{m}.tflite" for m in peers]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    runs: dict[tuple[str, str], Run] = {}
    with tempfile.TemporaryDirectory(prefix="mcugen-bench-kernels-") as tmp:
        jobs = [(m, v) for m in models for v in variants]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(measure, m, args.board, v, Path(tmp)): (m, v) for m, v in jobs}
            for future, (m, v) in futures.items():
                try:
                    runs[(m.stem, v)] = future.result()
                except McugenError as exc:
                    print(f"benchmark: {m.name} ({v}): {exc.one_line()}", file=sys.stderr)
                    return 1
    summary = print_results(runs, peers, variants, args.layers)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if all(r.bit_exact for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
