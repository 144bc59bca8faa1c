"""Training the retrieval stand-in: split, epochs, early stopping, honest metrics.

* The pairs are shuffled with a seed derived from the model OCID and split
  80:20 (OCI's ratio) into training and validation sets.
* The index is built on the training split. Each epoch tries one value of the
  only tunable knob, the blend weight of completion similarity, and scores the
  validation prompts. Early stopping follows ``earlyStoppingPatience`` /
  ``earlyStoppingThreshold`` on that loss.
* Metrics (of the best epoch, on held-out prompts only):
  ``final_accuracy`` = share of validation prompts whose retrieved completion
  has token-F1 >= 0.5 against the reference (an exact match scores 1.0);
  ``final_loss`` = 1 - mean token-F1. They measure how well the nearest
  *other* example answers an unseen prompt -- not language-model loss.
* The shipped index is then rebuilt over all pairs with the chosen weight, so
  every training prompt is answerable with its own completion.
* ``learningRate``, ``trainingBatchSize``, LoRA and vanilla knobs are validated
  and recorded, but they do not influence this stand-in.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.retrieval import RetrievalIndex, token_f1

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
    rng = random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - a split, not security
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
    """The emulator is stopping; training resumes from scratch on restart."""
