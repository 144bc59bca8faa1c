"""Bounded-memory length statistics (exact below 65,536)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from shared.convert.findings import Spread as Summary

EXACT = 1 << 16
_LOG_STEPS = 16  # buckets per doubling above the exact range (~4% wide)


class LengthHistogram:
    """Counts of non-negative lengths: exact below 65,536, log-bucketed above.

    Memory is bounded whatever the number of records: one entry per distinct length
    below 65,536, one per ~4%-wide bucket above. Percentiles above the exact range are
    a bucket's lower bound.
    """

    def __init__(self) -> None:
        self._exact: dict[int, int] = {}
        self._big: dict[int, int] = {}
        self._big_total = 0
        self._big_min = 0
        self._big_max = 0

    def add(self, value: int) -> None:
        """Record one length."""
        self.add_counts({value: 1})

    def add_counts(self, counts: Mapping[int, int]) -> None:
        """Record ``n`` times each length ``value`` for every (value, n) of ``counts``."""
        exact = self._exact
        for value, n in counts.items():
            if value < EXACT:
                exact[value] = exact.get(value, 0) + n
            else:
                self.add_big(value, n)

    def add_big(self, value: int, n: int = 1) -> None:
        """Record ``n`` times one length of at least ``EXACT``."""
        key = int(math.log2(value) * _LOG_STEPS)
        self._big[key] = self._big.get(key, 0) + n
        self._big_total += value * n
        self._big_min = value if not self._big_min else min(self._big_min, value)
        self._big_max = max(self._big_max, value)

    def _walk(self) -> list[tuple[int, int]]:
        """(value, count) pairs in increasing value order; big buckets at their lower bound."""
        pairs = sorted((v, n) for v, n in self._exact.items() if n)
        pairs += [(min(self._big_max, max(EXACT, math.ceil(2 ** (k / _LOG_STEPS)))), n)
                  for k, n in sorted(self._big.items())]
        return pairs

    def summary(self) -> Summary:
        """Min / max / mean / p50 / p95 (nearest-rank percentiles)."""
        pairs = self._walk()
        count = sum(n for _, n in pairs)
        if count == 0:
            return Summary()
        exact_total = sum(v * n for v, n in pairs if v < EXACT)
        minimum = pairs[0][0] if pairs[0][0] < EXACT else self._big_min
        maximum = self._big_max or pairs[-1][0]
        return Summary(min=minimum, max=maximum,
                       mean=round((exact_total + self._big_total) / count, 2),
                       p50=_rank(pairs, count, 0.5), p95=_rank(pairs, count, 0.95))


def _rank(pairs: list[tuple[int, int]], count: int, q: float) -> int:
    rank = max(1, math.ceil(q * count))
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]
