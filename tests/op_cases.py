"""What the per-op kernel tests share: the converter-made models listed in
tests/models/ops/MANIFEST.json (tests/make_op_models.py writes them), and skipping
a model that needs more than the kernels a test is about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcugen.codegen.lowering import UnsupportedOpError
from mcugen.generate import GeneratedModel, compile_model
from mcugen.target import HOST

OPS_DIR = Path(__file__).resolve().parent / "models" / "ops"
MANIFEST = OPS_DIR / "MANIFEST.json"


def _skipped(reason: str, id: str | None = None) -> object:
    return pytest.param(None, id=id, marks=pytest.mark.skip(reason=reason))


def manifest_cases(ops: set[str]) -> list:
    """One param (the model's path, id its case name) per manifest model using any of ``ops``;
    a visible skip instead when the manifest, a listed file, or any matching case is missing."""
    if not MANIFEST.is_file():
        return [_skipped(f"{MANIFEST} not found (run tests/make_op_models.py)")]
    params = []
    for case in json.loads(MANIFEST.read_text())["cases"]:
        if ops & set(case["ops"]):
            path = OPS_DIR / case["file"]
            params.append(pytest.param(path, id=case["name"]) if path.is_file()
                          else _skipped(f"{path.name} is listed in MANIFEST.json but missing", case["name"]))
    return params or [_skipped(f"MANIFEST.json lists no model using {', '.join(sorted(ops))}")]


def compile_or_skip(model: Path, ops: set[str], kernels: str = "portable", memory: str = "fast") -> GeneratedModel:
    """compile_model, skipping when mcugen refuses an op outside ``ops`` (a kernel, or an
    option of one, it lacks): such a model cannot test ``ops``. A refusal of one of
    ``ops`` is the test's business and propagates."""
    try:
        return compile_model(model, HOST, kernels, memory)
    except UnsupportedOpError as exc:
        if exc.op.op in ops:
            raise
        pytest.skip(f"{model.name} also needs a kernel mcugen lacks: {exc}")
