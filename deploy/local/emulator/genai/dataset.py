"""OCI's training-data rules for fine-tuning, applied to a JSONL stream.

OCI: one JSONL file, UTF-8, each line a JSON object with exactly the string
properties ``prompt`` and ``completion``, at least 32 examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class DatasetRejected(ValueError):
    """The training file breaks a rule; the message says which and where."""


@dataclass(frozen=True)
class Pair:
    """One training example."""

    prompt: str
    completion: str


def parse_training_jsonl(
    lines: Iterable[bytes], *, min_examples: int, max_bytes: int
) -> list[Pair]:
    """Validate the file line by line and return its pairs, or raise DatasetRejected."""
    return list(iter_training_pairs(lines, min_examples=min_examples, max_bytes=max_bytes))


def iter_training_pairs(
    lines: Iterable[bytes], *, min_examples: int, max_bytes: int
) -> Iterator[Pair]:
    """Validate the file line by line, yielding its pairs; raise DatasetRejected on a bad one.

    The minimum count is checked after the last line, so a caller keeping the
    pairs must discard them if that final check raises.
    """
    count = 0
    total = 0
    for number, raw in enumerate(lines, start=1):
        total += len(raw)
        if total > max_bytes:
            raise DatasetRejected(f"Training dataset is larger than {max_bytes} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetRejected(f"Line {number} is not valid UTF-8.") from None
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetRejected(f"Line {number} is not valid JSON: {exc.msg}.") from None
        if not isinstance(obj, dict):
            raise DatasetRejected(f"Line {number} is not a JSON object.")
        if set(obj) != {"prompt", "completion"}:
            found = ", ".join(sorted(obj)) or "none"
            raise DatasetRejected(
                f"Line {number} must have exactly the properties prompt and completion "
                f"(found: {found}).")
        prompt, completion = obj["prompt"], obj["completion"]
        if not isinstance(prompt, str) or not isinstance(completion, str):
            raise DatasetRejected(f"Line {number}: prompt and completion must be strings.")
        if not prompt.strip() or not completion.strip():
            raise DatasetRejected(f"Line {number}: prompt and completion must not be empty.")
        count += 1
        yield Pair(prompt, completion)
    if count < min_examples:
        raise DatasetRejected(
            f"Training dataset has {count} prompt/completion examples; "
            f"at least {min_examples} are required.")
