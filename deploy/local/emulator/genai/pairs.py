"""Where the stand-in keeps its training pairs: in memory (small) or in a JSONL file.

A trained model's pairs can be far larger than memory should hold (1M
finance-alpaca records are about 800 MB of text), so the artifact keeps them in
a file of one ``[prompt, completion]`` JSON array a line plus the byte offset
of every line; answering reads only the lines it returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from deploy.local.emulator.genai.dataset import Pair

Rows = npt.NDArray[np.int64]


class PairSource(Protocol):
    """Read access to numbered training pairs."""

    def __len__(self) -> int: ...

    def __getitem__(self, row: int) -> Pair: ...

    def take(self, rows: Sequence[int] | Rows) -> list[Pair]:
        """The pairs at ``rows``, in that order."""
        ...


class PairList:
    """Pairs held in memory."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self._pairs = list(pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, row: int) -> Pair:
        return self._pairs[row]

    def take(self, rows: Sequence[int] | Rows) -> list[Pair]:
        """The pairs at ``rows``, in that order."""
        return [self._pairs[int(r)] for r in rows]


class PairFile:
    """Pairs in ``pairs.jsonl`` with their line offsets in ``offsets.npy``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "pairs.jsonl"
        self.offsets: Rows = np.load(folder / "offsets.npy")

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, row: int) -> Pair:
        return self.take([row])[0]

    def take(self, rows: Sequence[int] | Rows) -> list[Pair]:
        """The pairs at ``rows``, in that order (read in file order)."""
        wanted = np.asarray(rows, dtype=np.int64)
        found: dict[int, Pair] = {}
        with self.path.open("rb") as handle:
            for row in np.unique(wanted):
                handle.seek(int(self.offsets[row]))
                prompt, completion = json.loads(handle.readline())
                found[int(row)] = Pair(prompt, completion)
        return [found[int(r)] for r in wanted]


class PairFileWriter:
    """Appends pairs to a :class:`PairFile` being built in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._handle: BinaryIO = (folder / "pairs.jsonl").open("wb")
        self._offsets: list[int] = []
        self._at = 0

    def add(self, pair: Pair) -> None:
        """Append one pair."""
        line = json.dumps([pair.prompt, pair.completion], ensure_ascii=False).encode() + b"\n"
        self._offsets.append(self._at)
        self._handle.write(line)
        self._at += len(line)

    def close(self) -> PairFile:
        """Finish the file and open it for reading."""
        self._handle.close()
        np.save(self.folder / "offsets.npy", np.asarray(self._offsets, dtype=np.int64))
        self._offsets = []
        return PairFile(self.folder)


class RowView:
    """The pairs of ``source`` at ``rows`` (a training split), renumbered from 0."""

    def __init__(self, source: PairSource, rows: Rows) -> None:
        self._source = source
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, row: int) -> Pair:
        return self._source[int(self.rows[row])]

    def take(self, rows: Sequence[int] | Rows) -> list[Pair]:
        """The pairs at ``rows`` (view numbering), in that order."""
        return self._source.take(self.rows[np.asarray(rows, dtype=np.int64)])
