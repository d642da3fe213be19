"""A mutation fuzzer for mcugen's model front end (issue 10).

Takes real models, damages copies of them (truncations, bit flips anywhere or in
the flatbuffer's own structure, spliced bytes, and crafted values written into
chosen fields: shapes, types, buffer and tensor indices, quantization, options,
vector lengths, offsets, vtable slots) and gives each to mcugen's whole front
end: read, verify, plan and generate the C (mcugen.generate.compile_model).

A mutant must be either refused with one clear line (a McugenError) or accepted;
never a traceback or a hang. A mutant mcugen accepts must also be one TensorFlow
Lite Micro loads, allocates and runs (tests/tflm_oracle.py). Every so often a
mutant also goes through the real CLI (`mcugen generate`), which must exit 0 with
a whole project or non-zero with one line, no traceback, and no output folder.

    python tests/model_fuzz.py --seconds 600 [--seed N] [--save-failures DIR] MODEL...

prints a JSON summary; the exit status is 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcugen.errors import McugenError  # noqa: E402
from mcugen.generate import compile_model  # noqa: E402
from mcugen.target import HOST  # noqa: E402
from mcugen.tflite_layout import Site, check_layout  # noqa: E402
from tflm_oracle import TflmOracle  # noqa: E402

_PER_MUTANT_SECONDS = 30


# ---- mutations ----

def _put(raw: bytearray, pos: int, fmt: str, value) -> None:  # type: ignore[no-untyped-def]
    size = struct.calcsize(fmt)
    if 0 <= pos and pos + size <= len(raw):
        raw[pos:pos + size] = struct.pack(fmt, value)


_INT_VALUES = (0, 1, -1, -2, 2, 3, 7, 127, 128, 255, 256, 1000, 65535, 1 << 20, 1 << 30, (1 << 31) - 1, -(1 << 31))
_FLOAT_VALUES = (0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e-45, 1e-30, 1e30, 3.4e38)


def _crafted_value(site: Site, rng: random.Random, original: int):  # type: ignore[no-untyped-def]
    """A value worth writing at ``site``: an edge of its type, or a near miss of what was there."""
    path = site.path
    if site.kind == "vector" and path.endswith((".scale", ".min", ".max")):
        return "<f", rng.choice(_FLOAT_VALUES)
    fmt = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}[site.size]
    if path.endswith(".type"):
        return "<b", rng.choice((0, 1, 2, 3, 6, 7, 9, 11, 13, 17, 18, 20, 30, 100, -1))
    near = (original + rng.choice((1, -1, 2, 4, -4)), original * 2, original // 2)
    bound = 1 << (8 * site.size - 1)
    value = rng.choice(_INT_VALUES + near)
    if not -bound <= value < bound:
        value = rng.randrange(-bound, bound)
    return fmt, value


def _structural(sites: list[Site]) -> list[Site]:
    """Sites outside the weights: where damage says something about the reader."""
    return [s for s in sites if not s.path.endswith(".data") or s.kind != "vector"]


def mutate(raw: bytes, sites: list[Site], rng: random.Random) -> tuple[str, bytes]:
    """One mutant of ``raw`` and what was done to it: one damage, or now and then two
    crafted values at once (a shape and the shape that must follow it, say)."""
    if rng.random() < 0.15:
        first, once = _mutate_once(raw, sites, rng, "crafted")
        second, twice = _mutate_once(once, sites, rng, "crafted")
        return f"{first}; then {second}", twice
    return _mutate_once(raw, sites, rng)


def _mutate_once(raw: bytes, sites: list[Site], rng: random.Random, kind: str | None = None) -> tuple[str, bytes]:
    out = bytearray(raw)
    n = len(raw)
    kind = kind or rng.choice(("truncate", "flip", "structural_flip", "crafted", "crafted", "crafted", "splice"))
    if kind == "truncate":
        cut = rng.choice((n - 1, n - rng.randint(1, 64), rng.randrange(0, n)))
        return f"truncate to {cut} bytes", bytes(out[:max(0, cut)])
    if kind == "flip":
        flips = [rng.randrange(n * 8) for _ in range(rng.randint(1, 4))]
        for bit in flips:
            out[bit // 8] ^= 1 << (bit % 8)
        return f"flip bits {flips}", bytes(out)
    structure = _structural(sites)
    site = rng.choice(structure)
    element = rng.randrange(site.count)
    pos = site.pos + element * site.size
    if kind == "structural_flip":
        bit = rng.randrange(site.size * 8)
        out[pos + bit // 8] ^= 1 << (bit % 8)
        return f"flip bit {bit} of {site.path}[{element}] at byte {pos}", bytes(out)
    if kind == "splice":
        length = rng.randint(1, 16)
        if rng.random() < 0.5:
            del out[pos:pos + length]
            return f"delete {length} bytes at {pos} ({site.path})", bytes(out)
        out[pos:pos] = bytes(rng.randrange(256) for _ in range(length))
        return f"insert {length} bytes at {pos} ({site.path})", bytes(out)
    fmt_size = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}[site.size]
    original = struct.unpack_from(fmt_size, raw, pos)[0]
    fmt, value = _crafted_value(site, rng, original)
    _put(out, pos, fmt, value)
    return f"set {site.path}[{element}] (byte {pos}) from {original} to {value}", bytes(out)


# ---- running one mutant ----

class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # type: ignore[no-untyped-def]
    raise _Timeout


@dataclass
class Outcome:
    verdict: str  # "refused", "accepted", "traceback", "hang", "tflm_refuses", "bad_message"
    detail: str = ""


def front_end(path: Path) -> Outcome:
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(_PER_MUTANT_SECONDS)
    try:
        compile_model(path, HOST, memory="fast")
    except McugenError as exc:
        line = exc.one_line()
        if not line.strip() or "\n" in line:
            return Outcome("bad_message", repr(line))
        return Outcome("refused", line)
    except _Timeout:
        return Outcome("hang", f"over {_PER_MUTANT_SECONDS} s")
    except BaseException:  # noqa: BLE001 - anything else is what the fuzzer is here to find
        return Outcome("traceback", traceback.format_exc(limit=-3))
    finally:
        signal.alarm(0)
    return Outcome("accepted")


def through_cli(path: Path, work: Path) -> Outcome:
    """`mcugen generate` on the mutant: a whole project and exit 0, or one line, non-zero, no folder."""
    out = work / "project"
    proc = subprocess.run([sys.executable, "-m", "mcugen", "generate", str(path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=work)
    if "Traceback" in proc.stderr or proc.returncode < 0:
        return Outcome("traceback", proc.stderr[-2000:] or f"killed by signal {-proc.returncode}")
    if proc.returncode == 0:
        ok = (out / "platformio.ini").is_file() and (out / "mcugen.json").is_file()
        return Outcome("accepted" if ok else "half_written", "" if ok else "exit 0 without a whole project")
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if out.exists():
        return Outcome("half_written", f"exit {proc.returncode} left {out}")
    if len(lines) != 1 or not lines[0].startswith("mcugen: error:"):
        return Outcome("bad_message", proc.stderr[-500:])
    return Outcome("refused", lines[0])


# ---- the campaign ----

@dataclass
class Campaign:
    counts: Counter = field(default_factory=Counter)
    per_model: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    cli_runs: int = 0

    def record(self, model: str, what: str, outcome: Outcome, mutant: bytes, save: Path | None) -> None:
        self.counts[outcome.verdict] += 1
        self.per_model.setdefault(model, Counter())[outcome.verdict] += 1
        if outcome.verdict == "refused":
            self.reasons[_reason(outcome.detail)] += 1
        if outcome.verdict not in ("refused", "accepted"):
            entry = {"model": model, "mutation": what, "verdict": outcome.verdict, "detail": outcome.detail[-1500:]}
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                name = save / f"{len(self.failures):04d}_{outcome.verdict}_{model}"
                name.write_bytes(mutant)
                entry["saved"] = str(name)
            self.failures.append(entry)

    def summary(self) -> dict:
        bad = sum(n for v, n in self.counts.items() if v not in ("refused", "accepted"))
        return {"mutants": sum(self.counts.values()), "outcomes": dict(self.counts), "failed": bad,
                "cli_runs": self.cli_runs, "per_model": {m: dict(c) for m, c in self.per_model.items()},
                "top_refusals": self.reasons.most_common(15), "failures": self.failures[:25]}


def _reason(line: str) -> str:
    """A refusal line without its file name and numbers, to count kinds of refusal."""
    import re

    text = line.split(": ", 1)[1] if ": " in line else line
    return re.sub(r"\d+", "N", text)[:90]


def run(models: list[Path], seconds: float, seed: int, cli_every: int, save: Path | None) -> dict:
    rng = random.Random(seed)
    oracle = TflmOracle()
    campaign = Campaign()
    sources = [(m.name, m.read_bytes()) for m in models]
    sites = {name: list(check_layout(raw, name, record=True).sites) for name, raw in sources}
    deadline = time.monotonic() + seconds
    index = 0
    with tempfile.TemporaryDirectory(prefix="mcugen-fuzz-") as tmp:
        work = Path(tmp)
        while time.monotonic() < deadline:
            name, raw = sources[index % len(sources)]
            index += 1
            what, mutant = mutate(raw, sites[name], rng)
            path = work / "mutant.tflite"
            path.write_bytes(mutant)
            outcome = front_end(path)
            if outcome.verdict == "accepted":
                verdict = oracle.judge(mutant)
                if not verdict.accepted:
                    outcome = Outcome("tflm_refuses", f"mcugen accepted it; tflite-micro: {verdict.detail}")
            if cli_every and index % cli_every == 0 and outcome.verdict in ("accepted", "refused"):
                campaign.cli_runs += 1
                cli = through_cli(path, work)
                if cli.verdict != outcome.verdict:
                    outcome = cli if cli.verdict not in ("accepted", "refused") else Outcome(
                        "cli_disagrees", f"library: {outcome.verdict}; CLI: {cli.verdict} {cli.detail}")
                subprocess.run(["rm", "-rf", str(work / "project")], check=False)
            campaign.record(name, what, outcome, mutant, save)
    oracle.close()
    return campaign.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cli-every", type=int, default=50, help="run every Nth mutant through `mcugen generate`")
    parser.add_argument("--save-failures", type=Path, help="write each failing mutant here")
    args = parser.parse_args()
    summary = run(args.models, args.seconds, args.seed, args.cli_every, args.save_failures)
    print(json.dumps(summary, indent=1))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
