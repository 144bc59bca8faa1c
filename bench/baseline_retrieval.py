"""The pure-Python stand-in the vectorised one replaced, kept ONLY as the benchmark baseline.

``bench/train_bench.py`` measures it next to the product's implementation in
the same run (issue 17). Dict-of-postings TF-IDF and a per-prompt validation
loop; not imported by the product.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
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


# Completion-similarity blend weight tried at each epoch (cycled).
WEIGHT_SCHEDULE = (0.0, 0.2, 0.1, 0.3, 0.05, 0.4, 0.15, 0.5, 0.25, 0.35)
F1_CORRECT = 0.5


@dataclass(frozen=True)
class EpochResult:
    """What one epoch measured."""

    epoch: int
    completion_weight: float
    accuracy: float
    loss: float


@dataclass(frozen=True)
class TrainingOutcome:
    """The chosen setting, its metrics and why training ended."""

    completion_weight: float
    final_accuracy: float
    final_loss: float
    epochs_run: int
    stopped_early: bool
    train_size: int
    validation_size: int


def split(pairs: Sequence[Pair], seed: str, share: float) -> tuple[list[Pair], list[Pair]]:
    """Deterministic shuffle-and-split; the validation set is never empty."""
    order = list(pairs)
    digest = hashlib.sha256(seed.encode()).digest()[:8]
    rng = random.Random(int.from_bytes(digest, "big"))
    rng.shuffle(order)
    n_val = min(len(order) - 1, max(1, round(len(order) * share)))
    return order[n_val:], order[:n_val]


def evaluate(index: RetrievalIndex, validation: Sequence[Pair]) -> tuple[float, float]:
    """(accuracy, loss) of ``index`` on ``validation`` as defined in the module doc."""
    f1s = []
    for pair in validation:
        hits = index.search(pair.prompt, k=1)
        answer = index.pairs[hits[0].index].completion if hits else ""
        f1s.append(token_f1(answer, pair.completion))
    accuracy = sum(1 for f in f1s if f >= F1_CORRECT) / len(f1s)
    return accuracy, 1.0 - sum(f1s) / len(f1s)


def fit(
    pairs: Sequence[Pair],
    *,
    seed: str,
    epochs: int,
    patience: int,
    threshold: float,
    validation_share: float,
    max_validation: int,
    on_epoch: Callable[[EpochResult], bool],
) -> tuple[TrainingOutcome, RetrievalIndex]:
    """Run the epochs and return the outcome and the final (all-pairs) index.

    ``on_epoch`` is called after each epoch; returning False aborts with
    :class:`TrainingCancelled`.
    """
    train, validation = split(pairs, seed, validation_share)
    validation = validation[:max_validation]
    index = RetrievalIndex(train)
    best: EpochResult | None = None
    stale = 0
    run = 0
    stopped_early = False
    for epoch in range(1, epochs + 1):
        index.completion_weight = WEIGHT_SCHEDULE[(epoch - 1) % len(WEIGHT_SCHEDULE)]
        accuracy, loss = evaluate(index, validation)
        result = EpochResult(epoch, index.completion_weight, accuracy, loss)
        run = epoch
        if best is None or best.loss - loss >= threshold:
            best, stale = result, 0
        elif loss < best.loss:
            best, stale = result, stale + 1
        else:
            stale += 1
        if not on_epoch(result):
            raise TrainingCancelled
        if patience > 0 and stale >= patience and epoch < epochs:
            stopped_early = True
            break
    assert best is not None
    outcome = TrainingOutcome(
        completion_weight=best.completion_weight,
        final_accuracy=best.accuracy,
        final_loss=best.loss,
        epochs_run=run,
        stopped_early=stopped_early,
        train_size=len(train),
        validation_size=len(validation),
    )
    return outcome, RetrievalIndex(pairs, best.completion_weight)


class TrainingCancelled(Exception):
    """on_epoch asked to stop."""
