"""The host side of the camera applications' commands (docs/protocol.md, "Application commands").

    send_frame(client, frame_id, fmt, width, height, data)  # FRAME chunks to a host-fed camera
    result = wait_for_result(client, frame_id)               # its RESULT (GET_RESULT if it was lost)
    shot = capture_frame(client)                             # CAPTURE, then GET_FRAME chunks

Each request goes through AgentClient's retries; FRAME chunks name their frame id
and offset, so a retried chunk is harmless and a frame is never delivered twice.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from .agent_client import AgentClient
from .errors import McugenError
from .protocol import AgentError, AgentErrorReply, BadReplyError, Command, ErrorCode, NoReplyError, crc32

FRAME_CHUNK_HEADER = struct.Struct("<HBHHI")  # frame id, format, width, height, offset
FRAME_ACK = struct.Struct("<HIHB")            # frame id, offset, bytes taken, whole
CAPTURE_REPLY = struct.Struct("<IbBHHII")     # frame number, status, format, width, height, bytes, CRC-32
GET_FRAME_REQUEST = struct.Struct("<IH")      # offset, bytes
MAX_PAYLOAD = 1024
FRAME_CHUNK_DATA = MAX_PAYLOAD - FRAME_CHUNK_HEADER.size
GET_FRAME_DATA = MAX_PAYLOAD - 4
_RESULT_FIXED = struct.Struct("<HIBiBfIQQIH")

RESULT_STATUS = {0: "ok", 1: "camera error", 2: "pre-processing error", 3: "model error"}
# The board API's MCUGEN_CAMERA_ERR_* (mcugen_board.h), as CAPTURE reports them.
CAMERA_ERRORS = {-1: "no sensor answered on its bus", -2: "no frame within the driver's timeout",
                 -3: "the sensor cannot give this size or format"}
NO_CLASS = 0xFF


class FeedRefused(McugenError):
    """The firmware does not serve the camera commands (another app)."""


@dataclass(frozen=True)
class ClassResult:
    """One RESULT frame of the person-led application."""

    frame_id: int
    frame_number: int       # frames the app has run since boot
    status: int             # RESULT_STATUS
    detail: int             # the failing step's error code
    class_index: int | None
    score: float
    led_bits: int
    preprocess_count: int   # cycles or instructions, as the board counts
    invoke_count: int
    input_crc32: int        # of the input tensor after pre-processing
    output: bytes           # output 0, raw

    @property
    def ok(self) -> bool:
        return self.status == 0

    @classmethod
    def decode(cls, payload: bytes) -> "ClassResult":
        if len(payload) < _RESULT_FIXED.size:
            raise BadReplyError(f"RESULT is {len(payload)} bytes, shorter than its {_RESULT_FIXED.size} fixed bytes",
                                "are the firmware and mcugen the same version?")
        (frame_id, number, status, detail, cls_index, score, leds, pre, invoke, crc,
         n_out) = _RESULT_FIXED.unpack_from(payload)
        output = payload[_RESULT_FIXED.size:]
        if len(output) != n_out:
            raise BadReplyError(f"RESULT says {n_out} output bytes but carries {len(output)}",
                                "are the firmware and mcugen the same version?")
        return cls(frame_id, number, status, detail, None if cls_index == NO_CLASS else cls_index, score, leds,
                   pre, invoke, crc, output)


@dataclass(frozen=True)
class CapturedFrame:
    number: int
    format: int
    width: int
    height: int
    data: bytes


def send_frame(client: AgentClient, frame_id: int, fmt: int, width: int, height: int, data: bytes) -> None:
    """Sends one whole frame; returns once the board has it all."""
    if not 1 <= frame_id <= 0xFFFF:
        raise ValueError("frame ids are 1..65535")
    whole = False
    for offset in range(0, len(data), FRAME_CHUNK_DATA):
        chunk = data[offset: offset + FRAME_CHUNK_DATA]
        try:
            reply = client.request(Command.FRAME, FRAME_CHUNK_HEADER.pack(frame_id, fmt, width, height, offset) + chunk)
        except AgentErrorReply as exc:
            if exc.code == ErrorCode.UNKNOWN_COMMAND:
                raise FeedRefused("the firmware on the board takes no camera frames from the host",
                                  "generate it with --app person-led (on a board with a sensor also --set camera=host) "
                                  "and flash it") from None
            raise
        if len(reply.payload) != FRAME_ACK.size:
            raise BadReplyError(f"FRAME reply is {len(reply.payload)} bytes, not {FRAME_ACK.size}",
                                "are the firmware and mcugen the same version?")
        got_id, got_offset, taken, whole_flag = FRAME_ACK.unpack(reply.payload)
        if (got_id, got_offset, taken) != (frame_id, offset, len(chunk)):
            raise BadReplyError(f"FRAME reply acknowledges frame {got_id} offset {got_offset} ({taken} bytes), "
                                f"not frame {frame_id} offset {offset} ({len(chunk)} bytes)")
        whole = bool(whole_flag)
    if not whole:
        raise BadReplyError(f"the board did not take frame {frame_id} as whole after its last chunk",
                            "are the firmware and mcugen the same version?")


def wait_for_result(client: AgentClient, frame_id: int, timeout: float) -> ClassResult:
    """The RESULT for frame_id: as the app sends it, or asked for again if it was lost."""
    deadline = time.monotonic() + timeout
    while True:
        frame = client.wait_result(max(0.0, deadline - time.monotonic()))
        if frame is None:
            break
        result = ClassResult.decode(frame.payload)
        if result.frame_id == frame_id:
            return result
    # The unasked frame may have been corrupted on the way: ask for it.
    reply = client.request(Command.GET_RESULT)
    result = ClassResult.decode(reply.payload)
    if result.frame_id != frame_id:
        raise NoReplyError(f"no result for frame {frame_id} within {timeout:g} s (the last was for frame "
                           f"{result.frame_id})", "is the model slower than the timeout? raise --timeout")
    return result


def capture_frame(client: AgentClient, timeout: float = 10.0) -> CapturedFrame:
    """One frame from the board's camera, its CRC checked."""
    reply = client.request(Command.CAPTURE, b"", timeout)
    if len(reply.payload) != CAPTURE_REPLY.size:
        raise BadReplyError(f"CAPTURE reply is {len(reply.payload)} bytes, not {CAPTURE_REPLY.size}",
                            "are the firmware and mcugen the same version?")
    number, status, fmt, width, height, nbytes, crc = CAPTURE_REPLY.unpack(reply.payload)
    if status != 0:
        raise AgentError(f"the board's camera failed: {CAMERA_ERRORS.get(status, f'error {status}')}",
                         "is the camera module seated? power-cycle the board")
    data = bytearray()
    while len(data) < nbytes:
        n = min(GET_FRAME_DATA, nbytes - len(data))
        chunk = client.request(Command.GET_FRAME, GET_FRAME_REQUEST.pack(len(data), n)).payload
        if len(chunk) != 4 + n or struct.unpack_from("<I", chunk)[0] != len(data):
            raise BadReplyError(f"GET_FRAME reply for offset {len(data)} is malformed")
        data += chunk[4:]
    if crc32(bytes(data)) != crc:
        raise BadReplyError(f"frame {number} arrived with the wrong CRC-32", "the link is corrupting bytes")
    return CapturedFrame(number, fmt, width, height, bytes(data))
