"""Host side of the benchmark agent: requests, retries and reset detection
over a pyserial port (docs/protocol.md, "Host behaviour"). How long to wait and
how often to retry is mcugen.link_policy's to decide.

    port = serial.serial_for_url("socket://127.0.0.1:4321", baudrate=115200)
    client = AgentClient(port, model_sha256=hashlib.sha256(model_bytes).hexdigest())
    result = client.run_inference([input_bytes])   # InferenceResult(outputs, count)

Every failure ends in an mcugen.protocol.AgentError (a McugenError) that says
what failed and what to check.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Callable

from .link_policy import DEADLINE_MARGIN_S, ChunkSize, ReplyDeadline, RetryBudget, retry_pause_s
from .protocol import (
    MAX_CHUNK,
    MAX_FRAME_BYTES,
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
    SetInputReply,
    SetInputRequest,
    encode_frame,
    frame_name,
    wire_type,
)

_BOOT = wire_type(Command.BOOT)
_ERROR = wire_type(Command.ERROR)
_RESULT = wire_type(Command.RESULT)
# Sent before the next request after a timeout: completes any frame whose damaged
# length field left the device waiting for bytes, so the next frame meets a hunting receiver.
_IDLE_FILL = bytes(MAX_FRAME_BYTES)
_POLL_S = 0.01
_LINE_HINT = ("bytes arrive but are damaged: check the cable and its ground, the baud rate, "
              "or try a lower baud rate")


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
class _Abandoned(Exception):
    """Internal: a chunk's request failed and its bytes go again in smaller frames."""


class _DoubleRun(AgentError):
    """Internal: the INVOKE reply counts more model runs than INVOKEs sent (the
    outputs may come from a run over overwritten inputs): the inference is redone."""


@dataclass
class _Stats:
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    crc_errors: int = 0
    bad_crc_replies: int = 0
    late_bad_crc: int = 0
    stale: int = 0
    boots: int = 0
    resets: int = 0
    double_runs: int = 0
    idle_fills: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0


class AgentClient:
    """Talks to the benchmark agent on ``port`` (an open pyserial port).

    timeout: the longest wait for a reply (the client waits less once it has
    measured the link); invoke_timeout the same for INVOKE's (the model runs
    first). retries: sends of a request, all unanswered with nothing arriving at
    all, before the board is declared silent. max_tries: sends of one request
    before the line is declared too damaged; budget: retries allowed in all
    (mcugen.link_policy.RetryBudget). trace: called with a TraceEvent for each
    frame sent or received. model_sha256: hex SHA-256 of the .tflite being
    benchmarked; when given, hello() refuses firmware built from another model.
    max_resets: board resets run_inference recovers from per inference.
    chunk_bytes: the most tensor bytes per SET_INPUT/GET_OUTPUT frame; with
    adaptive_chunks the client halves it down to min_chunk_bytes when frames
    fail and grows it back when they pass. margin_s: added to every learnt wait,
    and how long a reply may pause halfway (link_policy.DEADLINE_MARGIN_S).
    """

    def __init__(self, port, timeout: float = 2.0, retries: int = 3, trace: Callable[[TraceEvent], None] | None = None,
                 *, invoke_timeout: float = 60.0, model_sha256: str | None = None, max_resets: int = 3,
                 chunk_bytes: int = MAX_CHUNK, adaptive_chunks: bool = True, min_chunk_bytes: int = 16,
                 max_tries: int = 16, budget: RetryBudget | None = None, margin_s: float = DEADLINE_MARGIN_S):
        self.port = port
        self.timeout = float(timeout)
        self.invoke_timeout = max(float(invoke_timeout), self.timeout)
        self.retries = max(1, int(retries))
        self.margin_s = float(margin_s)
        self.max_tries = max(self.retries, int(max_tries))
        self.budget = budget or RetryBudget()
        self.trace = trace
        self.model_sha256 = model_sha256.lower() if model_sha256 else None
        self.max_resets = max(0, int(max_resets))
        largest = min(MAX_CHUNK, max(1, int(chunk_bytes)))
        self._chunk = ChunkSize(largest, min_chunk_bytes if adaptive_chunks else largest)
        self.info: Hello | None = None  # the last HELLO reply (or BOOT)
        self.results: collections.deque[Frame] = collections.deque()  # RESULT frames the app sent unasked
        self._parser = FrameParser()
        self._events: collections.deque[Frame | CrcError] = collections.deque()
        self._seq = 0
        self._last_invoke_seq = -1
        self._last_frames = 0  # frame counter of the last HELLO or INVOKE reply
        self._last_invokes: int | None = None  # the board's INVOKE count as of that reply
        self._stats = _Stats()
        self._exchange_deadline = ReplyDeadline(self.timeout, per_byte=True, margin_s=self.margin_s)
        self._deadlines: dict[tuple[int, float], ReplyDeadline] = {}
        self._fill_due = False  # a timeout happened: the device may hold a partial frame
        self._late_negatives = 0  # BAD_CRCs still due for frames sent before the last idle fill
        self._last_rx = time.monotonic()
        try:
            port.timeout = _POLL_S
        except Exception:  # noqa: BLE001 - a port that cannot change its timeout is still usable
            pass

    # ---- public API ----

    @property
    def chunk_bytes(self) -> int:
        """Tensor bytes per SET_INPUT/GET_OUTPUT frame now."""
        return self._chunk.bytes

    @property
    def stats(self) -> dict[str, int]:
        """Link health counters: requests, retries, timeouts, CRC errors, chunk size changes, resets."""
        s, c = self._stats, self._chunk
        return {"requests": s.requests, "retries": s.retries, "timeouts": s.timeouts, "crc_errors": s.crc_errors,
                "bad_crc_replies": s.bad_crc_replies, "late_bad_crc_replies": s.late_bad_crc,
                "stale_replies": s.stale, "idle_fills": s.idle_fills, "boot_frames": s.boots, "resets": s.resets,
                "double_runs": s.double_runs, "chunk_shrinks": c.shrinks, "chunk_grows": c.grows,
                "chunk_bytes": c.bytes, "chunk_bytes_smallest": c.low_water, "bytes_sent": s.bytes_sent,
                "bytes_received": s.bytes_received}

    def hello(self) -> Hello:
        """Asks the board what it runs; checks the model hash when one was given."""
        frame = self._request(Command.HELLO, b"")
        hello = Hello.decode(frame.payload)
        self.info = hello
        self._last_frames = hello.frames
        self._last_invokes = hello.invokes
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
        chunks = offset = 0
        while offset < len(data):
            chunk = data[offset : offset + self._chunk.bytes]
            try:
                frame = self._call(Command.SET_INPUT, SetInputRequest(index, offset, chunk).encode(),
                                   chunk=len(chunk))
            except _Abandoned:
                continue
            reply = SetInputReply.decode(frame.payload)
            if (reply.index, reply.offset, reply.written) != (index, offset, len(chunk)):
                raise BadReplyError(f"SET_INPUT reply acknowledges input {reply.index} at {reply.offset} "
                                    f"({reply.written} bytes), not input {index} at {offset} ({len(chunk)} bytes)")
            offset += len(chunk)
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
            want = min(self._chunk.bytes, nbytes - len(out))
            try:
                frame = self._call(Command.GET_OUTPUT, GetOutputRequest(index, len(out), want).encode(),
                                   chunk=want, reply_bytes=want + 15)
            except _Abandoned:
                continue
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
        NOT_READY answer redoes the inference from HELLO, and an INVOKE count that
        jumped (the model ran twice) redoes it too, at most max_resets times."""
        resets = 0
        need_hello = self.info is None
        while True:
            try:
                if need_hello:
                    self.hello()
                    need_hello = False
                return self._inference_once(inputs, resets)
            except (_Reset, _NotReady, _DoubleRun) as exc:
                resets += 1
                if isinstance(exc, _DoubleRun):
                    self._stats.double_runs += 1
                else:
                    self._stats.resets += 1
                    need_hello = True
                if resets > self.max_resets:
                    raise BoardResetError(
                        f"the board on {self._port_name()} reset {resets} times during one inference",
                        "check its power supply, reset line and watchdog") from None
                self._trace("--", "reset detected" if need_hello else "model ran twice", 0, 0, "redo the inference")

    # ---- internals ----

    def _inference_once(self, inputs: list[bytes], resets: int) -> InferenceResult:
        info = self.info
        assert info is not None
        self._check_inputs(info, inputs)
        base_frames, base_invokes = self._last_frames, self._last_invokes
        acked = 0
        for i, data in enumerate(inputs):
            acked += self.set_input(i, data)
        result = self._invoke()
        if result.frames <= base_frames + acked or (base_invokes is not None and result.invokes <= base_invokes):
            # A counter went back: the board reset since the last HELLO or INVOKE.
            raise _Reset(f"INVOKE reply counts {result.frames} frames since boot, "
                         f"at least {base_frames + acked + 1} were due", self._port_name())
        if base_invokes is not None and result.invokes != base_invokes + 1:
            raise _DoubleRun(f"INVOKE reply counts {result.invokes - base_invokes} model runs for one INVOKE")
        if result.status != 0:
            raise AgentError(f"the model returned status {result.status} on the board",
                             "check the firmware's console output")
        outputs = [self.get_output(i, t.nbytes) for i, t in enumerate(info.outputs)]
        return InferenceResult(outputs, result.count, result.frames, resets)

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
        self._last_invokes = result.invokes
        return result

    def _call(self, command: Command, payload: bytes, timeout: float | None = None, *, chunk: int = 0,
              reply_bytes: int = 32) -> Frame:
        """A request outside HELLO: a BOOT while waiting is a reset, and NOT_READY
        means the board forgot an INVOKE (in run_inference: a reset). A request
        carrying a chunk of ``chunk`` tensor bytes that fails while the chunk size
        can still shrink raises _Abandoned."""
        try:
            frame = self._request(command, payload, timeout, chunk=chunk, reply_bytes=reply_bytes)
        except AgentErrorReply as exc:
            if exc.code == ErrorCode.NOT_READY and command in (Command.GET_OUTPUT, Command.PROFILE):
                raise _NotReady(exc.message, exc.hint, exc.code, exc.detail) from None
            raise
        if chunk:
            self._chunk.passed()
        return frame

    def _next_seq(self, command: int) -> int:
        self._seq = (self._seq + 1) & 0xFF
        if command == Command.INVOKE:
            # A new INVOKE must never carry the last one's seq: the device would take it for a retry.
            if self._seq == self._last_invoke_seq:
                self._seq = (self._seq + 1) & 0xFF
            self._last_invoke_seq = self._seq
        return self._seq

    def _deadline(self, command: int, timeout: float | None) -> ReplyDeadline:
        """INVOKE and requests with a timeout of their own learn their round trip
        whole; the rest share one per-byte estimate."""
        if command == Command.INVOKE or timeout is not None:
            cap = self.invoke_timeout if timeout is None else float(timeout)
            return self._deadlines.setdefault((command, cap), ReplyDeadline(cap, per_byte=False,
                                                                            margin_s=self.margin_s))
        return self._exchange_deadline

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
        self._stats.bytes_sent += len(data)

    def _send(self, frame: bytes, name: str, seq: int, payload_len: int, note: str) -> None:
        if self._fill_due:
            # The device may be waiting for bytes a damaged length field promised: complete
            # that frame (it answers BAD_CRC, at most one, expected and not held against this request).
            self._write(_IDLE_FILL)
            self._stats.idle_fills += 1
            self._trace("->", "idle fill", 0, len(_IDLE_FILL), "zero bytes after a timeout")
            self._fill_due = False
            self._late_negatives = 1
        self._write(frame + REQUEST_TAIL)
        self._trace("->", name, seq, payload_len, note)

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
            now = time.monotonic()
            if data:
                self._last_rx = now
                self._stats.bytes_received += len(data)
                self._events.extend(self._parser.feed(data))
            elif self._parser.pending and now - self._last_rx > min(self.timeout, self.margin_s):
                # A frame began and stopped arriving (the device sends a frame at once): it lost
                # bytes. Checked only after a read found nothing, so a host that was itself
                # descheduled reads what waits before judging.
                self._events.extend(self._parser.flush())
        return self._events.popleft()

    def _request(self, command: Command, payload: bytes, timeout: float | None = None, *, chunk: int = 0,
                 reply_bytes: int = 32) -> Frame:
        """Sends one request and returns its reply frame. A timeout, a damaged reply
        or ERROR BAD_CRC sends it again, same seq and bytes, after a pause that grows
        (link_policy.retry_pause_s); a chunked request gives up instead when its chunk
        can shrink (raises _Abandoned). Gives up when nothing at all arrives for
        self.retries sends, after self.max_tries sends, or when the retry budget is
        spent. Raises _Reset on a BOOT frame (HELLO waits on instead)."""
        seq = self._next_seq(command)
        frame = encode_frame(int(command), seq, payload)
        name = Command(command).name
        deadline = self._deadline(command, timeout)
        wire_bytes = len(frame) + len(REQUEST_TAIL) + reply_bytes
        failures: list[str] = []
        damage_before = self._damage_seen()
        self._stats.requests += 1
        while True:
            if failures:
                time.sleep(retry_pause_s(len(failures)))
            self._send(frame, name, seq, len(payload), f"try {len(failures) + 1}" if failures else "")
            sent_at = time.monotonic()
            outcome = self._await_reply(command, seq, deadline.seconds(wire_bytes))
            if isinstance(outcome, Frame):
                if not failures:
                    deadline.observe(time.monotonic() - sent_at, wire_bytes)
                return outcome
            failures.append(outcome)
            if outcome == "timeout":
                deadline.timed_out()
            self._check_give_up(name, failures, self._damage_seen() > damage_before)
            self._stats.retries += 1
            if chunk and outcome != "timeout" and 2 * chunk >= self._chunk.bytes:
                # A frame near the chunk size arrived damaged: smaller frames stand a better chance.
                # (A short last chunk failing says little about full ones, and silence nothing about
                # size: those are only sent again, so a board that went quiet is found out soon.)
                self._chunk.failed()
                if self._chunk.bytes < chunk:
                    self._trace("--", name, seq, len(payload), f"given up: its bytes go again in "
                                f"{self._chunk.bytes}-byte chunks")
                    raise _Abandoned()

    def _damage_seen(self) -> int:
        """Damaged or unexpected things received so far: whether bytes arrive at all."""
        s = self._stats
        return s.crc_errors + s.bad_crc_replies + s.stale + self._parser.discarded

    def _check_give_up(self, name: str, failures: list[str], damaged: bool) -> None:
        tries, port = len(failures), self._port_name()
        if not damaged and tries >= self.retries and all(f == "timeout" for f in failures):
            raise NoReplyError(f"no reply to {name} from the board on {port} after {tries} tries (nothing came "
                               "back)", self._link_hint())
        what = ", ".join(f"{failures.count(f)} x {_FAILURE_NAMES[f]}" for f in dict.fromkeys(failures))
        if tries >= self.max_tries:
            raise NoReplyError(f"the serial line to the board on {port} damages what it carries: no good reply to "
                               f"{name} after {tries} tries ({what})", _LINE_HINT)
        s = self._stats
        if not self.budget.allows(s.retries + 1, s.requests):
            raise NoReplyError(f"the serial line to the board on {port} is too noisy to go on: {s.retries} retries "
                               f"for {s.requests} requests, the budget is {self.budget.describe()} ({s.crc_errors} "
                               f"damaged replies, {s.bad_crc_replies} damaged requests, {s.timeouts} timeouts)",
                               _LINE_HINT)

    def _await_reply(self, command: Command, seq: int, wait_s: float) -> Frame | str:
        """The reply to ``seq``, or why not: "timeout", "crc" (a reply failed its CRC or
        lost bytes), "bad_crc" (the board got a damaged request). A damaged frame or a
        BAD_CRC counts against this send unless one is still due from before the
        last idle fill; a BAD_CRC's seq is not trusted, so any counts."""
        name = Command(command).name
        want = wire_type(command, reply=True)
        deadline = time.monotonic() + wait_s
        while True:
            event = self._read_event(deadline)
            if event is None and self._parser.pending:
                self._events.extend(self._parser.flush())  # what is held will not be completed now
                event = self._events.popleft() if self._events else None
            if event is None:
                self._stats.timeouts += 1
                self._fill_due = True
                self._trace("--", name, seq, 0, f"no reply within {wait_s:.2f} s")
                return "timeout"
            if isinstance(event, CrcError):
                self._stats.crc_errors += 1
                self._trace("<-", "bad CRC", event.seq, event.length, f"claims {event.name}")
                # Only what claims to be an ERROR may be the idle fill's BAD_CRC, damaged on its way.
                if event.type != _ERROR or not self._absorb_late():
                    return "crc"
                continue
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
            if event.type == _ERROR:
                error = ErrorReply.decode(event.payload)
                self._trace("<-", "ERROR", event.seq, len(event.payload), f"{error.code_name}: {error.message}")
                if error.code == ErrorCode.BAD_CRC:
                    self._stats.bad_crc_replies += 1
                    if not self._absorb_late():
                        return "bad_crc"
                    continue
                if event.seq == seq:
                    raise AgentErrorReply(
                        f"the board refused {name} with {error.code_name}: {error.message}",
                        _ERROR_HINTS.get(error.code, "are the firmware and mcugen the same version?"),
                        error.code, error.message)
            if event.seq != seq or event.type != want:
                self._stats.stale += 1
                self._trace("<-", event.name, event.seq, len(event.payload), "stale, skipped")
                continue
            # The device answers in order: nothing sent before this request can still answer.
            self._late_negatives = 0
            self._trace("<-", event.name, event.seq, len(event.payload))
            return event

    def _absorb_late(self) -> bool:
        """True when a BAD_CRC (or a damaged ERROR) is the one due from before the idle fill."""
        if not self._late_negatives:
            return False
        self._late_negatives -= 1
        self._stats.late_bad_crc += 1
        return True


_FAILURE_NAMES = {"timeout": "timeout", "crc": "reply failed its CRC", "bad_crc": "the board got the request damaged"}


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
