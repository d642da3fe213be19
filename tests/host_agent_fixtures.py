"""Fixtures and helpers shared by the tests that talk to the real agent built natively
(mcugen.host_agent, with sanitizers): tests/test_agent_client.py and
tests/test_link_faults.py. A test module takes the fixtures by importing them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLE_MODEL
from mcugen.host_agent import HostAgentProcess, build_host_agent
from mcugen.protocol import Hello
from mcugen.reference import TflmInterpreter

# The wire's dtype codes (docs/protocol.md) as NumPy types.
WIRE_DTYPES = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.int32, 5: np.float32}


@pytest.fixture(scope="module")
def model_path() -> Path:
    # The example's 3072-byte input takes four SET_INPUT chunks at full size;
    # MCUGEN_AGENT_TEST_MODEL runs the same tests on another (e.g. larger) model.
    override = os.environ.get("MCUGEN_AGENT_TEST_MODEL")
    return Path(override) if override else EXAMPLE_MODEL


@pytest.fixture(scope="module")
def agent_exe(model_path, tmp_path_factory) -> Path:
    # One folder for every module: build_host_agent reuses the build when the sources match.
    return build_host_agent(model_path, tmp_path_factory.getbasetemp() / "host_agent_link", sanitize=True)


@pytest.fixture(scope="module")
def reference(model_path):
    ref = TflmInterpreter(model_path)
    yield ref
    ref.close()


@pytest.fixture(scope="module")
def model_sha(model_path) -> str:
    return hashlib.sha256(model_path.read_bytes()).hexdigest()


@pytest.fixture
def agent(agent_exe):
    proc = HostAgentProcess(agent_exe).start()
    yield proc
    proc.stop()
    assert not proc.sanitizer_report(), proc.sanitizer_report()


def random_wire_inputs(hello: Hello, rng: np.random.Generator) -> list[np.ndarray]:
    """Random values over each input's whole integer range, in the shapes HELLO gave."""
    out = []
    for t in hello.inputs:
        dtype = np.dtype(WIRE_DTYPES[t.dtype])
        info = np.iinfo(dtype)
        out.append(rng.integers(info.min, info.max + 1, size=t.shape, dtype=dtype))
    return out


def assert_bit_exact(result, xs, hello, reference) -> None:
    want = reference.run(xs, len(hello.outputs))
    for raw, w, t in zip(result.outputs, want, hello.outputs):
        got = np.frombuffer(raw, dtype=WIRE_DTYPES[t.dtype]).reshape(t.shape)
        assert np.array_equal(got, np.asarray(w).reshape(t.shape)), (got, w)
