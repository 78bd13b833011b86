"""``FloodGuard``: how many frames one connection may send, and when it has sent too many.

Two token buckets. The first is the rate a person can type at: a frame over it gets a
``rate_limited`` error frame and is not processed. The second counts those refusals
(one strike regained a second): a client that keeps sending after being told is closed
with 1008.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

__all__ = ["FloodGuard", "TokenBucket", "Verdict"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Verdict(Enum):
    """What to do with one incoming frame."""

    ACCEPT = "accept"
    REFUSE = "refuse"
    """Answer with a ``rate_limited`` error frame; do not process it."""
    CLOSE = "close"
    """The client ignored the refusals: close the connection (1008)."""


class FloodGuard:
    """Judges each frame of one connection against its rate and its strikes."""

    def __init__(
        self, rate: float, burst: int, strikes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._frames = TokenBucket(rate, burst, clock)
        self._strikes = TokenBucket(1.0, strikes, clock)

    def judge(self) -> Verdict:
        """Call once per frame received."""
        if self._frames.take():
            return Verdict.ACCEPT
        return Verdict.REFUSE if self._strikes.take() else Verdict.CLOSE
