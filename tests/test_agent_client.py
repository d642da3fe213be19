"""AgentClient against the real agent and a real generated model, run natively
(mcugen.host_agent, built with sanitizers), over clean links, chosen damaged
replies and through resets. Every counted output must equal TFLite Micro's bit
for bit. Noisy lines and their fault matrix: tests/test_link_faults.py."""

from __future__ import annotations

import os

import numpy as np
import pytest
import serial

from fault_proxy import FaultProxy
from host_agent_fixtures import agent, agent_exe, model_path, model_sha, reference  # noqa: F401 (fixtures)
from host_agent_fixtures import assert_bit_exact, random_wire_inputs
from mcugen.agent_client import AgentClient, TraceEvent
from mcugen.errors import McugenError
from mcugen.generate import compile_model
from mcugen.protocol import (
    AgentErrorReply,
    BoardResetError,
    Command,
    CrcError,
    ErrorCode,
    Frame,
    FrameParser,
    Hello,
    InvokeResult,
    ModelMismatchError,
    encode_frame,
)



def _open(url: str):
    return serial.serial_for_url(url, baudrate=115200, timeout=0.05)


def test_clean_link_bit_exact_and_profile(agent, model_path, model_sha, reference):
    port = _open(agent.url)
    lines: list[str] = []
    client = AgentClient(port, timeout=0.5, model_sha256=model_sha, trace=lambda e: lines.append(str(e)))
    hello = client.hello()
    assert hello.board == "host" and hello.model_sha256_hex == model_sha and hello.clock_hz == 1_000_000_000
    generated = compile_model(model_path)
    assert hello.arena_bytes == int(generated.files["mcugen_model.h"].split("MCUGEN_MODEL_ARENA_BYTES ")[1].split()[0])
    assert len(hello.inputs) == len(generated.graph.input_tensors())
    rng = np.random.default_rng(1)
    for _ in range(8):
        xs = random_wire_inputs(hello, rng)
        result = client.run_inference([x.tobytes() for x in xs])
        assert result.count > 0 and result.resets == 0
        assert_bit_exact(result, xs, hello, reference)
    counts = client.profile()
    assert len(counts) == len(generated.module.layers)
    assert client.stats["retries"] == 0 and client.stats["resets"] == 0
    assert any(line.startswith("-> SET_INPUT") for line in lines) and any("INVOKE reply" in line for line in lines)
    port.close()


def test_model_mismatch_is_refused(agent):
    port = _open(agent.url)
    client = AgentClient(port, timeout=0.5, model_sha256="ab" * 32)
    with pytest.raises(ModelMismatchError, match="another model"):
        client.hello()
    port.close()


def test_refusals_are_clear_errors(agent):
    port = _open(agent.url)
    client = AgentClient(port, timeout=0.5)
    hello = client.hello()
    with pytest.raises(AgentErrorReply, match="BAD_INDEX") as info:
        client.set_input(len(hello.inputs), b"\x00")
    assert info.value.code == ErrorCode.BAD_INDEX
    with pytest.raises(McugenError, match="input 0 is 1 bytes|inputs"):
        client.run_inference([b"\x00"] * (len(hello.inputs) + 1))
    port.close()


class FramePort:
    """A pyserial port whose received frames pass through hook(frame bytes) -> bytes
    to deliver, for deterministic damage to chosen replies."""

    def __init__(self, inner, hook):
        self.inner = inner
        self.hook = hook
        self.port = inner.port
        self._parser = FrameParser()
        self._pending = bytearray()

    @property
    def timeout(self):
        return self.inner.timeout

    @timeout.setter
    def timeout(self, value):
        self.inner.timeout = value

    @property
    def in_waiting(self):
        return len(self._pending) or self.inner.in_waiting

    def write(self, data):
        return self.inner.write(data)

    def flush(self):
        self.inner.flush()

    def read(self, n=1):
        if not self._pending:
            data = self.inner.read(max(1, self.inner.in_waiting))
            for event in self._parser.feed(data):
                assert isinstance(event, Frame)  # the agent itself sends clean frames
                self._pending += self.hook(encode_frame(event.type, event.seq, event.payload))
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out


def test_corrupted_invoke_reply_is_never_counted(agent, reference):
    """The first INVOKE reply arrives with a flipped bit in its count: the client
    must drop it, retry INVOKE with the same seq and count the agent's repeat of
    the good reply (the model is not run twice)."""
    seen: dict[str, bytes] = {}

    def hook(frame: bytes) -> bytes:
        if frame[2] == 0x83 and "invoke" not in seen:
            seen["invoke"] = frame
            damaged = bytearray(frame)
            damaged[8] ^= 0x10  # inside the u64 count
            return bytes(damaged)
        if frame[2] == 0x83:
            seen["again"] = frame
        return frame

    port = FramePort(_open(agent.url), hook)
    client = AgentClient(port, timeout=0.5)
    hello = client.hello()
    xs = random_wire_inputs(hello, np.random.default_rng(2))
    result = client.run_inference([x.tobytes() for x in xs])
    original = InvokeResult.decode(seen["invoke"][6:-4])
    assert seen["again"] == seen["invoke"]  # the retry was answered by a replay, not a second run
    assert result.count == original.count
    assert client.stats["crc_errors"] == 1 and client.stats["retries"] == 1
    assert_bit_exact(result, xs, hello, reference)
    port.inner.close()


def test_stale_replies_are_skipped(agent, reference):
    """Every reply is preceded by a copy of the previous reply (a late duplicate)."""
    last: list[bytes] = []

    def hook(frame: bytes) -> bytes:
        out = (last[-1] if last else b"") + frame
        last.append(frame)
        return out

    port = FramePort(_open(agent.url), hook)
    client = AgentClient(port, timeout=0.5)
    hello = client.hello()
    rng = np.random.default_rng(3)
    for _ in range(3):
        xs = random_wire_inputs(hello, rng)
        assert_bit_exact(client.run_inference([x.tobytes() for x in xs]), xs, hello, reference)
    assert client.stats["stale_replies"] >= 5 and client.stats["retries"] == 0
    port.inner.close()


def _boot_len(agent_url: str) -> int:
    port = _open(agent_url)
    hello = AgentClient(port, timeout=0.5).hello()
    port.close()
    return len(hello.encode()) + 10


@pytest.mark.parametrize("when,swallow_boot", [
    ("-> SET_INPUT", False),  # the BOOT frame tells
    ("-> SET_INPUT", True),  # BOOT lost: the INVOKE reply's frame counter tells
    ("<- INVOKE reply", True),  # BOOT lost after the model ran: GET_OUTPUT's NOT_READY tells
])
def test_reset_mid_run_is_detected_and_recovered(agent, reference, model_sha, when, swallow_boot):
    """Kill the agent and start a fresh one on the same port in the middle of the
    third inference, as a board reset would."""
    swallow = _boot_len(agent.url) if swallow_boot else 0
    rng = np.random.default_rng(4)
    with FaultProxy(agent.port, swallow_after_reconnect=swallow, lifetime=60) as proxy:
        port = _open(proxy.url)
        state = {"inference": 0, "done": False}

        def trace(event: TraceEvent) -> None:
            if state["inference"] == 3 and not state["done"] and str(event).startswith(when):
                state["done"] = True
                agent.restart()

        client = AgentClient(port, timeout=0.3, invoke_timeout=1.0, trace=trace, model_sha256=model_sha)
        hello = client.hello()
        resets = 0
        for k in range(1, 6):
            state["inference"] = k
            xs = random_wire_inputs(hello, rng)
            result = client.run_inference([x.tobytes() for x in xs])
            assert_bit_exact(result, xs, hello, reference)
            resets += result.resets
        port.close()
    assert state["done"] and agent.starts == 2 and proxy.stats.reconnects >= 1
    assert resets == 1 and client.stats["resets"] == 1, client.stats
    assert proxy.stats.swallowed == swallow


def test_board_that_keeps_resetting_is_reported(agent, model_sha):
    with FaultProxy(agent.port, lifetime=60) as proxy:
        port = _open(proxy.url)

        def trace(event: TraceEvent) -> None:
            if str(event).startswith("-> INVOKE"):
                agent.restart()

        client = AgentClient(port, timeout=0.3, invoke_timeout=1.0, trace=trace, model_sha256=model_sha,
                             max_resets=2)
        hello = client.hello()
        with pytest.raises(BoardResetError, match="reset 3 times") as info:
            client.run_inference([bytes(t.nbytes) for t in hello.inputs])
        assert "power" in info.value.one_line()
        port.close()
    assert proxy.stats.reconnects >= 3


def test_host_port_stdio_mode(agent_exe, model_sha):
    """--stdio: the link is stdin/stdout; BOOT first, then one reply per request, exit at end of input."""
    import subprocess

    from mcugen.host_agent import SANITIZER_ENV

    requests = encode_frame(Command.HELLO, 1) + encode_frame(0x42, 2) + encode_frame(Command.PROFILE, 3, b"\x00\x00")
    proc = subprocess.run([str(agent_exe), "--stdio"], input=requests, capture_output=True, timeout=30,
                          env=dict(os.environ, **SANITIZER_ENV))
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    events = FrameParser().feed(proc.stdout)
    assert not any(isinstance(e, CrcError) for e in events)
    assert [(e.type, e.seq) for e in events] == [(0xFE, 0), (0x81, 1), (0xFF, 2), (0xFF, 3)]
    assert Hello.decode(events[0].payload).frames == 0 and Hello.decode(events[1].payload).frames == 1
    assert Hello.decode(events[1].payload).model_sha256_hex == model_sha
    assert events[2].payload[0] == ErrorCode.UNKNOWN_COMMAND and events[3].payload[0] == ErrorCode.NOT_READY
