"""A TCP proxy on 127.0.0.1 that damages a serial link on purpose.

Sits between a client (pyserial's socket://) and an agent listening on a TCP
port, and in each direction drops, corrupts (flips one bit) and duplicates
single bytes, and repeats whole received chunks, at given rates from a seeded
RNG (one per direction, so a run's decisions depend only on the seed and the
bytes). Bounded: it stops injecting after max_faults and shuts itself down
after lifetime seconds.

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
import threading
import time
from dataclasses import dataclass, field


@dataclass
class FaultStats:
    bytes: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    repeated_chunks: int = 0
    reconnects: int = 0
    swallowed: int = 0

    @property
    def faults(self) -> int:
        return self.dropped + self.corrupted + self.duplicated + self.repeated_chunks


class FaultProxy:
    def __init__(self, upstream_port: int, *, drop: float = 0.0, corrupt: float = 0.0, duplicate: float = 0.0,
                 repeat_chunk: float = 0.0, seed: int = 0, max_faults: int | None = None, lifetime: float = 120.0,
                 swallow_after_reconnect: int = 0, directions: tuple[str, ...] = ("up", "down")):
        self.upstream_port = upstream_port
        self.rates = (drop, corrupt, duplicate)
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
        if direction not in self.directions:
            return data
        rng = self._rng[direction]
        drop, corrupt, duplicate = self.rates
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
            else:
                out.append(b)
        if self.repeat_chunk and rng.random() < self.repeat_chunk and self._budget_left():
            self.stats.repeated_chunks += 1
            out += bytes(out)
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
