"""`mcugen bench` through a serial line that damages bytes on purpose, on the emulated
board (QEMU) and natively (the host agent), with the real CLI, pyserial and tflite-micro.

    python benchmarks/link_faults.py                  # qemu-cm7: clean, 1e-3 of every kind each way, 1e-2 mixed
    python benchmarks/link_faults.py --native         # the same against the host agent
    python benchmarks/link_faults.py --long           # also each kind alone, each way, and more inputs

Each case runs `mcugen bench --port` through tests/fault_proxy.py (drop, corrupt,
duplicate and insert at the given rates) on the example model's 32 labelled images
(--data), and prints per case: inputs bit-exact, whether the run completed, the
link's statistics from the report and the faults the proxy injected. Exits 1 if any
case lost an input or counted a result that is not bit-exact.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fault_proxy import FaultProxy  # noqa: E402

MODEL = REPO / "examples" / "shapes" / "shapes_int8.tflite"
IMAGES = REPO / "examples" / "shapes" / "images"
KINDS = ("drop", "corrupt", "duplicate", "insert")


def cases(long: bool) -> dict[str, dict]:
    out: dict[str, dict] = {"clean": {}}
    if long:
        for direction in ("up", "down"):
            for kind in KINDS:
                out[f"{kind} 1e-3 {direction}"] = {kind: 1e-3, "directions": (direction,)}
    out["every kind 1e-3 each, both ways"] = {k: 1e-3 for k in KINDS}
    out["mixed 1e-2, both ways"] = {k: 0.25e-2 for k in KINDS}
    return out


def cli(*args: object, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcugen", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def qemu_board(stack: ExitStack, workdir: Path, board_id: str) -> int:
    """Generates and builds the example's bench firmware and boots it; returns QEMU's TCP port."""
    from mcugen.boards import get_board
    from mcugen.emulator import Emulator

    project = workdir / "fw"
    for args in (("generate", MODEL, "--board", board_id, "-o", project), ("build", project)):
        proc = cli(*args)
        if proc.returncode != 0:
            sys.exit(f"mcugen {args[0]} failed: {proc.stderr.strip()}")
    elf = next(project.glob(".pio/build/*/firmware.elf"))
    emu = stack.enter_context(Emulator(get_board(board_id), elf))
    assert emu.port is not None
    return emu.port


def native_board(stack: ExitStack, workdir: Path) -> int:
    from mcugen.host_agent import HostAgentProcess, build_host_agent

    exe = build_host_agent(MODEL, workdir / "host_agent", sanitize=True)
    return stack.enter_context(HostAgentProcess(exe).start()).port


def run_case(upstream: int, name: str, options: dict, seed: int, inputs: list[str], workdir: Path) -> dict:
    report_dir = workdir / name.replace(" ", "_").replace(",", "")
    start = time.monotonic()
    with FaultProxy(upstream, seed=seed, lifetime=3600, **options) as proxy:
        proc = cli("bench", "--model", MODEL, "--port", proxy.url, *inputs, "--json", "--report", report_dir)
    seconds = time.monotonic() - start
    if not proc.stdout.strip():
        return {"case": name, "error": proc.stderr.strip(), "seconds": seconds, "exit": proc.returncode}
    report = json.loads(proc.stdout)
    return {"case": name, "exit": proc.returncode, "seconds": seconds, "report": report,
            "faults": dict(proxy.stats.by_direction), "error": proc.stderr.strip()}


def row(result: dict) -> str:
    if "report" not in result:
        return f"| {result['case']} | FAILED exit {result['exit']}: {result['error']} |"
    r, link = result["report"], result["report"]["link"]
    return (f"| {result['case']} | {r['bit_exact']}/{r['inputs']} of {r['planned_inputs']} | "
            f"{'yes' if r['complete'] else 'NO'} | {link['requests']:,} | {link['retries']:,} | "
            f"{link['timeouts']:,} | {link['crc_errors']:,} | {link['bad_crc_replies']:,} | "
            f"{link['chunk_bytes_smallest']} | {result['faults']['up']:,} / {result['faults']['down']:,} | "
            f"{result['seconds']:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--native", action="store_true", help="the host agent instead of QEMU")
    parser.add_argument("--board", default="qemu-cm7", help="the emulated board (default qemu-cm7)")
    parser.add_argument("--long", action="store_true", help="every kind alone each way too, and 3x the inputs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    inputs = ["--data", str(IMAGES)] if not args.long else ["--random", "96"]
    results = []
    with tempfile.TemporaryDirectory(prefix="mcugen-link-faults-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        upstream = native_board(stack, workdir) if args.native else qemu_board(stack, workdir, args.board)
        where = "native host agent" if args.native else args.board
        print(f"mcugen bench through the fault proxy, {where}, {MODEL.name}\n")
        print("| case | bit-exact | complete | requests | retries | timeouts | damaged replies | damaged requests "
              "| smallest chunk B | faults injected up / down | s |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
        for k, (name, options) in enumerate(cases(args.long).items()):
            result = run_case(upstream, name, options, args.seed + k, inputs, workdir)
            results.append(result)
            print(row(result), flush=True)
    bad = [r["case"] for r in results if "report" not in r or r["exit"] != 0 or not r["report"]["complete"]
           or r["report"]["bit_exact"] != r["report"]["planned_inputs"]]
    if bad:
        print(f"\nlost inputs or results not bit-exact: {', '.join(bad)}")
        return 1
    print("\nevery input of every case completed, every result bit-exact with tflite-micro")
    return 0


if __name__ == "__main__":
    sys.exit(main())
