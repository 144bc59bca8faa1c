"""Inputs and outputs of the streaming converter: datasets, a network-like stream, a sink."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable
from typing import Any

from shared.convert import ConversionReport, DatasetRules, convert_stream

RULES = DatasetRules.for_base_model("cohere.command-r-08-2024")


def alpaca(n: int, *, start: int = 0, with_input: bool = False) -> list[dict[str, str]]:
    """``n`` finance-alpaca-shaped records."""
    return [{"instruction": f"What does finance term {i} mean?",
             "input": f"Context for {i}" if with_input else "",
             "output": f"Term {i} means something specific.",
             "text": "ignored"} for i in range(start, start + n)]


class ChunkReader:
    """A network-like stream: read(n) returns at most ``sizes`` bytes at a time, no seek."""

    def __init__(self, data: bytes, sizes: Iterable[int] | None = None, seed: int = 0) -> None:
        self._data = data
        self._pos = 0
        self._rng = random.Random(seed)
        self._sizes = list(sizes) if sizes is not None else None

    def read(self, n: int = -1) -> bytes:
        step = self._rng.choice(self._sizes) if self._sizes else n
        step = min(step, n) if n >= 0 else step
        chunk = self._data[self._pos:self._pos + step]
        self._pos += len(chunk)
        return chunk


class Sink:
    """Where the JSONL goes: keeps every write."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)


def run(data: bytes | str, rules: DatasetRules = RULES,
        **kw: Any) -> tuple[ConversionReport, bytes]:
    """Convert ``data`` in memory: the report and the JSONL written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    sink = Sink()
    report = convert_stream(io.BytesIO(raw), sink, source="raw/test.json", rules=rules, **kw)
    return report, sink.data


def lines(out: bytes) -> list[dict[str, str]]:
    """The JSONL records of ``out``, checking it is well-formed line by line."""
    assert out.endswith(b"\n")
    text = out.decode("utf-8")
    assert text.count("\n") == len(text.splitlines())  # no other line breaks inside a line
    return [json.loads(line) for line in text.split("\n")[:-1]]


def dumps(records: Any) -> str:
    """JSON text of ``records`` as a user would save it (UTF-8, not escaped)."""
    return json.dumps(records, ensure_ascii=False)
