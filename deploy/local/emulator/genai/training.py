"""Training the retrieval stand-in: split, epochs, early stopping, honest metrics.

* The pairs are shuffled with a seed derived from the model OCID and split
  80:20 (OCI's ratio) into training and validation sets. Term statistics (IDF)
  come from the training split only.
* The index is built on the training split. Each epoch tries one value of the
  only tunable knob, the blend weight of completion similarity, and scores the
  validation prompts (up to ``max_validation`` of them, in batches). Early
  stopping follows ``earlyStoppingPatience`` / ``earlyStoppingThreshold`` on
  that loss.
* Metrics (of the best epoch, on held-out prompts only):
  ``final_accuracy`` = share of validation prompts whose retrieved completion
  has token-F1 >= 0.5 against the reference (an exact match scores 1.0);
  ``final_loss`` = 1 - mean token-F1. They measure how well the nearest
  *other* example answers an unseen prompt -- not language-model loss. The
  same two numbers for a trivial baseline (answer with a random training
  example) are measured on the same split, so a user can tell whether
  retrieval helps at all on their data.
* The similarity floor: of 0.10, 0.15 ... 0.50, the one whose "answer if the
  best match scores at least the floor" decision best agrees, on the held-out
  prompts, with "the answer was right (F1 >= 0.5)"; ties go to the higher
  floor (refuse rather than guess).
* The shipped index is then rebuilt over all pairs with the chosen weight, so
  every training prompt is answerable with its own completion.
* ``learningRate``, ``trainingBatchSize``, LoRA and vanilla knobs are validated
  and recorded, but they do not influence this stand-in.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.pairs import PairList, PairSource, Rows, RowView
from deploy.local.emulator.genai.retrieval import (
    RERANK,
    Matrix,
    RetrievalIndex,
    documents_per_term,
    idf_of,
    similarity_floor_grid,
    term_counts,
    tfidf,
    token_f1,
    token_f1_rows,
)

# Completion-similarity blend weight tried at each epoch (cycled).
WEIGHT_SCHEDULE = (0.0, 0.2, 0.1, 0.3, 0.05, 0.4, 0.15, 0.5, 0.25, 0.35)
F1_CORRECT = 0.5
CHUNK = 4096  # pairs vectorised at once while reading the dataset


@dataclass(frozen=True)
class EpochResult:
    """What one epoch measured."""

    epoch: int
    completion_weight: float
    accuracy: float
    loss: float


@dataclass(frozen=True)
class TrainingOutcome:
    """The chosen setting, its metrics, the trivial baseline's and why training ended."""

    completion_weight: float
    final_accuracy: float
    final_loss: float
    epochs_run: int
    stopped_early: bool
    train_size: int
    validation_size: int
    floor: float
    baseline_accuracy: float
    baseline_loss: float


class Corpus:
    """Training pairs with their prompt term counts and per-term document counts."""

    def __init__(self, pairs: PairSource, prompt_counts: Matrix,
                 term_docs: npt.NDArray[np.int64]) -> None:
        self.pairs = pairs
        self.prompt_counts = prompt_counts
        self.term_docs = term_docs  # documents (prompt or completion) containing each term

    def __len__(self) -> int:
        return len(self.pairs)

    @classmethod
    def from_pairs(cls, pairs: Sequence[Pair]) -> Corpus:
        """A corpus of pairs held in memory."""
        builder = CorpusBuilder()
        for pair in pairs:
            builder.add(pair)
        return builder.finish(PairList(pairs))


class CorpusBuilder:
    """Vectorises pairs as they stream in; keeps only prompt term counts, never the text."""

    def __init__(self) -> None:
        self._prompts: list[str] = []
        self._completions: list[str] = []
        self._chunks: list[Matrix] = []
        self._term_docs = np.zeros(0, dtype=np.int64)

    def add(self, pair: Pair) -> None:
        """Take one pair."""
        self._prompts.append(pair.prompt)
        self._completions.append(pair.completion)
        if len(self._prompts) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._prompts:
            return
        prompts = term_counts(self._prompts)
        docs = documents_per_term(prompts + term_counts(self._completions))
        self._term_docs = docs if not len(self._term_docs) else self._term_docs + docs
        self._chunks.append(prompts)
        self._prompts, self._completions = [], []

    def finish(self, pairs: PairSource) -> Corpus:
        """The corpus of everything added (``pairs`` reads the same pairs back)."""
        self._flush()
        counts = sparse.vstack(self._chunks, format="csr")
        self._chunks = []
        return Corpus(pairs, counts, self._term_docs)


def split_rows(n: int, seed: str, share: float) -> tuple[Rows, Rows]:
    """Deterministic shuffle-and-split of row numbers; the validation set is never empty."""
    order = list(range(n))
    digest = hashlib.sha256(seed.encode()).digest()[:8]
    rng = random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - a split, not security
    rng.shuffle(order)
    n_val = min(n - 1, max(1, round(n * share)))
    rows = np.asarray(order, dtype=np.int64)
    return rows[n_val:], rows[:n_val]


def split(pairs: Sequence[Pair], seed: str, share: float) -> tuple[list[Pair], list[Pair]]:
    """:func:`split_rows` applied to ``pairs``: (training, validation)."""
    train, validation = split_rows(len(pairs), seed, share)
    return [pairs[int(i)] for i in train], [pairs[int(i)] for i in validation]


@dataclass(frozen=True)
class _Scored:
    """One validation prompt's candidates, their prompt/completion similarity and F1."""

    prompt_scores: npt.NDArray[np.float32]
    completion_scores: npt.NDArray[np.float32]
    f1: npt.NDArray[np.float64]

    def pick(self, weight: float) -> tuple[float, float]:
        """(similarity, F1) of the answer chosen with completion weight ``weight``."""
        if not len(self.f1):
            return 0.0, 0.0
        blended = (1 - weight) * self.prompt_scores + weight * self.completion_scores
        best = int(np.argmax(blended))  # candidates are ordered by prompt score, row
        return float(blended[best]), float(self.f1[best])


def _score_validation(index: RetrievalIndex, validation: list[Pair]) -> list[_Scored]:
    """Candidates of every validation prompt, scored in batches (weights applied later)."""
    queries = index.vectors(p.prompt for p in validation)
    found = list(index.candidates(queries, RERANK))
    rows = np.concatenate([f.rows for f in found]) if found else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(found)), [len(f.rows) for f in found])
    counts = term_counts(p.completion for p in index.pairs.take(rows))
    # Row-wise dot products of every candidate's completion with its own query.
    similarity = np.asarray(tfidf(counts, index.idf).multiply(queries[owner]).sum(axis=1),
                            dtype=np.float32).ravel()
    references = term_counts(p.completion for p in validation)[owner]
    f1 = token_f1_rows(counts, references)
    bounds = np.concatenate(([0], np.cumsum([len(f.rows) for f in found])))
    return [_Scored(f.prompt_scores, similarity[lo:hi], f1[lo:hi])
            for f, lo, hi in zip(found, bounds[:-1], bounds[1:], strict=True)]


def evaluate(index: RetrievalIndex, validation: Sequence[Pair]) -> tuple[float, float]:
    """(accuracy, loss) of ``index`` at its completion weight, as the module doc defines."""
    return _metrics([s.pick(index.completion_weight)[1]
                     for s in _score_validation(index, list(validation))])


def _metrics(f1s: Iterable[float]) -> tuple[float, float]:
    values = list(f1s)
    accuracy = sum(1 for f in values if f >= F1_CORRECT) / len(values)
    return accuracy, 1.0 - sum(values) / len(values)


def _baseline(train: PairSource, validation: list[Pair], seed: str) -> tuple[float, float]:
    """Metrics of answering every held-out prompt with a random training completion."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8]))
    picks = train.take(rng.integers(0, len(train), size=len(validation)))
    return _metrics(token_f1(p.completion, v.completion)
                    for p, v in zip(picks, validation, strict=True))


def choose_floor(similarities: Sequence[float], f1s: Sequence[float]) -> float:
    """The floor of :func:`similarity_floor_grid` that best predicts a right answer."""
    sims, right = np.asarray(similarities), np.asarray(f1s) >= F1_CORRECT
    best, best_agreement = similarity_floor_grid()[0], -1.0
    for floor in similarity_floor_grid():
        agreement = float(np.mean((sims >= floor) == right))
        if agreement >= best_agreement:
            best, best_agreement = floor, agreement
    return best


def fit(
    corpus: Corpus,
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
    train_rows, validation_rows = split_rows(len(corpus), seed, validation_share)
    # IDF of the training split: remove what the held-out pairs contributed.
    train_docs = corpus.term_docs.copy()
    for start in range(0, len(validation_rows), CHUNK):
        chunk = corpus.pairs.take(validation_rows[start:start + CHUNK])
        train_docs -= documents_per_term(term_counts(p.prompt for p in chunk)
                                         + term_counts(p.completion for p in chunk))
    train_idf = idf_of(train_docs, len(train_rows))
    del train_docs
    index = RetrievalIndex.from_prompts(
        RowView(corpus.pairs, train_rows), corpus.prompt_counts[train_rows], train_idf)
    validation = corpus.pairs.take(validation_rows[:max_validation])
    scored = _score_validation(index, validation)
    best: EpochResult | None = None
    stale = run = 0
    stopped_early = False
    for epoch in range(1, epochs + 1):
        weight = WEIGHT_SCHEDULE[(epoch - 1) % len(WEIGHT_SCHEDULE)]
        accuracy, loss = _metrics(s.pick(weight)[1] for s in scored)
        result = EpochResult(epoch, weight, accuracy, loss)
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
    picks = [s.pick(best.completion_weight) for s in scored]
    floor = choose_floor([sim for sim, _ in picks], [f1 for _, f1 in picks])
    baseline_accuracy, baseline_loss = _baseline(index.pairs, validation, seed)
    outcome = TrainingOutcome(
        completion_weight=best.completion_weight,
        final_accuracy=best.accuracy,
        final_loss=best.loss,
        epochs_run=run,
        stopped_early=stopped_early,
        train_size=len(train_rows),
        validation_size=len(validation),
        floor=floor,
        baseline_accuracy=baseline_accuracy,
        baseline_loss=baseline_loss,
    )
    del index
    final = RetrievalIndex.from_prompts(
        corpus.pairs, corpus.prompt_counts, idf_of(corpus.term_docs, len(corpus)),
        best.completion_weight, floor)
    return outcome, final


class TrainingCancelled(Exception):
    """The emulator is stopping; training resumes from scratch on restart."""
