"""Small, deterministic fine-tuning datasets for tests and demos (no downloads)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from deploy.local.emulator.genai.dataset import Pair

_SUBJECTS = (
    "compound interest", "a bond coupon", "an index fund", "a stock split", "inflation",
    "a credit score", "an emergency fund", "dollar cost averaging", "a dividend",
    "a mortgage rate", "a balance sheet", "cash flow", "a capital gain", "diversification",
    "a treasury bill", "an annuity", "liquidity", "a bear market", "a bull market",
    "an expense ratio", "a margin call", "a price to earnings ratio", "a budget",
    "a certificate of deposit", "a hedge fund", "an IPO", "a short sale", "a yield curve",
    "a Roth IRA", "a 401k match", "an amortization schedule", "a sinking fund",
    "a payday loan", "a credit union", "net worth", "a rebalancing rule", "a stop loss",
    "a limit order", "an ETF", "a municipal bond",
)


def finance_pairs(count: int = 40) -> list[Pair]:
    """``count`` distinct question/answer pairs (cycling subjects with a numbered twist)."""
    pairs = []
    for i in range(count):
        subject = _SUBJECTS[i % len(_SUBJECTS)]
        round_ = i // len(_SUBJECTS)
        suffix = f" (case {round_})" if round_ else ""
        pairs.append(Pair(
            prompt=f"Explain {subject}{suffix} to a new investor.",
            completion=f"Answer {i}: {subject} is a core idea in personal finance; "
                       f"learn how {subject} affects your savings.{suffix}",
        ))
    return pairs


def to_jsonl(pairs: Iterable[Pair]) -> bytes:
    """The OCI training-file form of ``pairs``."""
    return b"".join(
        json.dumps({"prompt": p.prompt, "completion": p.completion}).encode() + b"\n"
        for p in pairs)
