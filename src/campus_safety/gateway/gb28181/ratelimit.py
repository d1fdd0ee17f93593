"""Per-source token buckets: one address flooding the SIP port cannot starve the rest.

Pure: time is passed in. A rate of 0 turns limiting off (benchmarks on loopback).
"""

from __future__ import annotations


class RateLimiter:
    """``rate`` messages per second per source, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, max_sources: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.max_sources = max_sources
        self._buckets: dict[str, list[float]] = {}

    def allow(self, source: str, now: float) -> bool:
        if self.rate <= 0:
            return True
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self.max_sources:
                self.prune(now)
                if len(self._buckets) >= self.max_sources:
                    self._buckets.clear()  # spoofed-source flood: start over, fail open
            self._buckets[source] = [self.burst - 1.0, now]
            return True
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def prune(self, now: float) -> None:
        """Forget sources whose bucket has refilled: they are indistinguishable from new."""
        full_after = self.burst / self.rate if self.rate > 0 else 0.0
        for source, (_, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[source]
