"""Answer-vs-reference scores: exact match, token F1, ROUGE-L F, length ratio.

Written by hand (no dependency): ``rouge-score`` pulls in nltk, absl and numpy and
``evaluate`` pulls in datasets and pandas, far too heavy for the function image, and what
is needed here is two dozen lines.

Normalisation follows the SQuAD v1.1 evaluation script (lower-case, drop punctuation,
drop the articles *a*, *an*, *the*, collapse whitespace), widened to Unicode: text is
NFKC-normalised and case-folded, every Unicode punctuation character (category ``P*``)
and SQuAD's ASCII set are deleted (as SQuAD does: *don't* is *dont*), and each CJK
ideograph or kana is a token of its own (those scripts put no spaces between words).
Empty texts follow SQuAD: two empty token lists agree fully
(1.0), one empty against a non-empty one scores 0.0.

ROUGE-L F is the F1 (beta = 1) of the longest common subsequence of the same tokens,
computed with the bit-parallel LCS of Hyyrö (2004): one big-int step per answer
token, so long answers cost microseconds, not a quadratic table.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

_ARTICLES = frozenset({"a", "an", "the"})
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
#: A tie in token F1 within this much counts as a tie.
TIE_TOLERANCE = 1e-9


_ASCII_PUNCTUATION = frozenset(string.punctuation)  # SQuAD's set (has symbols such as $ + <)


def _strip_punctuation(text: str) -> str:
    return "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION
                   and not unicodedata.category(ch).startswith("P"))


def normalize(text: str) -> str:
    """SQuAD normalisation, Unicode-aware (see the module docstring)."""
    text = _strip_punctuation(unicodedata.normalize("NFKC", text).casefold())
    return " ".join(t for t in text.split() if t not in _ARTICLES)


def tokens(text: str) -> list[str]:
    """The normalised tokens of ``text`` (CJK characters one token each)."""
    return _CJK.sub(r" \1 ", normalize(text)).split()


def exact_match(answer: str, reference: str) -> float:
    """1.0 when the normalised texts are equal, else 0.0."""
    return 1.0 if tokens(answer) == tokens(reference) else 0.0


def _f1(overlap: int, answer_len: int, reference_len: int) -> float:
    if overlap == 0:
        return 0.0
    precision = overlap / answer_len
    recall = overlap / reference_len
    return 2 * precision * recall / (precision + recall)


def token_f1(answer: str, reference: str) -> float:
    """SQuAD token F1: the harmonic mean of precision and recall of the shared tokens
    (a multiset intersection)."""
    got, want = tokens(answer), tokens(reference)
    if not got or not want:
        return 1.0 if got == want else 0.0
    counts: dict[str, int] = {}
    for tok in want:
        counts[tok] = counts.get(tok, 0) + 1
    overlap = 0
    for tok in got:
        left = counts.get(tok, 0)
        if left:
            counts[tok] = left - 1
            overlap += 1
    return _f1(overlap, len(got), len(want))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (bit-parallel)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(b):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(b)) - 1
    row = full
    for tok in a:
        match = masks.get(tok)
        if match is None:
            continue
        low = row & match
        row = ((row + low) | (row - low)) & full
    return len(b) - row.bit_count()


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F1 over the normalised tokens."""
    got, want = tokens(answer), tokens(reference)
    if not got or not want:
        return 1.0 if got == want else 0.0
    return _f1(lcs_length(got, want), len(got), len(want))


def length_ratio(answer: str, reference: str) -> float | None:
    """Tokens of the answer per token of the reference (None when the reference is empty)."""
    want = len(tokens(reference))
    return None if want == 0 else len(tokens(answer)) / want


@dataclass(frozen=True)
class Scores:
    """One answer scored against its reference."""

    exact_match: float
    token_f1: float
    rouge_l: float
    length_ratio: float | None


def score(answer: str, reference: str) -> Scores:
    """Every score of ``answer`` against ``reference``."""
    return Scores(exact_match(answer, reference), token_f1(answer, reference),
                  rouge_l(answer, reference), length_ratio(answer, reference))


def verdict(fine_tuned_f1: float, base_f1: float) -> str:
    """``win``, ``tie`` or ``loss`` of the fine-tuned answer against the base's, by token F1."""
    if abs(fine_tuned_f1 - base_f1) <= TIE_TOLERANCE:
        return "tie"
    return "win" if fine_tuned_f1 > base_f1 else "loss"
