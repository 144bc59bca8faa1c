"""The stand-in "fine-tuned model": TF-IDF retrieval over the training pairs.

It is honest about what it is: given a prompt it finds the training prompts
most alike (cosine similarity of sublinear TF-IDF vectors, optionally blended
with similarity to the stored completion) and answers with that example's
completion. It does not generate new text. Standard library only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from deploy.local.emulator.genai.dataset import Pair

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Terms in more than this share of documents are skipped at query time (speed; their
# IDF weight is near the floor anyway), unless the query has nothing else.
_COMMON_SHARE = 0.5


def words(text: str) -> list[str]:
    """Lower-cased word terms used for matching and for token-F1."""
    return [w.lower() for w in _WORD.findall(text)]


def approx_tokens(text: str) -> list[str]:
    """Approximate tokens (words and punctuation marks) for counts and truncation."""
    return _TOKEN.findall(text)


def token_f1(candidate: str, reference: str) -> float:
    """Token-level F1 of word multisets (1.0 for an exact match, 0 if disjoint)."""
    cand, ref = Counter(words(candidate)), Counter(words(reference))
    if not cand and not ref:
        return 1.0
    overlap = sum((cand & ref).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(cand.values())
    recall = overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Hit:
    """A retrieved training example and its similarity score in [0, 1]."""

    index: int
    score: float


class RetrievalIndex:
    """Inverted TF-IDF index over prompts (and completions) of the training pairs."""

    def __init__(self, pairs: Sequence[Pair], completion_weight: float = 0.0) -> None:
        self.pairs = list(pairs)
        self.completion_weight = completion_weight
        self._n = len(self.pairs)
        df: Counter[str] = Counter()
        prompt_terms = [Counter(words(p.prompt)) for p in self.pairs]
        completion_terms = [Counter(words(p.completion)) for p in self.pairs]
        for pt, ct in zip(prompt_terms, completion_terms, strict=True):
            df.update(set(pt) | set(ct))
        self._df = df
        self._idf = {t: math.log((self._n + 1) / (d + 1)) + 1.0 for t, d in df.items()}
        self._prompt_post = self._postings(prompt_terms)
        self._completion_post = self._postings(completion_terms)

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vec = {t: (1.0 + math.log(c)) * self._idf.get(t, 0.0) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {t: v / norm for t, v in vec.items() if v > 0} if norm else {}

    def _postings(self, docs: list[Counter[str]]) -> dict[str, list[tuple[int, float]]]:
        post: dict[str, list[tuple[int, float]]] = {}
        for index, counts in enumerate(docs):
            for term, weight in self._vector(counts).items():
                post.setdefault(term, []).append((index, weight))
        return post

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best examples for ``query``, best first (empty if nothing matches)."""
        qvec = self._vector(Counter(t for t in words(query) if t in self._idf))
        if not qvec:
            return []
        limit = _COMMON_SHARE * self._n
        rare = {t: w for t, w in qvec.items() if self._df[t] <= limit}
        terms = rare or qvec
        scores: dict[int, float] = {}
        blend = self.completion_weight
        for post, weight in ((self._prompt_post, 1.0 - blend), (self._completion_post, blend)):
            if weight <= 0:
                continue
            for term, qw in terms.items():
                for index, dw in post.get(term, ()):
                    scores[index] = scores.get(index, 0.0) + weight * qw * dw
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Hit(index, min(1.0, score)) for index, score in best if score > 0]
