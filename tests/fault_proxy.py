"""A TCP proxy on 127.0.0.1 that damages a serial link on purpose.

Sits between a client (pyserial's socket://) and an agent listening on a TCP
port, and in each direction drops, corrupts (flips one bit), duplicates and
inserts (a random byte) single bytes, and repeats whole received chunks, at
given rates from a seeded RNG (one per direction, so a run's decisions depend
only on the seed and the bytes). Bounded: it stops injecting after max_faults
and shuts itself down after lifetime seconds.

For deterministic tests, frame_faults damages chosen frames instead: the nth
frame of a wire type in a direction ("up" is client to agent), at a chosen
byte, by a damage function (drop_at, flip_at, dup_at, insert_at, set_length,
lose). A direction with frame faults is cut into frames as it passes (both
ends send whole frames, so this only delays a frame's first bytes until its
last have come).

Like a serial cable to a board that reboots, it keeps the client connection
when the upstream side closes (the agent was killed) and reconnects to the
same port, dropping what the client sends meanwhile; swallow_after_reconnect
drops that many bytes the restarted agent sends first (its BOOT frame), to
test the host's detection of a reset whose BOOT was lost.
"""

from __future__ import annotations

import random
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

Damage = Callable[[bytes], bytes]


def drop_at(i: int) -> Damage:
    return lambda f: f[:i] + f[i + 1 :]


def flip_at(i: int, bit: int = 0) -> Damage:
    return lambda f: f[:i] + bytes([f[i] ^ (1 << bit)]) + f[i + 1 :]


def dup_at(i: int) -> Damage:
    return lambda f: f[: i + 1] + f[i:]


def insert_at(i: int, value: int) -> Damage:
    return lambda f: f[:i] + bytes([value]) + f[i:]


def set_length(n: int) -> Damage:
    """Rewrites the length field: the receiver waits for (or cuts at) n payload bytes."""
    return lambda f: f[:4] + struct.pack("<H", n) + f[6:]


def lose(f: bytes) -> bytes:
    return b""


@dataclass(frozen=True)
class FrameFault:
    """Damage the nth (1-based) frame of wire type ``type`` going ``direction``, or
    every one from the nth to the ``last``."""

    direction: str  # "up": client to agent (requests); "down": agent to client
    type: int
    nth: int
    damage: Damage
    last: int = 0

    def matches(self, direction: str, type_byte: int, k: int) -> bool:
        return (direction, type_byte) == (self.direction, self.type) and self.nth <= k <= max(self.nth, self.last)


class _FrameSplitter:
    """Cuts a clean byte stream into frames and the bytes between them."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bool, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[bool, bytes]] = []
        while buf:
            at = buf.find(b"\xa5\x5a")
            if at < 0:
                keep = 1 if buf[-1] == 0xA5 else 0  # maybe the start of a sync
                out.append((False, bytes(buf[: len(buf) - keep])))
                del buf[: len(buf) - keep]
                break
            if at:
                out.append((False, bytes(buf[:at])))
                del buf[:at]
            if len(buf) < 6:
                break
            total = (buf[4] | (buf[5] << 8)) + 10
            if total > 1034:
                out.append((False, bytes(buf[:1])))
                del buf[:1]
                continue
            if len(buf) < total:
                break
            out.append((True, bytes(buf[:total])))
            del buf[:total]
        return [(is_frame, b) for is_frame, b in out if b]


@dataclass
class FaultStats:
    bytes: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    inserted: int = 0
    repeated_chunks: int = 0
    frame_faults: int = 0
    reconnects: int = 0
    swallowed: int = 0
    by_direction: dict = field(default_factory=lambda: {"up": 0, "down": 0})

    @property
    def faults(self) -> int:
        return self.dropped + self.corrupted + self.duplicated + self.inserted + self.repeated_chunks


class FaultProxy:
    def __init__(self, upstream_port: int, *, drop: float = 0.0, corrupt: float = 0.0, duplicate: float = 0.0,
                 insert: float = 0.0, repeat_chunk: float = 0.0, seed: int = 0, max_faults: int | None = None,
                 lifetime: float = 120.0, swallow_after_reconnect: int = 0,
                 directions: tuple[str, ...] = ("up", "down"), frame_faults: tuple[FrameFault, ...] = ()):
        self.upstream_port = upstream_port
        self.rates = (drop, corrupt, duplicate, insert)
        self.frame_faults = tuple(frame_faults)
        self._splitters = {d: _FrameSplitter() for d in ("up", "down")
                           if any(f.direction == d for f in self.frame_faults)}
        self._seen: dict[tuple[str, int], int] = {}
        self.repeat_chunk = repeat_chunk
        self.max_faults = max_faults
        self.lifetime = lifetime
        self.swallow_after_reconnect = swallow_after_reconnect
        self.directions = directions
        self.stats = FaultStats()
        self.enabled = True  # set False to pass bytes through untouched
        self._rng = {"up": random.Random(seed * 2 + 1), "down": random.Random(seed * 2 + 2)}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._swallow = 0

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- damage ----

    def _budget_left(self) -> bool:
        return self.enabled and (self.max_faults is None or self.stats.faults < self.max_faults)

    def _damage(self, data: bytes, direction: str) -> bytes:
        self.stats.bytes[direction] += len(data)
        if direction in self._splitters:
            data = self._damage_frames(data, direction)
        if direction not in self.directions:
            return data
        rng = self._rng[direction]
        drop, corrupt, duplicate, insert = self.rates
        before = self.stats.faults
        out = bytearray()
        for b in data:
            r = rng.random()
            if not self._budget_left():
                out.append(b)
            elif r < drop:
                self.stats.dropped += 1
            elif r < drop + corrupt:
                self.stats.corrupted += 1
                out.append(b ^ (1 << rng.randrange(8)))
            elif r < drop + corrupt + duplicate:
                self.stats.duplicated += 1
                out += bytes((b, b))
            elif r < drop + corrupt + duplicate + insert:
                self.stats.inserted += 1
                out += bytes((rng.getrandbits(8), b))
            else:
                out.append(b)
        if self.repeat_chunk and rng.random() < self.repeat_chunk and self._budget_left():
            self.stats.repeated_chunks += 1
            out += bytes(out)
        self.stats.by_direction[direction] += self.stats.faults - before
        return bytes(out)

    def _damage_frames(self, data: bytes, direction: str) -> bytes:
        out = bytearray()
        for is_frame, part in self._splitters[direction].feed(data):
            if is_frame:
                key = (direction, part[2])
                self._seen[key] = self._seen.get(key, 0) + 1
                for fault in self.frame_faults:
                    if fault.matches(direction, part[2], self._seen[key]):
                        part = fault.damage(part)
                        self.stats.frame_faults += 1
            out += part
        return bytes(out)

    # ---- plumbing ----

    def _connect_upstream(self) -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=0.5)
        except OSError:
            return None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        return s

    @staticmethod
    def _send_all(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.setblocking(True)
            sock.sendall(data)
            sock.setblocking(False)
            return True
        except OSError:
            return False

    def _run(self) -> None:
        deadline = time.monotonic() + self.lifetime
        self._listener.settimeout(0.1)
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.setblocking(False)
            self._serve(client, deadline)
        self._stop.set()

    def _serve(self, client: socket.socket, deadline: float) -> None:
        upstream = self._connect_upstream()
        first = True
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, "up")
        if upstream is not None:
            sel.register(upstream, selectors.EVENT_READ, "down")
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                if upstream is None:
                    upstream = self._connect_upstream()
                    if upstream is not None:
                        sel.register(upstream, selectors.EVENT_READ, "down")
                        if not first:
                            self.stats.reconnects += 1
                            self._swallow = self.swallow_after_reconnect
                first = False
                for key, _ in sel.select(timeout=0.05):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if key.data == "up":
                        if not data:
                            return  # the client went
                        data = self._damage(data, "up")
                        if upstream is not None and data and not self._send_all(upstream, data):
                            sel.unregister(upstream)
                            upstream.close()
                            upstream = None
                    else:
                        if not data:  # the agent went: reconnect when it is back
                            sel.unregister(upstream)
                            upstream.close()
                            upstream = None
                            continue
                        if self._swallow:
                            n = min(self._swallow, len(data))
                            self._swallow -= n
                            self.stats.swallowed += n
                            data = data[n:]
                        data = self._damage(data, "down")
                        if data and not self._send_all(client, data):
                            return
        finally:
            sel.close()
            client.close()
            if upstream is not None:
                upstream.close()
