"""The benchmark agent's wire protocol, version 2, host side (docs/protocol.md).

Frames, the streaming parser (the same resynchronisation rules as the device's
mcugen_frame.c), typed payloads and the errors of talking to an agent. No I/O
here: mcugen.agent_client drives a serial port with these.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import astuple, dataclass, field
from typing import ClassVar

from .errors import McugenError

PROTOCOL_VERSION = 2
SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 1024
HEADER_BYTES = 6
OVERHEAD = 10
MAX_FRAME_BYTES = MAX_PAYLOAD + OVERHEAD
MAX_CHUNK = MAX_PAYLOAD - 5  # data bytes in one SET_INPUT request or GET_OUTPUT reply
PROFILE_MAX_PER_REPLY = 120
REPLY_BIT = 0x80
MAX_STRING = 63  # the agent cuts HELLO strings to this many bytes
# Zero bytes the host sends after every request: they complete a frame that lost up to
# this many bytes on the way, so the device answers BAD_CRC at once instead of waiting.
REQUEST_TAIL = bytes(4)


class Command(enum.IntEnum):
    HELLO = 0x01
    SET_INPUT = 0x02
    INVOKE = 0x03
    GET_OUTPUT = 0x04
    PROFILE = 0x05
    # Application commands (docs/protocol.md, "Application commands")
    FRAME = 0x10       # a camera frame from the host, in chunks (host-fed camera)
    GET_RESULT = 0x11  # the last classification result again
    CAPTURE = 0x12     # take a camera frame and describe it
    GET_FRAME = 0x13   # bytes of the captured frame
    RESULT = 0x7D  # device -> host only, unasked, on the wire as 0xFD
    BOOT = 0x7E  # device -> host only, on the wire as 0xFE
    ERROR = 0x7F  # reply only, on the wire as 0xFF


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_COMMAND = 3
    BAD_INDEX = 4
    OUT_OF_RANGE = 5
    TOO_LARGE = 6
    NOT_READY = 7
    DEVICE = 8


class CounterKind(enum.IntEnum):
    CYCLES = 0
    INSTRUCTIONS = 1


class DType(enum.IntEnum):
    INT8 = 1
    UINT8 = 2
    INT16 = 3
    INT32 = 4
    FLOAT32 = 5

    @property
    def numpy_name(self) -> str:
        return self.name.lower()


# ---- errors ----


class AgentError(McugenError):
    """Talking to the benchmark agent on the board failed."""

    exit_code = 3  # the board or the link failed: distinct from bad input for scripts


class PortError(AgentError):
    """The serial port (or the socket standing for it) failed or closed."""


class NoReplyError(AgentError):
    """A request got no usable reply within the allowed tries."""


class BadReplyError(AgentError):
    """A reply passed its CRC but its payload is not what the protocol says."""


class ProtocolVersionError(AgentError):
    """The agent speaks another protocol version."""


class AgentErrorReply(AgentError):
    """The agent answered a request with ERROR."""

    def __init__(self, message: str, hint: str | None = None, code: int = 0, detail: str = ""):
        super().__init__(message, hint)
        self.code = code
        self.detail = detail


class BoardResetError(AgentError):
    """The board reset during a request sequence (and, in run_inference, kept resetting)."""


class ModelMismatchError(AgentError):
    """The firmware on the board was generated from another model."""

    exit_code = 2  # wrong input (model and firmware disagree), not a failing link


# ---- frames ----


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


_DEVICE_FRAMES = (Command.RESULT, Command.BOOT, Command.ERROR)


def wire_type(command: int, reply: bool = False) -> int:
    """The type byte on the wire: device frames (replies, BOOT, ERROR) have bit 7 set."""
    return (command | REPLY_BIT) if reply or command in _DEVICE_FRAMES else command


def frame_name(type_byte: int) -> str:
    base = type_byte & 0x7F
    try:
        name = Command(base).name
    except ValueError:
        name = f"type 0x{type_byte:02X}"
        return name
    if type_byte & REPLY_BIT and base not in _DEVICE_FRAMES:
        return f"{name} reply"
    return name


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""

    @property
    def name(self) -> str:
        return frame_name(self.type)

    def encode(self) -> bytes:
        return encode_frame(self.type, self.seq, self.payload)


@dataclass(frozen=True)
class CrcError:
    """A complete frame whose CRC did not match, or a header whose length cannot be
    a frame's: its header fields are untrusted."""

    type: int
    seq: int
    length: int

    @property
    def name(self) -> str:
        return frame_name(self.type)


def encode_frame(type_byte: int, seq: int, payload: bytes = b"") -> bytes:
    if not 0 <= type_byte <= 0xFF or not 0 <= seq <= 0xFF:
        raise ValueError(f"type {type_byte} and seq {seq} must be bytes")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte maximum")
    body = struct.pack("<BBH", type_byte, seq, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<I", crc32(body))


def decode_frame(data: bytes) -> Frame:
    """One whole frame, exactly; raises ValueError otherwise."""
    events = FrameParser().feed(data)
    if len(events) != 1 or not isinstance(events[0], Frame) or len(events[0].payload) + OVERHEAD != len(data):
        raise ValueError("not exactly one frame with a good CRC")
    return events[0]


class FrameParser:
    """Streaming receiver with the device's rules: hunt for A5 5A; a length over
    1024 is not a frame and a CRC mismatch a damaged one: both report CrcError
    and hunt again from the byte after that A5, so a frame hidden in a damaged
    one's bytes is still found. Holds at most one maximal frame."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0  # bytes dropped while hunting: garbage, or what was left of damaged frames

    @property
    def pending(self) -> int:
        """Bytes held: a partial frame (or nothing)."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def flush(self) -> list[Frame | CrcError]:
        """Gives up on the frame held (its missing bytes are not coming): reports it
        as a CrcError and hunts again from the byte after its A5, as the device does
        when the idle fill completes a frame. Returns the events found meanwhile."""
        events: list[Frame | CrcError] = []
        buf = self._buf
        while buf:
            if len(buf) >= HEADER_BYTES:
                events.append(CrcError(buf[2], buf[3], buf[4] | (buf[5] << 8)))
            del buf[:1]
            self._scan(events)
        return events

    def feed(self, data: bytes) -> list[Frame | CrcError]:
        events: list[Frame | CrcError] = []
        buf = self._buf
        for start in range(0, len(data), MAX_FRAME_BYTES):
            # Feeding in frame-sized slices keeps the held bytes bounded, like the device's buffer.
            buf += data[start : start + MAX_FRAME_BYTES]
            self._scan(events)
        return events

    def _scan(self, events: list[Frame | CrcError]) -> None:
        buf = self._buf
        while True:
            at = buf.find(0xA5)
            if at < 0:
                self.discarded += len(buf)
                buf.clear()
                return
            if at:
                self.discarded += at
                del buf[:at]
            if len(buf) < 2:
                return
            if buf[1] != 0x5A:
                self.discarded += 1
                del buf[:1]
                continue
            if len(buf) < HEADER_BYTES:
                return
            length = buf[4] | (buf[5] << 8)
            if length > MAX_PAYLOAD:
                events.append(CrcError(buf[2], buf[3], length))  # a damaged header: say so now
                del buf[:1]
                continue
            total = length + OVERHEAD
            if len(buf) < total:
                return
            body = bytes(buf[2 : HEADER_BYTES + length])
            (received,) = struct.unpack_from("<I", buf, HEADER_BYTES + length)
            if received == crc32(body):
                events.append(Frame(buf[2], buf[3], body[4:]))
                del buf[:total]
            else:
                events.append(CrcError(buf[2], buf[3], length))
                del buf[:1]


# ---- payloads ----


class _Reader:
    def __init__(self, data: bytes, what: str):
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BadReplyError(f"{self.what} payload of {len(self.data)} bytes is too short",
                                "are the firmware and mcugen the same version?")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def string(self) -> str:
        (n,) = self.unpack("B")
        return self.take(n).decode("utf-8", errors="replace")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise BadReplyError(f"{self.what} payload has {len(self.data) - self.pos} bytes too many",
                                "are the firmware and mcugen the same version?")


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")[:255]
    return bytes([len(raw)]) + raw


class _FixedLayout:
    """A payload of fixed-size fields only: one struct layout encodes and decodes it."""

    LAYOUT: ClassVar[str]
    WHAT: ClassVar[str]

    def encode(self) -> bytes:
        return struct.pack("<" + self.LAYOUT, *astuple(self))  # type: ignore[call-overload]

    @classmethod
    def decode(cls, payload: bytes):  # type: ignore[no-untyped-def]
        r = _Reader(payload, cls.WHAT)
        out = cls(*r.unpack(cls.LAYOUT))
        r.end()
        return out


@dataclass(frozen=True)
class TensorInfo:
    dtype: int
    shape: tuple[int, ...]
    nbytes: int
    scale: float
    zero_point: int

    def encode(self) -> bytes:
        return (struct.pack("<BB", self.dtype, len(self.shape)) + struct.pack(f"<{len(self.shape)}i", *self.shape)
                + struct.pack("<Ifi", self.nbytes, self.scale, self.zero_point))

    @classmethod
    def read(cls, r: _Reader) -> "TensorInfo":
        dtype, rank = r.unpack("BB")
        shape = r.unpack(f"{rank}i")
        nbytes, scale, zero_point = r.unpack("Ifi")
        return cls(dtype, tuple(shape), nbytes, scale, zero_point)

    @property
    def dtype_name(self) -> str:
        try:
            return DType(self.dtype).numpy_name
        except ValueError:
            return f"dtype {self.dtype}"


@dataclass(frozen=True)
class Hello:
    """HELLO's reply and BOOT's payload: what firmware the board runs."""

    version: int
    counter_kind: int
    clock_hz: int
    frames: int
    board_id: str
    build_id: str
    model_sha256: bytes
    arena_bytes: int
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    # Last as a field (callers build Hello by position), on the wire right after frames.
    invokes: int = 0

    @property
    def board(self) -> str:
        return self.board_id

    @property
    def model_sha256_hex(self) -> str:
        return self.model_sha256.hex()

    @property
    def counter_name(self) -> str:
        try:
            return CounterKind(self.counter_kind).name.lower()
        except ValueError:
            return f"counter kind {self.counter_kind}"

    def encode(self) -> bytes:
        if len(self.model_sha256) != 32:
            raise ValueError("model_sha256 must be 32 bytes")
        out = struct.pack("<BBIII", self.version, self.counter_kind, self.clock_hz, self.frames, self.invokes)
        out += _string(self.board_id) + _string(self.build_id) + self.model_sha256
        out += struct.pack("<IBB", self.arena_bytes, len(self.inputs), len(self.outputs))
        return out + b"".join(t.encode() for t in (*self.inputs, *self.outputs))

    @classmethod
    def decode(cls, payload: bytes) -> "Hello":
        r = _Reader(payload, "HELLO")
        version, = r.unpack("B")
        if version != PROTOCOL_VERSION:
            raise ProtocolVersionError(
                f"the agent speaks protocol version {version}, this mcugen speaks {PROTOCOL_VERSION}",
                "regenerate and rebuild the firmware with this mcugen")
        counter_kind, clock_hz, frames, invokes = r.unpack("BIII")
        board_id, build_id = r.string(), r.string()
        sha = r.take(32)
        arena_bytes, n_in, n_out = r.unpack("IBB")
        inputs = tuple(TensorInfo.read(r) for _ in range(n_in))
        outputs = tuple(TensorInfo.read(r) for _ in range(n_out))
        r.end()
        return cls(version, counter_kind, clock_hz, frames, board_id, build_id, sha, arena_bytes, inputs, outputs,
                   invokes)


@dataclass(frozen=True)
class _TensorChunk:
    """u8 tensor index, u32 byte offset, then the bytes themselves."""

    index: int
    offset: int
    data: bytes

    WHAT: ClassVar[str]

    def encode(self) -> bytes:
        return struct.pack("<BI", self.index, self.offset) + self.data

    @classmethod
    def decode(cls, payload: bytes):  # type: ignore[no-untyped-def]
        r = _Reader(payload, cls.WHAT)
        index, offset = r.unpack("BI")
        return cls(index, offset, payload[5:])


@dataclass(frozen=True)
class SetInputRequest(_TensorChunk):
    WHAT: ClassVar[str] = "SET_INPUT"


@dataclass(frozen=True)
class SetInputReply(_FixedLayout):
    index: int
    offset: int
    written: int

    LAYOUT: ClassVar[str] = "BIH"
    WHAT: ClassVar[str] = "SET_INPUT reply"


@dataclass(frozen=True)
class InvokeResult(_FixedLayout):
    """INVOKE's reply: the model's status, the counter delta of the whole
    invocation, the frames the agent handled since boot and the INVOKEs that
    ran the model since boot (this one included; a replayed reply repeats it)."""

    status: int
    count: int
    frames: int
    invokes: int = 0

    LAYOUT: ClassVar[str] = "BQII"
    WHAT: ClassVar[str] = "INVOKE reply"


@dataclass(frozen=True)
class GetOutputRequest(_FixedLayout):
    index: int
    offset: int
    max_bytes: int

    LAYOUT: ClassVar[str] = "BIH"
    WHAT: ClassVar[str] = "GET_OUTPUT"


@dataclass(frozen=True)
class GetOutputReply(_TensorChunk):
    WHAT: ClassVar[str] = "GET_OUTPUT reply"


@dataclass(frozen=True)
class ProfileRequest(_FixedLayout):
    first: int

    LAYOUT: ClassVar[str] = "H"
    WHAT: ClassVar[str] = "PROFILE"


@dataclass(frozen=True)
class ProfileReply:
    layer_count: int
    first: int
    counts: tuple[int, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        return struct.pack(f"<HHB{len(self.counts)}Q", self.layer_count, self.first, len(self.counts), *self.counts)

    @classmethod
    def decode(cls, payload: bytes) -> "ProfileReply":
        r = _Reader(payload, "PROFILE reply")
        layer_count, first, n = r.unpack("HHB")
        counts = r.unpack(f"{n}Q")
        r.end()
        return cls(layer_count, first, tuple(counts))


@dataclass(frozen=True)
class ErrorReply:
    code: int
    message: str

    def encode(self) -> bytes:
        return bytes([self.code]) + _string(self.message)

    @classmethod
    def decode(cls, payload: bytes) -> "ErrorReply":
        r = _Reader(payload, "ERROR")
        (code,) = r.unpack("B")
        message = r.string()
        r.end()
        return cls(code, message)

    @property
    def code_name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"code {self.code}"
