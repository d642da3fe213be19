"""The benchmark link under damage, against the real agent built natively with
sanitizers (mcugen.host_agent), through the fault proxy over real sockets, with
tflite-micro as the oracle.

Deterministic cases damage one chosen byte of one chosen frame, in either
direction, and assert the exact cost: one retry, the timeouts it needs, the same
seq on the retry, and one model run on the board (its INVOKE count, read back
with HELLO). The fault matrix drops, corrupts, duplicates and inserts bytes at
random, one kind and one direction at a time at 1e-3 and all kinds in both
directions at 1e-2, and every inference must come back bit-exact.
"""

from __future__ import annotations

import json
import socket
import struct

import numpy as np
import pytest
import serial
from conftest import EXAMPLE_MODEL, assert_clean_refusal, run_cli
from fault_proxy import (
    FaultProxy,
    FrameFault,
    drop_at,
    dup_at,
    flip_at,
    insert_at,
    lose,
    set_length,
)

from host_agent_fixtures import agent, agent_exe, model_path, model_sha, reference  # noqa: F401 (fixtures)
from host_agent_fixtures import assert_bit_exact, random_wire_inputs

from mcugen.agent_client import AgentClient, TraceEvent
from mcugen.link_policy import ChunkSize, ReplyDeadline, RetryBudget, retry_pause_s
from mcugen.protocol import (
    REQUEST_TAIL,
    Command,
    ErrorCode,
    ErrorReply,
    Frame,
    FrameParser,
    Hello,
    InvokeResult,
    NoReplyError,
    encode_frame,
)

SET_INPUT, INVOKE, GET_OUTPUT = int(Command.SET_INPUT), int(Command.INVOKE), int(Command.GET_OUTPUT)
SET_INPUT_REPLY, INVOKE_REPLY, GET_OUTPUT_REPLY = SET_INPUT | 0x80, INVOKE | 0x80, GET_OUTPUT | 0x80


def _client(url: str, sha: str, trace=None, **kw) -> tuple[serial.Serial, AgentClient]:
    port = serial.serial_for_url(url, baudrate=115200, timeout=0.05)
    kw.setdefault("timeout", 0.5)
    kw.setdefault("invoke_timeout", 1.0)
    return port, AgentClient(port, model_sha256=sha, trace=trace, **kw)


# ---- one damaged byte, one retry ----------------------------------------------------------------

# (direction, wire type, damage, timeouts expected). Byte offsets are into the frame: 0-1 sync, 2 type,
# 3 seq, 4-5 length, then payload and CRC. The INVOKE request is 10 bytes, its reply 27.
ONE_FAULT_CASES = {
    "request byte lost": ("up", INVOKE, drop_at(6), 0),  # the request's zero tail completes it: BAD_CRC at once
    "request seq flipped": ("up", INVOKE, flip_at(3, 5), 0),  # BAD_CRC carrying a seq that is not ours
    "request byte doubled": ("up", INVOKE, dup_at(7), 0),  # (one in the header would shift the length)
    "request byte inserted": ("up", INVOKE, insert_at(7, 0x5A), 0),
    "request lost whole": ("up", INVOKE, lose, 1),  # nothing comes back: timeout, idle fill, retry
    "request length grown": ("up", INVOKE, set_length(700), 1),  # the board waits: the idle fill completes it
    "set_input byte lost": ("up", SET_INPUT, drop_at(400), 0),  # its bytes go again in half-size chunks
    "set_input lost whole": ("up", SET_INPUT, lose, 1),  # silence says nothing of size: sent again as it was
    "get_output byte flipped": ("up", GET_OUTPUT, flip_at(8, 0), 0),
    "reply byte flipped": ("down", INVOKE_REPLY, flip_at(8, 4), 0),  # the retry is answered by a replay
    "reply byte lost": ("down", INVOKE_REPLY, drop_at(12), 0),  # a frame that stops halfway is given up
    "reply byte doubled": ("down", INVOKE_REPLY, dup_at(20), 0),
    "reply byte inserted": ("down", INVOKE_REPLY, insert_at(9, 0xA5), 0),
    "reply lost whole": ("down", INVOKE_REPLY, lose, 1),
    "reply length grown": ("down", INVOKE_REPLY, set_length(900), 0),
    "set_input reply lost whole": ("down", SET_INPUT_REPLY, lose, 1),
    "get_output reply byte lost": ("down", GET_OUTPUT_REPLY, drop_at(9), 0),
}


@pytest.mark.parametrize("case", list(ONE_FAULT_CASES))
def test_one_damaged_byte_costs_one_retry(agent, reference, model_sha, case):
    direction, wire_type, damage, timeouts = ONE_FAULT_CASES[case]
    # The second such frame: the first inference measures the link, the second is damaged.
    fault = FrameFault(direction, wire_type, 5 if wire_type in (SET_INPUT, SET_INPUT_REPLY) else 2, damage)
    sent: list[TraceEvent] = []
    with FaultProxy(agent.port, frame_faults=(fault,), lifetime=30) as proxy:
        # A wide margin: these count retries and timeouts exactly, and a busy machine must not add one.
        port, client = _client(proxy.url, model_sha, trace=sent.append, margin_s=0.4)
        hello = client.hello()
        rng = np.random.default_rng(7)
        for _ in range(3):
            xs = random_wire_inputs(hello, rng)
            assert_bit_exact(client.run_inference([x.tobytes() for x in xs]), xs, hello, reference)
        after = client.hello()
        port.close()
    stats = client.stats
    assert proxy.stats.frame_faults == 1
    assert stats["retries"] == 1, stats
    assert stats["timeouts"] == timeouts and stats["idle_fills"] == timeouts, stats
    assert stats["resets"] == 0 and stats["double_runs"] == 0, stats
    # One model run per inference on the board, whatever was retried.
    assert after.invokes == 3, after.invokes
    # A resend of the same request carries its seq; a damaged chunk goes again as smaller new requests.
    resent = [e for e in sent if e.direction == "->" and e.note.startswith("try ")]
    if wire_type in (SET_INPUT, SET_INPUT_REPLY) and not timeouts:
        assert not resent and stats["chunk_shrinks"] == 1, (resent, stats)
    else:
        assert stats["chunk_shrinks"] == 0, stats  # a 4-byte output or an INVOKE: sent again as it was
        assert len(resent) == 1, resent
        firsts = [e for e in sent if e.direction == "->" and e.name == resent[0].name and e.seq == resent[0].seq]
        assert len(firsts) == 2, firsts


def test_length_grown_request_needs_the_idle_fill(agent, reference, model_sha):
    """The board waits for 700 bytes a damaged length promised: the idle fill completes
    that frame, its BAD_CRC is the expected one (not held against the retry), and the
    retry is answered. Without the fill the retry itself would be swallowed."""
    fault = FrameFault("up", INVOKE, 1, set_length(700))
    with FaultProxy(agent.port, frame_faults=(fault,), lifetime=30) as proxy:
        port, client = _client(proxy.url, model_sha, margin_s=0.4)
        hello = client.hello()
        xs = random_wire_inputs(hello, np.random.default_rng(8))
        assert_bit_exact(client.run_inference([x.tobytes() for x in xs]), xs, hello, reference)
        port.close()
    stats = client.stats
    assert (stats["retries"], stats["timeouts"], stats["idle_fills"], stats["late_bad_crc_replies"]) == (1, 1, 1, 1)
    assert stats["bad_crc_replies"] == 1


# ---- the device's INVOKE replay rule, frame by frame --------------------------------------------


class RawLink:
    """Frames straight to the agent's socket, for the device's rules alone."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = FrameParser()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data + REQUEST_TAIL)

    def reply(self) -> Frame:
        while True:
            events = self.parser.feed(self.sock.recv(4096))
            frames = [e for e in events if isinstance(e, Frame) and e.type != 0xFE]
            if frames:
                assert len(frames) == 1, frames
                return frames[0]

    def ask(self, type_byte: int, seq: int, payload: bytes = b"") -> Frame:
        self.send(encode_frame(type_byte, seq, payload))
        return self.reply()

    def invokes(self, seq: int) -> int:
        return Hello.decode(self.ask(Command.HELLO, seq).payload).invokes


def test_a_retried_invoke_is_replayed_whatever_came_between(agent):
    link = RawLink(agent.port)
    assert Hello.decode(link.ask(Command.HELLO, 1).payload).invokes == 0
    assert link.ask(Command.SET_INPUT, 2, struct.pack("<BI", 0, 0) + bytes(range(256))).type == 0x82
    first = link.ask(Command.INVOKE, 3)
    assert InvokeResult.decode(first.payload).invokes == 1
    # Between the INVOKE and its retry: a damaged frame (BAD_CRC), HELLO, GET_OUTPUT, PROFILE,
    # a refused SET_INPUT and a refused INVOKE. None may make the retry run the model again.
    damaged = bytearray(encode_frame(Command.INVOKE, 3))
    damaged[7] ^= 1
    link.send(bytes(damaged))
    bad = link.reply()
    assert bad.type == 0xFF and ErrorReply.decode(bad.payload).code == ErrorCode.BAD_CRC
    assert link.invokes(4) == 1
    assert link.ask(Command.GET_OUTPUT, 5, struct.pack("<BIH", 0, 0, 1)).type == 0x84
    assert link.ask(Command.PROFILE, 6, b"\x00\x00").type == 0x85
    assert link.ask(Command.SET_INPUT, 7, struct.pack("<BI", 9, 0) + b"x").type == 0xFF  # BAD_INDEX
    assert link.ask(Command.INVOKE, 8, b"x").type == 0xFF  # BAD_LENGTH
    again = link.ask(Command.INVOKE, 3)
    assert again == first and link.invokes(9) == 1
    # New inputs: the same seq is a new INVOKE now.
    assert link.ask(Command.SET_INPUT, 10, struct.pack("<BI", 0, 0) + b"\x01").type == 0x82
    fresh = link.ask(Command.INVOKE, 3)
    assert InvokeResult.decode(fresh.payload).invokes == 2 and link.invokes(11) == 2
    link.sock.close()


# ---- giving up: which end to blame --------------------------------------------------------------


def test_silent_board_is_blamed_on_the_firmware(agent, model_sha):
    with FaultProxy(agent.port, drop=1.0, directions=("up",), lifetime=30) as proxy:
        port, client = _client(proxy.url, model_sha, timeout=0.15)
        with pytest.raises(NoReplyError) as info:
            client.hello()
        port.close()
    text = info.value.one_line()
    assert "no reply to HELLO" in text and "after 3 tries (nothing came back)" in text and "firmware running" in text


def test_damaged_replies_are_blamed_on_the_line(agent, model_sha):
    """Every reply arrives with bits flipped: bytes come, so the firmware is running."""
    with FaultProxy(agent.port, corrupt=0.2, directions=("down",), lifetime=30) as proxy:
        port, client = _client(proxy.url, model_sha, timeout=0.3, max_tries=5)
        with pytest.raises(NoReplyError) as info:
            client.hello()
        port.close()
    text = info.value.one_line()
    assert "damages what it carries" in text and "bytes arrive but are damaged" in text
    assert "firmware running" not in text and "reply failed its CRC" in text and "after 5 tries" in text


def test_retry_budget_ends_a_hopeless_run_with_the_line_named(agent, reference, model_sha):
    with FaultProxy(agent.port, corrupt=0.01, directions=("up",), seed=3, lifetime=30) as proxy:
        port, client = _client(proxy.url, model_sha, budget=RetryBudget(initial=3, per_request=0.0))
        hello = client.hello()
        with pytest.raises(NoReplyError) as info:
            for _ in range(20):
                client.run_inference([x.tobytes() for x in random_wire_inputs(hello, np.random.default_rng(1))])
        port.close()
    text = info.value.one_line()
    assert "too noisy to go on: 3 retries" in text and "bytes arrive but are damaged" in text, text


def test_link_policy_rules():
    d = ReplyDeadline(2.0, per_byte=True)
    assert d.seconds(100) == 2.0  # nothing measured: the user's timeout
    d.observe(0.010, 100)
    assert d.seconds(100) == pytest.approx(0.13) and d.seconds(1000) == pytest.approx(0.4)
    d.timed_out()
    assert d.seconds(100) == pytest.approx(0.26)
    d.observe(0.010, 100)
    assert d.seconds(100) == pytest.approx(0.13)
    assert [retry_pause_s(n) for n in (1, 2, 3, 8, 20)] == [0, 0.01, 0.02, 0.32, 0.32]
    c = ChunkSize(1019, smallest=16, grow_after=3)
    for _ in range(10):
        c.failed()
    assert c.bytes == 16 and c.shrinks == 6 and c.low_water == 16
    for _ in range(9):
        c.passed()
    assert c.bytes == 128 and c.grows == 3
    b = RetryBudget(initial=10, per_request=1.0)
    assert b.allows(15, 5) and not b.allows(16, 5)


# ---- the fault matrix ---------------------------------------------------------------------------

RATE = 1e-3
MATRIX = {
    # name: (proxy options, inferences)
    **{f"{kind} {RATE:g} up": ({kind: RATE, "directions": ("up",)}, 24)
       for kind in ("drop", "corrupt", "duplicate", "insert")},
    # Replies are short: more inferences (each with a PROFILE) give the down direction its faults.
    **{f"{kind} {RATE:g} down": ({kind: RATE, "directions": ("down",)}, 60)
       for kind in ("drop", "corrupt", "duplicate", "insert")},
    "all kinds 1e-3 each, both ways": ({k: RATE for k in ("drop", "corrupt", "duplicate", "insert")}, 8),
    "mixed 1e-2, both ways": ({k: 0.25e-2 for k in ("drop", "corrupt", "duplicate", "insert")}, 3),
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_fault_matrix_every_result_bit_exact_nothing_lost(agent, reference, model_sha, case):
    options, inferences = MATRIX[case]
    seed = sum(map(ord, case))
    with FaultProxy(agent.port, seed=seed, lifetime=120, **options) as proxy:
        port, client = _client(proxy.url, model_sha)
        hello = client.hello()
        rng = np.random.default_rng(seed)
        for _ in range(inferences):
            xs = random_wire_inputs(hello, rng)
            assert_bit_exact(client.run_inference([x.tobytes() for x in xs]), xs, hello, reference)
            assert len(client.profile()) == 11
        proxy.enabled = False  # read the board's own count over a clean line
        after = client.hello()
        port.close()
    stats = client.stats
    print(f"{case}: {inferences} inferences bit-exact; proxy {proxy.stats}; client {stats}")
    directions = options.get("directions", ("up", "down"))
    assert all(proxy.stats.by_direction[d] >= 5 for d in directions), proxy.stats
    assert after.invokes == inferences and stats["double_runs"] == 0, (after.invokes, stats)
    assert stats["retries"] >= 5 and stats["resets"] == 0, stats


# ---- a benchmark that fails midway ---------------------------------------------------------------


def test_bench_that_fails_midway_writes_the_partial_report(agent, tmp_path):
    """From the third inference's first SET_INPUT on, nothing reaches the board: `mcugen
    bench` exits 3 naming the silent board, and still writes and prints the two inputs
    that completed, marked incomplete, with the link's statistics."""
    fault = FrameFault("up", SET_INPUT, 9, lose, last=10**6)
    with FaultProxy(agent.port, frame_faults=(fault,), lifetime=120) as proxy:
        proc = run_cli("bench", "--model", EXAMPLE_MODEL, "--port", proxy.url, "--random", "5", "--timeout", "0.5",
                       "--report", tmp_path / "report", timeout=120)
    assert_clean_refusal(proc, "stopped after 2 of 5 inputs, at input 3: no reply to SET_INPUT",
                         "firmware running", "partial report in", code=3)
    assert "2 of 5" in proc.stdout and "incomplete" in proc.stdout and "requests" in proc.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["complete"] is False and report["incomplete_reason"].startswith("input 3: no reply to SET_INPUT")
    assert report["inputs"] == report["bit_exact"] == 2 and report["planned_inputs"] == 5
    assert report["link"]["timeouts"] == 3 and report["link"]["requests"] >= 13, report["link"]
    md = (tmp_path / "report" / "report.md").read_text()
    assert "Partial report: 2 of 5 inputs completed" in md and "## Serial link" in md
    assert "| sends with no reply in time | 3 |" in md
