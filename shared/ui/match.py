"""How close a playground question was to the stand-in's training data (local target).

The local fine-tuning stand-in answers with the completion of the most similar
training example, so the page can show which training prompt that was and the
token overlap (F1) between it and the question. Streams the JSONL; reads at
most ``MAX_LINES`` lines.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from typing import Any

from shared.ui.models import Match

MAX_LINES = 200_000
_TOKEN = re.compile(r"\w+", re.UNICODE)


def token_f1(a: str, b: str) -> float:
    """F1 of the word multisets of ``a`` and ``b`` (1.0 = same words)."""
    ta, tb = Counter(_TOKEN.findall(a.lower())), Counter(_TOKEN.findall(b.lower()))
    common = sum((ta & tb).values())
    if not common:
        return 0.0
    precision, recall = common / sum(tb.values()), common / sum(ta.values())
    return 2 * precision * recall / (precision + recall)


def closest_prompt(lines: io.RawIOBase | Any, question: str, answer: str) -> Match:
    """The training prompt whose completion the answer came from, and its overlap."""
    wanted = answer.strip()
    best: tuple[float, str] | None = None
    if not wanted:
        return Match()
    reader = io.TextIOWrapper(io.BufferedReader(lines), encoding="utf-8", errors="replace")
    for count, line in enumerate(reader):
        if count >= MAX_LINES:
            break
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        completion, prompt = record.get("completion"), record.get("prompt")
        if not isinstance(completion, str) or not isinstance(prompt, str):
            continue
        if completion.strip().startswith(wanted):
            score = token_f1(question, prompt)
            if best is None or score > best[0]:
                best = (score, prompt)
                if score >= 1.0:
                    break
    if best is None:
        return Match()
    return Match(training_prompt=best[1], overlap=round(best[0], 4))


def similarity(answer: dict[str, Any]) -> float | None:
    """``exp`` of the first token likelihood: the stand-in's retrieval similarity."""
    info = answer.get("likelihoods")
    if not isinstance(info, dict):
        return None
    tokens = info.get("tokens") or []
    value = tokens[0].get("likelihood") if tokens and isinstance(tokens[0], dict) else None
    if not isinstance(value, int | float):
        return None
    return round(math.exp(value), 4)
