"""Host side of the benchmark agent: requests, retries and reset detection
over a pyserial port (docs/protocol.md, "Host behaviour").

    port = serial.serial_for_url("socket://127.0.0.1:4321", baudrate=115200)
    client = AgentClient(port, model_sha256=hashlib.sha256(model_bytes).hexdigest())
    result = client.run_inference([input_bytes])   # InferenceResult(outputs, count)

Every failure ends in an mcugen.protocol.AgentError (a McugenError) that says
what failed and what to check.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Callable

from .protocol import (
    MAX_CHUNK,
    MAX_FRAME_BYTES,
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
    SetInputReply,
    SetInputRequest,
    encode_frame,
    frame_name,
    wire_type,
)

_BOOT = wire_type(Command.BOOT)
_ERROR = wire_type(Command.ERROR)
_RESULT = wire_type(Command.RESULT)
# Sent before a retry that follows a timeout: completes any frame whose corrupted
# length field left the device waiting for bytes, so the retry meets a hunting receiver.
_IDLE_FILL = bytes(MAX_FRAME_BYTES)
_POLL_S = 0.05


@dataclass(frozen=True)
class TraceEvent:
    """One frame on the link, for the trace callback: str() gives a log line."""

    direction: str  # "->" sent, "<-" received
    name: str  # "SET_INPUT", "SET_INPUT reply", "BOOT", "ERROR", "bad CRC", ...
    seq: int
    length: int
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.direction} {self.name} seq={self.seq} len={self.length}"
        return f"{text} ({self.note})" if self.note else text


@dataclass
class InferenceResult:
    outputs: list[bytes]
    count: int  # counter delta of the whole invocation (cycles or instructions, see Hello.counter_kind)
    frames: int = 0  # the agent's frame counter in the INVOKE reply
    resets: int = 0  # board resets detected (and recovered from) during this inference


class _Reset(BoardResetError):
    """A BOOT frame, or a frame counter that went back: the board reset, and
    the inputs it had and the outputs it computed are gone. run_inference
    recovers from it; called alone, set_input/invoke/get_output raise it."""

    def __init__(self, what: str, port: str):
        super().__init__(f"the board on {port} reset ({what})",
                         "redo the inference from HELLO; if it keeps resetting, check its power supply, "
                         "reset line and watchdog")


@dataclass
class _Stats:
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    crc_errors: int = 0
    bad_crc_replies: int = 0
    stale: int = 0
    boots: int = 0
    resets: int = 0
    extra: dict = field(default_factory=dict)


class AgentClient:
    """Talks to the benchmark agent on ``port`` (an open pyserial port).

    timeout: seconds to wait for a reply; invoke_timeout for INVOKE's (the model
    runs first). retries: how many times a request is sent in all before giving
    up. trace: called with a TraceEvent for each frame sent or received.
    model_sha256: hex SHA-256 of the .tflite being benchmarked; when given,
    hello() refuses firmware built from another model. max_resets: board resets
    run_inference recovers from per inference. chunk_bytes: tensor bytes per
    SET_INPUT/GET_OUTPUT frame (smaller frames survive a noisy link better).
    """

    def __init__(self, port, timeout: float = 2.0, retries: int = 3, trace: Callable[[TraceEvent], None] | None = None,
                 *, invoke_timeout: float = 60.0, model_sha256: str | None = None, max_resets: int = 3,
                 chunk_bytes: int = MAX_CHUNK):
        self.port = port
        self.timeout = float(timeout)
        self.invoke_timeout = max(float(invoke_timeout), self.timeout)
        self.retries = max(1, int(retries))
        self.trace = trace
        self.model_sha256 = model_sha256.lower() if model_sha256 else None
        self.max_resets = max(0, int(max_resets))
        self.chunk_bytes = min(MAX_CHUNK, max(1, int(chunk_bytes)))
        self.info: Hello | None = None  # the last HELLO reply (or BOOT)
        self.results: collections.deque[Frame] = collections.deque()  # RESULT frames the app sent unasked
        self._parser = FrameParser()
        self._events: collections.deque[Frame | CrcError] = collections.deque()
        self._seq = 0
        self._last_frames = 0  # frame counter of the last HELLO or INVOKE reply
        self._stats = _Stats()
        try:
            port.timeout = _POLL_S
        except Exception:  # noqa: BLE001 - a port that cannot change its timeout is still usable
            pass

    # ---- public API ----

    @property
    def stats(self) -> dict[str, int]:
        """Link health counters: retries, timeouts, CRC errors, stale replies, resets."""
        s = self._stats
        return {"requests": s.requests, "retries": s.retries, "timeouts": s.timeouts, "crc_errors": s.crc_errors,
                "bad_crc_replies": s.bad_crc_replies, "stale_replies": s.stale, "boot_frames": s.boots,
                "resets": s.resets}

    def hello(self) -> Hello:
        """Asks the board what it runs; checks the model hash when one was given."""
        frame = self._request(Command.HELLO, b"")
        hello = Hello.decode(frame.payload)
        self.info = hello
        self._last_frames = hello.frames
        self._check_model(hello)
        return hello

    def request(self, command: Command, payload: bytes = b"", timeout: float | None = None) -> Frame:
        """One application request (docs/protocol.md, "Application commands") with the
        same retries as the benchmark's; returns the reply frame."""
        return self._request(command, payload, timeout)

    def wait_result(self, timeout: float) -> Frame | None:
        """The next RESULT frame the application sends unasked, or None after timeout s."""
        deadline = time.monotonic() + timeout
        while not self.results:
            event = self._read_event(deadline)
            if event is None:
                return None
            if isinstance(event, Frame) and event.type == _RESULT:
                self.results.append(event)
            elif isinstance(event, Frame) and event.type == _BOOT:
                self._stats.boots += 1
                raise _Reset("BOOT frame while waiting for a result", self._port_name())
        return self.results.popleft()

    def set_input(self, index: int, data: bytes) -> int:
        """Writes one input in acknowledged chunks; returns the number of chunks."""
        data = bytes(data)
        if not data:
            raise AgentError(f"input {index} is empty", "pass the input tensor's bytes")
        chunks = 0
        for offset in range(0, len(data), self.chunk_bytes):
            chunk = data[offset : offset + self.chunk_bytes]
            frame = self._call(Command.SET_INPUT, SetInputRequest(index, offset, chunk).encode())
            reply = SetInputReply.decode(frame.payload)
            if (reply.index, reply.offset, reply.written) != (index, offset, len(chunk)):
                raise BadReplyError(f"SET_INPUT reply acknowledges input {reply.index} at {reply.offset} "
                                    f"({reply.written} bytes), not input {index} at {offset} ({len(chunk)} bytes)")
            chunks += 1
        return chunks

    def invoke(self) -> tuple[int, int]:
        """Runs the model once; returns (count, frames handled since boot)."""
        result = self._invoke()
        return result.count, result.frames

    def get_output(self, index: int, nbytes: int | None = None) -> bytes:
        """Reads one output whole (its size from the last HELLO unless given)."""
        if nbytes is None:
            info = self.info or self.hello()
            if not 0 <= index < len(info.outputs):
                raise AgentError(f"the model has {len(info.outputs)} outputs, there is no output {index}")
            nbytes = info.outputs[index].nbytes
        out = bytearray()
        while len(out) < nbytes:
            want = min(self.chunk_bytes, nbytes - len(out))
            frame = self._call(Command.GET_OUTPUT, GetOutputRequest(index, len(out), want).encode())
            reply = GetOutputReply.decode(frame.payload)
            if (reply.index, reply.offset, len(reply.data)) != (index, len(out), want):
                raise BadReplyError(f"GET_OUTPUT reply carries output {reply.index} at {reply.offset} "
                                    f"({len(reply.data)} bytes), not output {index} at {len(out)} ({want} bytes)")
            out += reply.data
        return bytes(out)

    def profile(self) -> list[int]:
        """Per-layer counts of the last INVOKE, in execution order."""
        counts: list[int] = []
        while True:
            frame = self._call(Command.PROFILE, ProfileRequest(len(counts)).encode())
            reply = ProfileReply.decode(frame.payload)
            if reply.first != len(counts):
                raise BadReplyError(f"PROFILE reply starts at layer {reply.first}, asked for {len(counts)}")
            counts.extend(reply.counts)
            if len(counts) >= reply.layer_count:
                return counts[: reply.layer_count]
            if not reply.counts:
                raise BadReplyError(f"PROFILE reply has no counts at layer {len(counts)} of {reply.layer_count}")

    def run_inference(self, inputs: list[bytes]) -> InferenceResult:
        """SET_INPUT every input, INVOKE, GET_OUTPUT every output, with the doc's
        reset detection: a BOOT frame, a frame counter that went back or a
        NOT_READY answer redoes the inference from HELLO, at most max_resets times."""
        resets = 0
        need_hello = self.info is None
        while True:
            try:
                if need_hello:
                    self.hello()
                    need_hello = False
                info = self.info
                assert info is not None
                self._check_inputs(info, inputs)
                base = self._last_frames
                acked = 0
                for i, data in enumerate(inputs):
                    acked += self.set_input(i, data)
                result = self._invoke()
                if result.frames <= base + acked:
                    # The counter went back: the board reset since the last HELLO or INVOKE.
                    raise _Reset(f"INVOKE reply counts {result.frames} frames since boot, "
                                 f"at least {base + acked + 1} were due", self._port_name())
                if result.status != 0:
                    raise AgentError(f"the model returned status {result.status} on the board",
                                     "check the firmware's console output")
                outputs = [self.get_output(i, t.nbytes) for i, t in enumerate(info.outputs)]
                return InferenceResult(outputs, result.count, result.frames, resets)
            except (_Reset, _NotReady):
                resets += 1
                self._stats.resets += 1
                need_hello = True
                if resets > self.max_resets:
                    raise BoardResetError(
                        f"the board on {self._port_name()} reset {resets} times during one inference",
                        "check its power supply, reset line and watchdog") from None
                self._trace("--", "reset detected", 0, 0, "redo from HELLO")

    # ---- internals ----

    def _check_model(self, hello: Hello) -> None:
        if self.model_sha256 and hello.model_sha256.hex() != self.model_sha256:
            raise ModelMismatchError(
                f"the board on {self._port_name()} runs firmware for another model (its SHA-256 "
                f"{hello.model_sha256.hex()[:12]}..., this model is {self.model_sha256[:12]}...)",
                "generate, build and flash the firmware for this model first")

    @staticmethod
    def _check_inputs(info: Hello, inputs: list[bytes]) -> None:
        if len(inputs) != len(info.inputs):
            raise AgentError(f"the model on the board has {len(info.inputs)} inputs, {len(inputs)} were given")
        for i, (t, data) in enumerate(zip(info.inputs, inputs)):
            if len(data) != t.nbytes:
                raise AgentError(f"input {i} is {len(data)} bytes, the model's {t.dtype_name} "
                                 f"{list(t.shape)} input takes {t.nbytes}")

    def _invoke(self) -> InvokeResult:
        frame = self._call(Command.INVOKE, b"", self.invoke_timeout)
        result = InvokeResult.decode(frame.payload)
        self._last_frames = result.frames
        return result

    def _call(self, command: Command, payload: bytes, timeout: float | None = None) -> Frame:
        """A request outside HELLO: a BOOT while waiting is a reset, and NOT_READY
        means the board forgot an INVOKE (in run_inference: a reset)."""
        try:
            return self._request(command, payload, timeout)
        except AgentErrorReply as exc:
            if exc.code == ErrorCode.NOT_READY and command in (Command.GET_OUTPUT, Command.PROFILE):
                raise _NotReady(exc.message, exc.hint, exc.code, exc.detail) from None
            raise

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _port_name(self) -> str:
        return str(getattr(self.port, "port", None) or getattr(self.port, "name", None) or "the serial port")

    def _link_hint(self) -> str:
        name = self._port_name()
        if name.startswith("socket://") or name.startswith("rfc2217://"):
            return "is the firmware running and its emulator's serial port connected?"
        baud = getattr(self.port, "baudrate", None)
        return f"is the firmware running? is the baud rate {baud}?" if baud else "is the firmware running?"

    def _trace(self, direction: str, name: str, seq: int, length: int, note: str = "") -> None:
        if self.trace is not None:
            self.trace(TraceEvent(direction, name, seq, length, note))

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException and OSError subclasses
            raise PortError(f"writing to {self._port_name()} failed: {exc}",
                            "is the board still connected (or the emulator still running)?") from None

    def _read_event(self, deadline: float) -> Frame | CrcError | None:
        while not self._events:
            if time.monotonic() >= deadline:
                return None
            try:
                waiting = self.port.in_waiting
                data = self.port.read(max(1, min(waiting, 4096)))
            except Exception as exc:  # noqa: BLE001
                raise PortError(f"reading from {self._port_name()} failed: {exc}",
                                "is the board still connected (or the emulator still running)?") from None
            if data:
                self._events.extend(self._parser.feed(data))
        return self._events.popleft()

    def _request(self, command: Command, payload: bytes, timeout: float | None = None) -> Frame:
        """Sends one request and returns its reply frame, retrying a timeout, a
        CRC failure or ERROR BAD_CRC up to self.retries sends in all. Raises
        _Reset on a BOOT frame (HELLO waits on instead)."""
        seq = self._next_seq()
        request = encode_frame(int(command), seq, payload)
        wait = self.timeout if timeout is None else timeout
        name = Command(command).name
        want = wire_type(command, reply=True)
        failures: list[str] = []
        self._stats.requests += 1
        timed_out = False
        for attempt in range(self.retries):
            if attempt:
                self._stats.retries += 1
            if timed_out:
                self._write(_IDLE_FILL)
                self._trace("->", "idle fill", 0, len(_IDLE_FILL), "zero bytes before a retry")
            self._write(request)
            self._trace("->", name, seq, len(payload), f"try {attempt + 1}" if attempt else "")
            deadline = time.monotonic() + wait
            timed_out = False
            while True:
                event = self._read_event(deadline)
                if event is None:
                    self._stats.timeouts += 1
                    failures.append("timeout")
                    timed_out = True
                    break
                if isinstance(event, CrcError):
                    self._stats.crc_errors += 1
                    self._trace("<-", "bad CRC", event.seq, event.length, f"claims {event.name}")
                    failures.append("reply failed its CRC")
                    break
                if event.type == _RESULT:
                    self.results.append(event)
                    self._trace("<-", "RESULT", event.seq, len(event.payload))
                    continue
                if event.type == _BOOT:
                    self._stats.boots += 1
                    self._trace("<-", "BOOT", event.seq, len(event.payload))
                    if command == Command.HELLO:
                        continue  # the board (re)started: our HELLO may still be answered, else retried
                    raise _Reset(f"BOOT frame while waiting for the {name} reply", self._port_name())
                if event.seq != seq:
                    self._stats.stale += 1
                    self._trace("<-", event.name, event.seq, len(event.payload), "stale, skipped")
                    continue
                if event.type == _ERROR:
                    error = ErrorReply.decode(event.payload)
                    self._trace("<-", "ERROR", event.seq, len(event.payload), f"{error.code_name}: {error.message}")
                    if error.code == ErrorCode.BAD_CRC:
                        self._stats.bad_crc_replies += 1
                        failures.append("the board got the request with a bad CRC")
                        break
                    raise AgentErrorReply(
                        f"the board refused {name} with {error.code_name}: {error.message}",
                        _ERROR_HINTS.get(error.code, "are the firmware and mcugen the same version?"),
                        error.code, error.message)
                if event.type != want:
                    self._stats.stale += 1
                    self._trace("<-", event.name, event.seq, len(event.payload), f"not a {name} reply, skipped")
                    continue
                self._trace("<-", event.name, event.seq, len(event.payload))
                return event
        what = ", ".join(f"{failures.count(f)} x {f}" for f in dict.fromkeys(failures))
        if all(f == "timeout" for f in failures):
            raise NoReplyError(f"no reply to {name} from the board on {self._port_name()} after {self.retries} tries",
                               self._link_hint())
        raise NoReplyError(f"no good reply to {name} from the board on {self._port_name()} after {self.retries} "
                           f"tries ({what})", "the link is corrupting bytes: check the cable, baud rate and ground")


class _NotReady(AgentErrorReply):
    """Internal: GET_OUTPUT/PROFILE answered NOT_READY (the board forgot its INVOKE)."""


_ERROR_HINTS = {
    ErrorCode.BAD_LENGTH: "are the firmware and mcugen the same version?",
    ErrorCode.UNKNOWN_COMMAND: "are the firmware and mcugen the same version?",
    ErrorCode.BAD_INDEX: "the firmware was built for a model with other inputs or outputs: rebuild it",
    ErrorCode.OUT_OF_RANGE: "the firmware was built for a model with other tensor sizes: rebuild it",
    ErrorCode.TOO_LARGE: "are the firmware and mcugen the same version?",
    ErrorCode.NOT_READY: "INVOKE first (or the board reset since the last INVOKE)",
}

__all__ = ["AgentClient", "InferenceResult", "TraceEvent", "frame_name"]
