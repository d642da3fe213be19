"""Fuzz the on-device agent natively: mcugen_frame.c + mcugen_agent.c with a stub
model, built with -fsanitize=address,undefined, fed thousands of valid, malformed
and damaged frames. Every reply is checked against a Python model of the agent
driven by mcugen.protocol's parser (the same receiver rules): every CRC-good
request gets exactly one reply, every malformed one the right ERROR, no
sanitizer report, whatever arrives."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from mcugen.host_agent import AGENT_DIR, SANITIZE_FLAGS, SANITIZER_ENV
from mcugen.protocol import (
    MAX_FRAME_BYTES,
    Command,
    CrcError,
    ErrorCode,
    ErrorReply,
    FrameParser,
    Hello,
    InvokeResult,
    TensorInfo,
    encode_frame,
    wire_type,
)

RUNTIME = AGENT_DIR.parent / "runtime"
SHA = "00112233445566778899aabbccddeeff0123456789abcdefFEDCBA9876543210"
LAYERS = 130
IN_BYTES = (1500, 14)
OUT_BYTES = (2100, 12)
COUNTER_STEP = 7

STUB_CONFIG = """
#define MCUGEN_BOARD_ID "fuzz-board"
#define MCUGEN_BOARD_CLOCK_HZ 48000000u
#define MCUGEN_BOARD_COUNTER_KIND MCUGEN_COUNTER_INSTRUCTIONS
#define MCUGEN_FIRMWARE_BUILD_ID "a build id longer than sixty-three bytes, to be cut by the agent: 0123456789"
"""

STUB_MODEL_H = f"""
#ifndef MCUGEN_MODEL_H
#define MCUGEN_MODEL_H
#include <stddef.h>
#include <stdint.h>
#define MCUGEN_DTYPE_INT8 1
#define MCUGEN_DTYPE_INT16 3
#define MCUGEN_DTYPE_INT32 4
#define MCUGEN_MODEL_SHA256 "{SHA}"
#define MCUGEN_MODEL_ARENA_BYTES 4096
#define MCUGEN_MODEL_LAYER_COUNT {LAYERS}
#define MCUGEN_MODEL_INPUT_COUNT 2
#define MCUGEN_MODEL_OUTPUT_COUNT 2
typedef struct {{
    const char *name; int32_t dtype; int32_t rank; int32_t shape[6]; uint32_t bytes; float scale; int32_t zero_point;
}} mcugen_tensor_info_t;
extern const mcugen_tensor_info_t mcugen_model_inputs[MCUGEN_MODEL_INPUT_COUNT];
extern const mcugen_tensor_info_t mcugen_model_outputs[MCUGEN_MODEL_OUTPUT_COUNT];
extern const char *const mcugen_model_layer_ops[MCUGEN_MODEL_LAYER_COUNT];
void *mcugen_model_input(int index);
void *mcugen_model_output(int index);
int mcugen_model_invoke(void);
#endif
"""

# Inputs and outputs in separate arrays; invoke overwrites input 0 afterwards, as an
# arena that reuses the input's bytes would, so a second run on the same inputs differs.
STUB_MODEL_C = f"""
#include <string.h>
#include "mcugen_model.h"
#include "mcugen_common.h"
static uint8_t in0[{IN_BYTES[0]}], in1[{IN_BYTES[1]}], out0[{OUT_BYTES[0]}], out1[{OUT_BYTES[1]}];
const mcugen_tensor_info_t mcugen_model_inputs[2] = {{
    {{"in0", MCUGEN_DTYPE_INT8, 4, {{1, 10, 10, 15}}, {IN_BYTES[0]}u, 0.5f, -3}},
    {{"in1", MCUGEN_DTYPE_INT16, 1, {{7}}, {IN_BYTES[1]}u, 0.25f, 0}},
}};
const mcugen_tensor_info_t mcugen_model_outputs[2] = {{
    {{"out0", MCUGEN_DTYPE_INT8, 6, {{1, 2, 3, 5, 7, 10}}, {OUT_BYTES[0]}u, 0.125f, 7}},
    {{"out1", MCUGEN_DTYPE_INT32, 2, {{1, 3}}, {OUT_BYTES[1]}u, 1.5f, -1}},
}};
const char *const mcugen_model_layer_ops[{LAYERS}] = {{"STUB"}};
void *mcugen_model_input(int i) {{ return i == 0 ? (void *)in0 : i == 1 ? (void *)in1 : NULL; }}
void *mcugen_model_output(int i) {{ return i == 0 ? (void *)out0 : i == 1 ? (void *)out1 : NULL; }}
int mcugen_model_invoke(void)
{{
    uint32_t sum = 0;
    for (int l = 0; l < {LAYERS}; ++l) {{
        MCUGEN_LAYER_BEGIN(l);
        MCUGEN_LAYER_END(l);
    }}
    for (uint32_t j = 0; j < sizeof out0; ++j) out0[j] = (uint8_t)(in0[j % sizeof in0] + 3u * j);
    for (uint32_t j = 0; j < sizeof in1; ++j) sum += in1[j];
    for (uint32_t k = 0; k < 3; ++k) {{
        uint32_t v = sum + k;
        out1[4 * k] = (uint8_t)v; out1[4 * k + 1] = (uint8_t)(v >> 8);
        out1[4 * k + 2] = (uint8_t)(v >> 16); out1[4 * k + 3] = (uint8_t)(v >> 24);
    }}
    memset(in0, 0x55, sizeof in0);
    return 0;
}}
"""

# Reads cases ([u32 length][bytes])* from stdin, feeds each to the agent byte by
# byte and writes what the agent sent meanwhile as [u32 length][bytes]; the BOOT
# frame is the first record.
DRIVER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mcugen_agent.h"
#include "mcugen_board.h"
static uint8_t *out; static size_t out_len, out_cap; static uint64_t counter;
void mcugen_board_init(void) {}
uint8_t mcugen_board_read_byte(void) { abort(); }
int mcugen_board_poll_byte(uint8_t *b) { (void)b; return 0; }
uint64_t mcugen_board_counter(void) { counter += 7; return counter; }
void mcugen_board_write(const uint8_t *d, size_t n)
{
    if (out_len + n > out_cap) {
        out_cap = (out_len + n) * 2;
        out = realloc(out, out_cap);
        if (!out) abort();
    }
    memcpy(out + out_len, d, n);
    out_len += n;
}
static void flush_record(void)
{
    uint8_t h[4] = {(uint8_t)out_len, (uint8_t)(out_len >> 8), (uint8_t)(out_len >> 16), (uint8_t)(out_len >> 24)};
    fwrite(h, 1, 4, stdout);
    if (out_len) fwrite(out, 1, out_len, stdout);
    out_len = 0;
}
int main(void)
{
    uint8_t h[4];
    mcugen_agent_start();
    flush_record();
    while (fread(h, 1, 4, stdin) == 4) {
        size_t n = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16) | ((size_t)h[3] << 24);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf || fread(buf, 1, n, stdin) != n) return 3;
        for (size_t i = 0; i < n; ++i) mcugen_agent_feed(buf[i]);
        free(buf);
        flush_record();
    }
    free(out);
    return 0;
}
"""

TENSORS_IN = (TensorInfo(1, (1, 10, 10, 15), IN_BYTES[0], 0.5, -3), TensorInfo(3, (7,), IN_BYTES[1], 0.25, 0))
TENSORS_OUT = (TensorInfo(1, (1, 2, 3, 5, 7, 10), OUT_BYTES[0], 0.125, 7), TensorInfo(4, (1, 3), OUT_BYTES[1], 1.5, -1))
BUILD_ID = "a build id longer than sixty-three bytes, to be cut by the agent: 0123456789"[:63]


def _hello(frames: int, invokes: int) -> bytes:
    return Hello(2, 1, 48_000_000, frames, "fuzz-board", BUILD_ID, bytes.fromhex(SHA), 4096,
                 TENSORS_IN, TENSORS_OUT, invokes).encode()


class Mirror:
    """What the agent must answer, event by event (docs/protocol.md)."""

    def __init__(self) -> None:
        self.inputs = [bytearray(n) for n in IN_BYTES]
        self.outputs = [bytearray(n) for n in OUT_BYTES]
        self.frames = 0
        self.invoked = False
        self.outputs_valid = False
        self.last_invoke_seq: int | None = None  # of the last INVOKE that ran, while no SET_INPUT came since
        self.invoke_reply = b""
        self.ran = 0

    def _run(self) -> None:
        in0, in1 = self.inputs
        self.outputs[0][:] = bytes((in0[j % len(in0)] + 3 * j) & 0xFF for j in range(OUT_BYTES[0]))
        total = sum(in1)
        self.outputs[1][:] = struct.pack("<3I", *(total + k for k in range(3)))
        in0[:] = b"\x55" * len(in0)
        self.ran += 1

    def expect(self, event) -> tuple[int, int, object]:
        """(wire type, seq, payload bytes or ErrorCode)."""
        if isinstance(event, CrcError):
            return wire_type(Command.ERROR), event.seq, ErrorCode.BAD_CRC
        t, seq, p = event.type, event.seq, event.payload
        repeat = t == Command.INVOKE and not p and self.last_invoke_seq == seq
        self.frames += 1
        err = lambda code: (wire_type(Command.ERROR), seq, code)  # noqa: E731
        reply = lambda payload: (t | 0x80, seq, payload)  # noqa: E731
        if t == Command.HELLO:
            return err(ErrorCode.BAD_LENGTH) if p else reply(_hello(self.frames, self.ran))
        if t == Command.SET_INPUT:
            if len(p) < 6:
                return err(ErrorCode.BAD_LENGTH)
            index, offset = struct.unpack_from("<BI", p)
            data = p[5:]
            if index >= 2:
                return err(ErrorCode.BAD_INDEX)
            size = IN_BYTES[index]
            if offset > size or len(data) > size - offset:
                return err(ErrorCode.OUT_OF_RANGE)
            self.inputs[index][offset : offset + len(data)] = data
            self.outputs_valid = False
            self.last_invoke_seq = None
            return reply(struct.pack("<BIH", index, offset, len(data)))
        if t == Command.INVOKE:
            if p:
                return err(ErrorCode.BAD_LENGTH)
            if not repeat:
                self._run()
                self.invoked = self.outputs_valid = True
                count = COUNTER_STEP * (2 * LAYERS + 1)
                self.invoke_reply = InvokeResult(0, count, self.frames, self.ran).encode()
                self.last_invoke_seq = seq
            return reply(self.invoke_reply)
        if t == Command.GET_OUTPUT:
            if len(p) != 7:
                return err(ErrorCode.BAD_LENGTH)
            index, offset, n = struct.unpack("<BIH", p)
            if index >= 2:
                return err(ErrorCode.BAD_INDEX)
            if n > 1019:
                return err(ErrorCode.TOO_LARGE)
            size = OUT_BYTES[index]
            if n == 0 or offset > size or n > size - offset:
                return err(ErrorCode.OUT_OF_RANGE)
            if not self.outputs_valid:
                return err(ErrorCode.NOT_READY)
            return reply(struct.pack("<BI", index, offset) + bytes(self.outputs[index][offset : offset + n]))
        if t == Command.PROFILE:
            if len(p) != 2:
                return err(ErrorCode.BAD_LENGTH)
            (first,) = struct.unpack("<H", p)
            if first > LAYERS:
                return err(ErrorCode.OUT_OF_RANGE)
            if not self.invoked:
                return err(ErrorCode.NOT_READY)
            n = min(120, LAYERS - first)
            return reply(struct.pack(f"<HHB{n}Q", LAYERS, first, n, *([COUNTER_STEP] * n)))
        return err(ErrorCode.UNKNOWN_COMMAND)


# ---- case generation ----


def _valid_request(rng: random.Random, seq: int) -> bytes:
    kind = rng.choice(["hello", "set", "set", "set", "invoke", "invoke", "get", "get", "profile"])
    if kind == "hello":
        return encode_frame(Command.HELLO, seq)
    if kind == "set":
        index = rng.randrange(2)
        size = IN_BYTES[index]
        n = rng.randint(1, min(1019, size))
        offset = rng.randint(0, size - n)
        data = bytes(rng.getrandbits(8) for _ in range(n))
        return encode_frame(Command.SET_INPUT, seq, struct.pack("<BI", index, offset) + data)
    if kind == "invoke":
        return encode_frame(Command.INVOKE, seq)
    if kind == "get":
        index = rng.randrange(2)
        size = OUT_BYTES[index]
        n = rng.randint(1, min(1019, size))
        return encode_frame(Command.GET_OUTPUT, seq, struct.pack("<BIH", index, rng.randint(0, size - n), n))
    return encode_frame(Command.PROFILE, seq, struct.pack("<H", rng.choice([0, 1, 119, 120, 121, LAYERS - 1, LAYERS])))


def _malformed_request(rng: random.Random, seq: int) -> bytes:
    """CRC-good frames that the agent must refuse with a specific ERROR."""
    big = [0xFFFFFFFF, 0x80000000, 1 << 16, 5000]
    choice = rng.randrange(12)
    if choice == 0:  # wrong length for a fixed-size request
        t = rng.choice([Command.HELLO, Command.INVOKE, Command.GET_OUTPUT, Command.PROFILE])
        n = rng.choice([1, 2, 3, 6, 8, 100, 1024])
        payload = bytes(rng.getrandbits(8) for _ in range(n))
        if (t == Command.GET_OUTPUT and n == 7) or (t == Command.PROFILE and n == 2):
            payload += b"\x00"
        return encode_frame(t, seq, payload)
    if choice == 1:  # SET_INPUT without data
        return encode_frame(Command.SET_INPUT, seq, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 5))))
    if choice == 2:  # unknown or reply-direction types
        t = rng.choice([0x00, 0x06, 0x10, 0x7E, 0x7F, 0x80, 0x81, 0x83, 0xFE, 0xFF, rng.randrange(6, 256)])
        return encode_frame(t, seq, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))))
    if choice == 3:  # bad input index
        return encode_frame(Command.SET_INPUT, seq, struct.pack("<BI", rng.randint(2, 255), 0) + b"\x01\x02")
    if choice == 4:  # bad output index
        return encode_frame(Command.GET_OUTPUT, seq, struct.pack("<BIH", rng.randint(2, 255), 0, 1))
    if choice == 5:  # input offset or length past the end, incl. u32 overflow
        index = rng.randrange(2)
        size = IN_BYTES[index]
        offset = rng.choice([size, size + 1, rng.randint(size - 5, size), *big])
        n = rng.randint(size - offset + 1, 1019) if offset <= size else rng.randint(1, 1019)
        return encode_frame(Command.SET_INPUT, seq, struct.pack("<BI", index, offset) + bytes(n))
    if choice == 6:  # output range
        index = rng.randrange(2)
        size = OUT_BYTES[index]
        offset = rng.choice([0, size, size - 1, *big])
        n = rng.choice([0, size - offset + 1 if offset <= size else 1, 1019])
        return encode_frame(Command.GET_OUTPUT, seq, struct.pack("<BIH", index, offset, max(0, min(n, 0xFFFF))))
    if choice == 7:  # more than one reply can carry
        return encode_frame(Command.GET_OUTPUT, seq, struct.pack("<BIH", rng.randrange(2), 0,
                                                                   rng.choice([1020, 1024, 4096, 0xFFFF])))
    if choice == 8:  # profile past the last layer
        return encode_frame(Command.PROFILE, seq, struct.pack("<H", rng.choice([LAYERS + 1, 1000, 0xFFFF])))
    if choice == 9:  # max-size SET_INPUT, in range only for input 0
        return encode_frame(Command.SET_INPUT, seq, struct.pack("<BI", rng.randrange(2), rng.randint(0, 600))
                            + bytes(1019))
    if choice == 10:  # valid GET_OUTPUT sizes at the edge
        index = rng.randrange(2)
        size = OUT_BYTES[index]
        n = min(1019, size)
        return encode_frame(Command.GET_OUTPUT, seq, struct.pack("<BIH", index, size - n, n))
    return encode_frame(Command.INVOKE, seq)


def _damage(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    how = rng.randrange(9)
    if how == 0:  # bit flips
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif how == 1:  # truncation
        del data[rng.randrange(len(data)) :]
    elif how == 2:  # huge or impossible length field
        length = rng.choice([1025, 1034, 0x7FFF, 0xFFFF, rng.randrange(1025, 65536)])
        data[4:6] = struct.pack("<H", length)
    elif how == 3:  # a length that claims more than follows
        data[4:6] = struct.pack("<H", min(1024, len(data) - 10 + rng.randint(1, 600)))
    elif how == 4:  # dropped byte
        del data[rng.randrange(len(data))]
    elif how == 5:  # duplicated byte
        i = rng.randrange(len(data))
        data.insert(i, data[i])
    elif how == 6:  # garbage before, with sync bytes in it
        data[:0] = bytes(rng.choice([0xA5, 0x5A, rng.getrandbits(8)]) for _ in range(rng.randint(1, 30)))
    elif how == 7:  # a bad CRC only
        data[-1] ^= 0xFF
    else:  # random bytes replace a stretch
        i = rng.randrange(len(data))
        j = min(len(data), i + rng.randint(1, 20))
        data[i:j] = bytes(rng.getrandbits(8) for _ in range(j - i))
    return bytes(data)


def _make_cases(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    cases: list[bytes] = []
    seq = 0
    for _ in range(count):
        seq = (seq + 1) & 0xFF
        mode = rng.random()
        if mode < 0.35:
            case = _valid_request(rng, seq)
            if rng.random() < 0.1:
                case += case  # an exact duplicate (a retried or repeated frame)
        elif mode < 0.6:
            case = _malformed_request(rng, seq)
        elif mode < 0.85:
            case = _damage(rng, rng.choice([_valid_request, _malformed_request])(rng, seq))
        elif mode < 0.95:  # several frames, some damaged, garbage between
            parts = []
            for _ in range(rng.randint(2, 5)):
                seq = (seq + 1) & 0xFF
                f = rng.choice([_valid_request, _malformed_request])(rng, seq)
                parts.append(_damage(rng, f) if rng.random() < 0.4 else f)
                parts.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 8))))
            case = b"".join(parts)
        else:  # pure garbage, biased to sync bytes
            case = bytes(rng.choice([0xA5, 0x5A, 0x00, 0xFF, rng.getrandbits(8)])
                         for _ in range(rng.randint(1, 2500)))
        if rng.random() < 0.5:
            case += bytes(MAX_FRAME_BYTES)  # idle fill: completes any frame left waiting
        cases.append(case)
    return cases


@pytest.fixture(scope="module")
def fuzz_driver(tmp_path_factory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) on this machine")
    d = tmp_path_factory.mktemp("agent_fuzz")
    for name in ("mcugen_board.h", "mcugen_frame.h", "mcugen_frame.c", "mcugen_agent.h", "mcugen_agent.c"):
        shutil.copy(AGENT_DIR / name, d / name)
    shutil.copy(RUNTIME / "mcugen_common.h", d / "mcugen_common.h")
    (d / "mcugen_board_config.h").write_text(STUB_CONFIG)
    (d / "mcugen_model.h").write_text(STUB_MODEL_H)
    (d / "mcugen_model.c").write_text(STUB_MODEL_C)
    (d / "driver.c").write_text(DRIVER_C)
    exe = d / "driver"
    cmd = ["cc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-DMCUGEN_PROFILE", *SANITIZE_FLAGS,
           "-I", str(d), "-o", str(exe), str(d / "driver.c"), str(d / "mcugen_agent.c"), str(d / "mcugen_frame.c"),
           str(d / "mcugen_model.c")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def _run_driver(exe: Path, cases: list[bytes]) -> list[bytes]:
    stdin = b"".join(struct.pack("<I", len(c)) + c for c in cases)
    env = dict(SANITIZER_ENV)
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode(errors="replace")[-4000:]
    records, out = [], proc.stdout
    pos = 0
    while pos < len(out):
        (n,) = struct.unpack_from("<I", out, pos)
        records.append(out[pos + 4 : pos + 4 + n])
        pos += 4 + n
    assert len(records) == len(cases) + 1
    return records


def _check(records: list[bytes], cases: list[bytes]) -> dict[str, int]:
    boot = FrameParser().feed(records[0])
    assert len(boot) == 1 and boot[0].type == 0xFE and boot[0].seq == 0, boot
    assert boot[0].payload == _hello(0, 0)
    mirror = Mirror()
    device_rx = FrameParser()
    tally = {"requests": 0, "errors": 0, "bad_crc": 0, "replayed": 0}
    for k, (case, record) in enumerate(zip(cases, records[1:])):
        replies = FrameParser().feed(record)
        assert all(not isinstance(r, CrcError) for r in replies), f"case {k}: the agent sent a bad frame"
        assert sum(len(r.payload) + 10 for r in replies) == len(record), f"case {k}: bytes between reply frames"
        events = device_rx.feed(case)
        assert len(replies) == len(events), f"case {k}: {len(events)} frames in, {len(replies)} replies out"
        for event, reply in zip(events, replies):
            ran = mirror.ran
            want_type, want_seq, want = mirror.expect(event)
            tally["requests"] += not isinstance(event, CrcError)
            tally["replayed"] += event.type == Command.INVOKE and mirror.ran == ran and reply.type == 0x83
            assert (reply.type, reply.seq) == (want_type, want_seq), (k, event, reply, want)
            if reply.type == 0xFF:
                error = ErrorReply.decode(reply.payload)
                assert error.code == want, (k, event, error, want)
                assert error.message
                tally["errors"] += 1
                tally["bad_crc"] += error.code == ErrorCode.BAD_CRC
            else:
                assert reply.payload == want, (k, event, reply)
    return tally


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agent_fuzz(fuzz_driver, seed):
    start = time.monotonic()
    cases = _make_cases(seed, 8000)
    records = _run_driver(fuzz_driver, cases)
    tally = _check(records, cases)
    # The mix must really exercise every path.
    assert tally["requests"] > 6000 and tally["errors"] > 3000 and tally["bad_crc"] > 1000, tally
    assert tally["replayed"] > 30, tally
    assert time.monotonic() - start < 30
    print(f"seed {seed}: {tally} in {time.monotonic() - start:.1f} s")


def test_agent_every_error_code(fuzz_driver):
    seq = iter(range(1, 256))

    def f(t, payload=b""):
        return encode_frame(t, next(seq), payload)

    cases = [
        f(Command.GET_OUTPUT, struct.pack("<BIH", 0, 0, 1)),  # NOT_READY before any INVOKE
        f(Command.PROFILE, struct.pack("<H", 0)),  # NOT_READY
        f(Command.HELLO, b"x"),  # BAD_LENGTH
        f(0x42),  # UNKNOWN_COMMAND
        f(Command.SET_INPUT, struct.pack("<BI", 9, 0) + b"z"),  # BAD_INDEX
        f(Command.SET_INPUT, struct.pack("<BI", 1, 14) + b"z"),  # OUT_OF_RANGE
        f(Command.GET_OUTPUT, struct.pack("<BIH", 0, 0, 1020)),  # TOO_LARGE
        f(Command.HELLO)[:-1] + b"\x00",  # BAD_CRC
        f(Command.INVOKE),
        f(Command.GET_OUTPUT, struct.pack("<BIH", 1, 0, 12)),
    ]
    records = _run_driver(fuzz_driver, cases)
    codes = []
    for record in records[1:-2]:
        (reply,) = FrameParser().feed(record)
        assert reply.type == 0xFF
        codes.append(ErrorReply.decode(reply.payload).code)
    assert codes == [7, 7, 2, 3, 4, 5, 6, 1]
    (out,) = FrameParser().feed(records[-1])
    assert out.type == 0x84 and out.payload == struct.pack("<BI3I", 1, 0, 0, 1, 2)


def test_frame_layer_warning_clean_pedantic(tmp_path):
    """The frame layer and the agent build clean as strict C99 (no extensions)."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) on this machine")
    for name in ("mcugen_board.h", "mcugen_frame.h", "mcugen_frame.c", "mcugen_agent.h", "mcugen_agent.c"):
        shutil.copy(AGENT_DIR / name, tmp_path / name)
    (tmp_path / "mcugen_board_config.h").write_text(STUB_CONFIG)
    (tmp_path / "mcugen_model.h").write_text(STUB_MODEL_H)
    for src in ("mcugen_frame.c", "mcugen_agent.c"):
        proc = subprocess.run(["cc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wshadow",
                               "-Wconversion", "-O2", "-c", "-I", str(tmp_path), str(tmp_path / src), "-o",
                               str(tmp_path / (src + ".o"))], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
