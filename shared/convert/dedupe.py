"""Compact duplicate detection: an open-addressing set of 64-bit hashes.

Each record costs 8-21 bytes (load factor kept at most 5/8), so one million
records fit in 16 MiB, against ~100 MiB for a Python ``set`` of ints; a caller
that knows roughly how many records are coming ``reserve``s once, so the table
is not doubled (old and new alive together) near the end. Records are compared
by a 64-bit hash only: Python's ``hash`` of the ``(prompt, completion)`` tuple,
computed in C from the strings' keyed SipHash (cached on the strings), so no
bytes are built and no per-record Python call is made. Two *different* records
are taken for duplicates with probability about n^2 / 2^65 over the whole
dataset (about 3e-8 for a million records), and then the cost is one dropped
example.
"""

from __future__ import annotations

_EMPTY = 0


def hash64(item: object) -> int:
    """Non-zero 64-bit hash of ``item`` (0 marks an empty slot); stable within a process."""
    return hash(item) or 1


class HashSet64:
    """A set of non-zero signed 64-bit hashes (Python ``hash`` values)."""

    def __init__(self, capacity: int = 40_000) -> None:
        self._table = _table(_slots(capacity))
        self._mask = len(self._table) - 1
        self.used = 0

    def __len__(self) -> int:
        return self.used

    @property
    def mask(self) -> int:
        """Number of slots minus one."""
        return self._mask

    def reserve(self, count: int) -> None:
        """Make room for ``count`` hashes in all without growing again."""
        size = _slots(count)
        if size > self._mask + 1:
            self._rehash(size)

    def add(self, item: object) -> bool:
        """Insert ``item``'s hash; True if it was new, False if already present."""
        return not self.add_hashes([hash64(item)])

    def add_hashes(self, hashes: list[int]) -> list[int]:
        """Insert ``hashes`` in order; the indices of those already present (earlier in
        ``hashes`` included), increasing. 0 stands for 1 (0 marks an empty slot)."""
        if (self.used + len(hashes)) * 8 > (self._mask + 1) * 5:
            self._rehash(_slots(2 * (self.used + len(hashes))))
        table, mask = self._table, self._mask
        dups: list[int] = []
        for i, value in enumerate(hashes):
            value = value or 1
            slot = value & mask
            current = table[slot]
            while current:
                if current == value:
                    dups.append(i)
                    break
                slot = (slot + 1) & mask
                current = table[slot]
            else:
                table[slot] = value
        self.used += len(hashes) - len(dups)
        return dups

    def _rehash(self, size: int) -> None:
        old = self._table
        table = _table(size)
        mask = size - 1
        for value in filter(None, old):  # the used slots only (a C-level skip)
            slot = value & mask
            while table[slot] != _EMPTY:
                slot = (slot + 1) & mask
            table[slot] = value
        self._table, self._mask = table, mask


def _slots(count: int) -> int:
    """Slots (a power of two) for ``count`` hashes at a load factor of at most 5/8."""
    size = 1
    while size * 5 < count * 8:
        size <<= 1
    return size


def _table(size: int) -> memoryview:
    """``size`` zeroed signed 64-bit slots. A memoryview reads and writes an item faster
    than an ``array`` (whose item access parses its argument like a function call)."""
    return memoryview(bytearray(8 * size)).cast("q")
