"""The wire protocol's Python side: frames, the resynchronising parser, payloads, errors."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from mcugen.errors import McugenError
from mcugen.protocol import (
    MAX_CHUNK,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD,
    REQUEST_TAIL,
    AgentError,
    AgentErrorReply,
    BadReplyError,
    BoardResetError,
    Command,
    CrcError,
    ErrorCode,
    ErrorReply,
    Frame,
    FrameParser,
    GetOutputReply,
    GetOutputRequest,
    Hello,
    InvokeResult,
    ModelMismatchError,
    NoReplyError,
    PortError,
    ProfileReply,
    ProfileRequest,
    ProtocolVersionError,
    SetInputReply,
    SetInputRequest,
    TensorInfo,
    crc32,
    decode_frame,
    encode_frame,
    frame_name,
    wire_type,
)

F32_1_255 = struct.unpack("<f", struct.pack("<f", 1 / 255))[0]  # scales travel as float32
HELLO = Hello(2, 0, 64_000_000, 17, "qemu-cm7", "mcugen 0.1.0 deadbeef", bytes(range(32)), 12345,
              (TensorInfo(1, (1, 32, 32, 3), 3072, F32_1_255, -128),),
              (TensorInfo(1, (1, 4), 4, 0.00390625, -128), TensorInfo(5, (), 4, 0.0, 0)), invokes=9)


def test_crc_is_zlib_crc32():
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32(b"") == 0


def test_frame_layout():
    frame = encode_frame(Command.SET_INPUT, 9, b"\x01\x02\x03")
    body = bytes([0x02, 9, 3, 0, 1, 2, 3])
    assert frame == b"\xa5\x5a" + body + struct.pack("<I", zlib.crc32(body))
    assert decode_frame(frame) == Frame(0x02, 9, b"\x01\x02\x03")
    assert len(encode_frame(1, 0, bytes(MAX_PAYLOAD))) == MAX_FRAME_BYTES
    with pytest.raises(ValueError):
        encode_frame(1, 0, bytes(MAX_PAYLOAD + 1))


def test_wire_types_and_names():
    assert wire_type(Command.HELLO) == 0x01 and wire_type(Command.HELLO, reply=True) == 0x81
    assert wire_type(Command.BOOT) == 0xFE and wire_type(Command.ERROR) == 0xFF
    assert frame_name(0x83) == "INVOKE reply" and frame_name(0x03) == "INVOKE"
    assert frame_name(0xFE) == "BOOT" and frame_name(0xFF) == "ERROR" and "0x42" in frame_name(0x42)


@pytest.mark.parametrize("payload", [
    HELLO,
    SetInputRequest(1, 1019 * 3, bytes(range(200))),
    SetInputReply(0, 4096, 1019),
    InvokeResult(0, 2**40 + 5, 123456, 77),
    GetOutputRequest(2, 70000, 1019),
    GetOutputReply(0, 1019, b"\xff\x00\x80"),
    ProfileRequest(120),
    ProfileReply(130, 120, tuple(range(10))),
    ErrorReply(ErrorCode.OUT_OF_RANGE, "past the input"),
], ids=lambda p: type(p).__name__)
def test_payload_round_trip(payload):
    raw = payload.encode()
    assert type(payload).decode(raw) == payload
    frame = decode_frame(encode_frame(0x81, 3, raw))
    assert type(payload).decode(frame.payload) == payload


def test_hello_fields():
    h = Hello.decode(HELLO.encode())
    assert h.board == "qemu-cm7" and h.model_sha256_hex == bytes(range(32)).hex()
    assert h.counter_name == "cycles" and h.inputs[0].dtype_name == "int8" and h.outputs[1].shape == ()
    assert h.inputs[0].scale == pytest.approx(1 / 255)
    assert (h.frames, h.invokes) == (17, 9) and HELLO.encode()[6:14] == struct.pack("<II", 17, 9)


def test_bad_payloads_raise_clear_errors():
    raw = HELLO.encode()
    with pytest.raises(BadReplyError, match="too short"):
        Hello.decode(raw[:-1])
    with pytest.raises(BadReplyError, match="too many"):
        Hello.decode(raw + b"\x00")
    with pytest.raises(ProtocolVersionError, match="version 1, this mcugen speaks 2"):
        Hello.decode(b"\x01" + raw[1:])
    with pytest.raises(BadReplyError):
        InvokeResult.decode(b"\x00" * 12)
    with pytest.raises(BadReplyError):
        ProfileReply.decode(struct.pack("<HHB", 10, 0, 3) + bytes(16))


def test_exception_tree():
    for cls in (PortError, NoReplyError, BadReplyError, ProtocolVersionError, AgentErrorReply, BoardResetError,
                ModelMismatchError):
        assert issubclass(cls, AgentError) and issubclass(cls, McugenError)
    e = NoReplyError("no reply to HELLO", "is the firmware running?")
    assert e.one_line() == "no reply to HELLO (is the firmware running?)"


def _stream(rng: random.Random, n: int) -> tuple[bytes, list[Frame]]:
    out, frames = bytearray(), []
    for _ in range(n):
        out += bytes(rng.choice([0x00, 0xA5, 0x5A, rng.getrandbits(8)]) for _ in range(rng.randint(0, 12)))
        f = Frame(rng.choice([1, 2, 3, 0x81, 0xFE]), rng.getrandbits(8),
                  bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 7, 300, 1024]))))
        out += f.encode()
        frames.append(f)
    return bytes(out), frames


def test_parser_bytewise_equals_bulk_and_survives_garbage():
    rng = random.Random(5)
    data, frames = _stream(rng, 60)
    bulk = FrameParser().feed(data)
    p = FrameParser()
    bytewise = [e for b in data for e in p.feed(bytes([b]))]
    assert bulk == bytewise
    good = [e for e in bulk if isinstance(e, Frame)]
    # Garbage between frames can cost at most the frame it runs into, never the ones after.
    assert good[-1] == frames[-1]
    assert len(good) >= len(frames) - sum(isinstance(e, CrcError) for e in bulk)


def test_resync_after_truncated_frame():
    """A frame cut short swallows the start of the next; the receiver then hunts again
    from the byte after the cut frame's A5 and finds the next frame whole."""
    first = encode_frame(Command.SET_INPUT, 1, bytes(500))
    second = encode_frame(Command.HELLO, 2)
    third = encode_frame(Command.INVOKE, 3)
    events = FrameParser().feed(first[:40] + second + third + bytes(MAX_FRAME_BYTES))
    assert isinstance(events[0], CrcError) and events[0].seq == 1
    assert Frame(Command.HELLO, 2) in events and Frame(Command.INVOKE, 3) in events


def test_huge_length_is_not_a_frame():
    """Reported as damaged at once (nobody waits for it), and hunting goes on after its A5."""
    bogus = b"\xa5\x5a\x01\x07" + struct.pack("<H", 1025) + b"\x00" * 8
    good = encode_frame(Command.HELLO, 8)
    p = FrameParser()
    assert p.feed(bogus + good) == [CrcError(1, 7, 1025), Frame(Command.HELLO, 8)]
    assert p.pending == 0


def test_crc_rejection_never_yields_a_damaged_frame():
    frame = encode_frame(Command.SET_INPUT, 77, b"\x00\x10\x00\x00\x00" + bytes(range(40)))
    original = decode_frame(frame)
    for i in range(len(frame) * 8):
        damaged = bytearray(frame)
        damaged[i // 8] ^= 1 << (i % 8)
        events = FrameParser().feed(bytes(damaged) + bytes(MAX_FRAME_BYTES))
        assert all(isinstance(e, CrcError) or e != original for e in events)
        assert not any(isinstance(e, Frame) for e in events), (i, events)
        if 2 <= i // 8 < len(frame) and i // 8 not in (4, 5):
            assert any(isinstance(e, CrcError) for e in events), i  # a bit in type/seq/payload/CRC


def test_parser_buffer_stays_bounded():
    p = FrameParser()
    rng = random.Random(1)
    for _ in range(200):
        p.feed(bytes(rng.choice([0xA5, 0x5A, 0x04, 0x00]) for _ in range(997)))
        assert p.pending <= 2 * MAX_FRAME_BYTES
    p.feed(bytes(MAX_FRAME_BYTES))
    assert p.pending < MAX_FRAME_BYTES


def test_chunk_size_fills_a_frame():
    assert len(SetInputRequest(0, 0, bytes(MAX_CHUNK)).encode()) == MAX_PAYLOAD
    assert len(GetOutputReply(0, 0, bytes(MAX_CHUNK)).encode()) == MAX_PAYLOAD
    assert len(ProfileReply(500, 0, tuple(range(120))).encode()) <= MAX_PAYLOAD


def test_zero_length_frame():
    """A frame with no payload is 10 bytes: header, length 0, the CRC of the header alone."""
    frame = encode_frame(Command.INVOKE, 200)
    assert frame == b"\xa5\x5a\x03\xc8\x00\x00" + struct.pack("<I", zlib.crc32(b"\x03\xc8\x00\x00"))
    assert decode_frame(frame) == Frame(Command.INVOKE, 200, b"")
    # Two back to back, with the host's tail of zeros between them: both found, nothing held.
    p = FrameParser()
    assert p.feed(frame + REQUEST_TAIL + frame) == [Frame(Command.INVOKE, 200)] * 2 and p.pending == 0
    # Byte by byte, the frame completes on its last CRC byte and not before.
    p = FrameParser()
    assert all(p.feed(bytes([b])) == [] for b in frame[:-1]) and p.feed(frame[-1:]) == [Frame(Command.INVOKE, 200)]
    # A length field of 0 on a frame that carried a payload: the CRC fails at the 10th byte.
    damaged = bytearray(encode_frame(Command.SET_INPUT, 4, b"\x00" * 6))
    damaged[4] = 0
    events = FrameParser().feed(bytes(damaged))
    assert isinstance(events[0], CrcError) and (events[0].seq, events[0].length) == (4, 0)
    with pytest.raises(ValueError):
        decode_frame(frame[:-1])


def test_a_dropped_byte_is_completed_by_the_request_tail():
    """What the device sees when one byte of a request is lost: the tail's first zero
    completes the frame at once (BAD_CRC, no wait), and the retry behind it is found."""
    request = encode_frame(Command.SET_INPUT, 7, b"\x00\x00\x00\x00\x00" + bytes(range(1, 41)))
    for lost in range(2, len(request)):
        if lost in (4, 5):
            continue  # a length byte: the frame claims other bytes (the idle fill's case)
        damaged = request[:lost] + request[lost + 1 :]
        events = FrameParser().feed(damaged + REQUEST_TAIL + request + REQUEST_TAIL)
        assert isinstance(events[0], CrcError), (lost, events)
        assert events[0].seq == 7 or lost in (2, 3), (lost, events)  # losing type or seq shifts the header
        assert events[-1] == decode_frame(request), lost


def test_flush_gives_up_a_held_frame_and_finds_what_hides_in_it():
    good = encode_frame(Command.HELLO, 3)
    claims_more = bytearray(encode_frame(Command.PROFILE, 2, b"\x00\x00"))
    claims_more[4] = 200  # now waits for 200 payload bytes that are not coming
    p = FrameParser()
    assert p.feed(bytes(claims_more) + good) == [] and p.pending == len(claims_more) + len(good)
    events = p.flush()
    assert isinstance(events[0], CrcError) and events[0].seq == 2 and events[0].length == 200
    assert events[1:] == [Frame(Command.HELLO, 3)] and p.pending == 0
    p.feed(good[:5])
    assert p.flush() == [] and p.pending == 0  # a header cut short is dropped without an event
