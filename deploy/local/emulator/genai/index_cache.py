"""The trained retrieval indexes in memory: least recently used first out, bounded by bytes.

Each custom model's index (its idf vector alone is 8 MiB) used to stay in a dict for the
emulator's life, so memory grew with every model queried. :class:`IndexCache` keeps the
most recently used ones whose arrays fit in ``max_bytes``; an evicted index is loaded
again from its artifact on the next chat. One index larger than the bound is served
without being kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from deploy.local.emulator.genai.pairs import PairFile, PairList
from deploy.local.emulator.genai.retrieval import RetrievalIndex


def index_bytes(index: RetrievalIndex) -> int:
    """Bytes of the index's arrays (postings, idf, pair offsets or in-memory pairs)."""
    postings = index.postings
    size = int(index.idf.nbytes)
    for name in ("data", "indices", "indptr"):
        array = getattr(postings, name, None)
        size += int(getattr(array, "nbytes", 0))
    pairs = index.pairs
    if isinstance(pairs, PairFile):
        size += int(pairs.offsets.nbytes)
    elif isinstance(pairs, PairList):
        size += sum(len(p.prompt) + len(p.completion) + 120 for p in pairs.take(range(len(pairs))))
    return size


class IndexCache:
    """``model id -> RetrievalIndex``, at most ``max_bytes`` of arrays, LRU."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[RetrievalIndex, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        """Bytes held now (never more than ``max_bytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, model_id: str) -> RetrievalIndex | None:
        with self._lock:
            found = self._items.get(model_id)
            if found is None:
                return None
            self._items.move_to_end(model_id)
            return found[0]

    def put(self, model_id: str, index: RetrievalIndex) -> None:
        size = index_bytes(index)
        with self._lock:
            self._drop(model_id)
            if size > self.max_bytes:
                return
            while self._items and self._bytes + size > self.max_bytes:
                self._drop(next(iter(self._items)))
            self._items[model_id] = (index, size)
            self._bytes += size

    def get_or_load(self, model_id: str,
                    load: Callable[[], RetrievalIndex | None]) -> RetrievalIndex | None:
        index = self.get(model_id)
        if index is None:
            index = load()
            if index is not None:
                self.put(model_id, index)
        return index

    def discard(self, model_id: str) -> None:
        with self._lock:
            self._drop(model_id)

    def _drop(self, model_id: str) -> None:
        found = self._items.pop(model_id, None)
        if found is not None:
            self._bytes -= found[1]
