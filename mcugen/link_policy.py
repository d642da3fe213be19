"""How long and how hard the host tries over a noisy serial link (docs/protocol.md,
"Host behaviour"): reply deadlines learnt from the round trips measured, the retry
budget that grows with the work done, and the tensor chunk size that halves when
frames fail and grows back when they pass. Pure bookkeeping, no I/O: the agent
client asks these and acts.
"""

from __future__ import annotations

import collections

# A reply is late when it takes three times the slowest recent round trip (per byte
# for exchanges, whole for INVOKE) plus a margin: the margin absorbs the host's own
# scheduling (two busy cores, an emulator descheduled), the factor a board or an
# emulator that slows down under load. The same margin is how long a frame that began
# arriving may pause before it is taken for one that lost bytes (the device writes a
# frame at once; even 9600 baud brings a byte a millisecond).
DEADLINE_MARGIN_S = 0.1
SLOWEST_FACTOR = 3
RECENT_SAMPLES = 16
MAX_BACKOFF_FACTOR = 16


class ReplyDeadline:
    """Seconds to wait for a reply. Until a round trip has been measured it is the
    user's timeout; after that three times the slowest recent one plus a margin, never
    more than the user's timeout. Every timeout doubles it until a reply comes
    (back-off), so a board that is slower than measured still gets answered."""

    def __init__(self, cap_s: float, per_byte: bool, margin_s: float = DEADLINE_MARGIN_S):
        self.cap_s = float(cap_s)
        self.per_byte = per_byte
        self.margin_s = float(margin_s)
        self._recent: collections.deque[float] = collections.deque(maxlen=RECENT_SAMPLES)
        self._backoff = 1

    def seconds(self, wire_bytes: int = 0) -> float:
        if not self._recent:
            return self.cap_s
        slowest = max(self._recent) * (max(1, wire_bytes) if self.per_byte else 1)
        return min(self.cap_s, (SLOWEST_FACTOR * slowest + self.margin_s) * self._backoff)

    def observe(self, round_trip_s: float, wire_bytes: int = 0) -> None:
        """A reply to a request sent once (a retried one's time is ambiguous: Karn's rule)."""
        self._recent.append(round_trip_s / max(1, wire_bytes) if self.per_byte else round_trip_s)
        self._backoff = 1

    def timed_out(self) -> None:
        self._backoff = min(MAX_BACKOFF_FACTOR, self._backoff * 2)


def retry_pause_s(failures: int) -> float:
    """The pause before the next send of a request that failed ``failures`` times in a
    row: none after the first failure (a damaged frame is the usual reason, and the
    device is already hunting for the next), then 10 ms doubling to 320 ms, which gives
    a board that is catching up (or a burst of noise) time to pass."""
    if failures <= 1:
        return 0.0
    return min(0.32, 0.01 * 2 ** (failures - 2))


class RetryBudget:
    """Retries allowed in all: a start-up allowance plus a share per request made, so a
    long benchmark over a line that damages one frame in three still finishes while a
    line that damages most frames is given up on, whatever the run's length."""

    def __init__(self, initial: int = 24, per_request: float = 1.5):
        self.initial = initial
        self.per_request = per_request

    def allows(self, retries: int, requests: int) -> bool:
        """May the retries in all reach ``retries`` after ``requests`` requests?"""
        return retries <= self.initial + self.per_request * requests

    def describe(self) -> str:
        return f"{self.initial} + {self.per_request:g} per request"


class ChunkSize:
    """Tensor bytes per SET_INPUT/GET_OUTPUT frame. A frame of n bytes survives a line
    that damages a byte in p with probability (1 - p)^n, so a failed chunk halves the
    size (down to ``smallest``) and ``grow_after`` chunks in a row that pass on their
    first try double it again (up to ``largest``)."""

    def __init__(self, largest: int, smallest: int = 16, grow_after: int = 12):
        self.largest = max(1, largest)
        self.smallest = min(self.largest, max(1, smallest))
        self.grow_after = grow_after
        self.bytes = self.largest
        self.low_water = self.largest
        self.shrinks = 0
        self.grows = 0
        self._streak = 0

    @property
    def can_shrink(self) -> bool:
        return self.bytes > self.smallest

    def failed(self) -> None:
        self._streak = 0
        if self.can_shrink:
            self.bytes = max(self.smallest, self.bytes // 2)
            self.low_water = min(self.low_water, self.bytes)
            self.shrinks += 1

    def passed(self) -> None:
        self._streak += 1
        if self._streak >= self.grow_after and self.bytes < self.largest:
            self.bytes = min(self.largest, self.bytes * 2)
            self.grows += 1
            self._streak = 0
