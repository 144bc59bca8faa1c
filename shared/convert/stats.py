"""Bounded-memory length statistics (exact percentiles below 65,536)."""

from __future__ import annotations

import math
from array import array

from shared.convert.report import Summary

_EXACT = 1 << 16
_LOG_STEPS = 16  # buckets per doubling above the exact range (~4% wide)


class LengthHistogram:
    """Counts of non-negative lengths: exact below 65,536, log-bucketed above.

    Memory is fixed (512 KiB) whatever the number of records; percentiles above
    the exact range are the lower bound of a ~4%-wide bucket.
    """

    def __init__(self) -> None:
        self._exact = array("Q", bytes(8 * _EXACT))
        self._big: dict[int, int] = {}
        self.count = 0
        self.total = 0
        self.min = 0
        self.max = 0

    def add(self, value: int) -> None:
        """Record one length."""
        if value < _EXACT:
            self._exact[value] += 1
        else:
            key = int(math.log2(value) * _LOG_STEPS)
            self._big[key] = self._big.get(key, 0) + 1
        if self.count == 0 or value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.count += 1
        self.total += value

    def percentile(self, q: float) -> int:
        """Smallest recorded length L with at least ``q`` of the values <= L (nearest rank)."""
        if self.count == 0:
            return 0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for value, n in enumerate(self._exact):
            if n:
                seen += n
                if seen >= rank:
                    return value
        for key in sorted(self._big):
            seen += self._big[key]
            if seen >= rank:
                return min(self.max, max(_EXACT, math.ceil(2 ** (key / _LOG_STEPS))))
        return self.max

    def summary(self) -> Summary:
        """Min / max / mean / p50 / p95."""
        if self.count == 0:
            return Summary()
        return Summary(min=self.min, max=self.max, mean=round(self.total / self.count, 2),
                       p50=self.percentile(0.5), p95=self.percentile(0.95))
