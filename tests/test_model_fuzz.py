"""The mutation fuzzer (tests/model_fuzz.py) over real models, bounded in time.

MCUGEN_FUZZ_SECONDS runs it longer (the default keeps CI short); MCUGEN_FUZZ_SEED
picks other mutants. A failing mutant is saved under the test's tmp folder and
named in the assertion, so it can be replayed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import model_fuzz
from conftest import EXAMPLE_MODEL, REPO, VALID_MODELS

SECONDS = float(os.environ.get("MCUGEN_FUZZ_SECONDS", "40"))
SEED = int(os.environ.get("MCUGEN_FUZZ_SEED", "0"))


def test_mutants_of_real_models_are_refused_in_one_line_or_accepted_by_both(tmp_path):
    pytest.importorskip("tflite_micro")
    models = [EXAMPLE_MODEL] + VALID_MODELS  # the shared models join when ../shared is there
    save = tmp_path / "failures"
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "model_fuzz.py"), "--seconds", str(SECONDS),
                           "--seed", str(SEED), "--cli-every", "60", "--save-failures", str(save),
                           *map(str, models)], capture_output=True, text=True, timeout=SECONDS + 600)
    assert proc.returncode in (0, 1), f"the fuzzer itself died ({proc.returncode}): {proc.stderr[-2000:]}"
    summary = json.loads(proc.stdout)
    assert summary["failed"] == 0, json.dumps(summary["failures"][:5], indent=1)
    outcomes = summary["outcomes"]
    # It did real work: many mutants, both verdicts, and some through the real CLI.
    assert summary["mutants"] >= 10 * SECONDS, summary
    assert outcomes.get("refused", 0) > 0 and outcomes.get("accepted", 0) > 0, outcomes
    assert summary["cli_runs"] >= 3, summary


def test_the_fuzzer_catches_a_traceback_and_a_hang(tmp_path, monkeypatch):
    """The harness itself: a front end that raises a plain exception or never
    returns must be reported, not counted as a refusal."""
    path = tmp_path / "m.tflite"
    path.write_bytes(EXAMPLE_MODEL.read_bytes())
    assert model_fuzz.front_end(path).verdict == "accepted"

    def broken(*args, **kwargs):
        raise KeyError("float32")

    monkeypatch.setattr(model_fuzz, "compile_model", broken)
    outcome = model_fuzz.front_end(path)
    assert outcome.verdict == "traceback" and "KeyError" in outcome.detail

    def stuck(*args, **kwargs):
        import time
        time.sleep(30)

    monkeypatch.setattr(model_fuzz, "compile_model", stuck)
    monkeypatch.setattr(model_fuzz, "_PER_MUTANT_SECONDS", 1)
    assert model_fuzz.front_end(path).verdict == "hang"


def test_mutations_are_reproducible_from_the_seed():
    import random

    raw = EXAMPLE_MODEL.read_bytes()
    sites = list(model_fuzz.check_layout(raw, "example", record=True).sites)
    rng = random.Random(7)
    first = [model_fuzz.mutate(raw, sites, rng) for _ in range(20)]
    rng = random.Random(7)
    again = [model_fuzz.mutate(raw, sites, rng) for _ in range(20)]
    assert first == again
