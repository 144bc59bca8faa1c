"""The evaluation report ``reports/<dataset>.v<version>.eval.json``: one typed record per
model version, built up across invocations (it is also the evaluate stage's progress).

Each example is claimed (``claimed_by``) in a conditional write *before* its prompt is
sent and answered in the next write, so two invocations never send one prompt, and an
invocation that died between the two leaves the example ``lost`` (never sent again:
the report says so) instead of sending it twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from statistics import fmean

from pydantic import BaseModel, Field

from shared.evaluation import metrics
from shared.evaluation.plan import BaseKind as BaseKind  # re-exported: the report names it
from shared.status import RECORD, utcnow

SCHEMA_VERSION = 1


class BaseTarget(BaseModel):
    """The base model the fine-tuned one is scored against."""

    model_config = RECORD

    kind: BaseKind
    model: str | None = None  # the base model's name
    model_id: str | None = None  # on demand: the base model's OCID
    endpoint_id: str | None = None  # an endpoint the user named
    reason: str = ""  # why there is no base (kind none), or why it stopped answering


class ScoreSet(BaseModel):
    """The scores of one answer (or their means over the examples)."""

    model_config = RECORD

    exact_match: float
    token_f1: float
    rouge_l: float
    length_ratio: float | None = None  # answer tokens per reference token

    @classmethod
    def of(cls, answer: str, reference: str) -> ScoreSet:
        got = metrics.score(answer, reference)
        return cls(exact_match=got.exact_match, token_f1=got.token_f1, rouge_l=got.rouge_l,
                   length_ratio=got.length_ratio)


class Verdict(StrEnum):
    WIN = "win"
    TIE = "tie"
    LOSS = "loss"


class Example(BaseModel):
    """One held-out example: its texts, both answers and their scores."""

    model_config = RECORD

    index: int  # line of eval/<dataset>.jsonl, 0-based
    prompt: str
    reference: str
    claimed_by: str | None = None  # the invocation that sent (or is sending) the prompt
    claimed_at: datetime | None = None
    done: bool = False
    lost: bool = False  # claimed by an invocation that stopped before answering: not resent
    fine_tuned: str | None = None
    base: str | None = None
    fine_tuned_scores: ScoreSet | None = None
    base_scores: ScoreSet | None = None
    verdict: Verdict | None = None
    error: str | None = None  # why an answer is missing (a refusal of the service)


class EvaluationReport(BaseModel):
    """Everything about one model version's evaluation; ``complete`` once every example is
    answered (or lost)."""

    model_config = RECORD

    schema_version: int = SCHEMA_VERSION
    dataset: str
    model_version: str
    model_id: str
    endpoint_id: str
    base_model: str | None = None
    base: BaseTarget
    eval_object: str | None = None  # None: the version has no split (``notes`` says why)
    eval_etag: str | None = None
    split_size: int = 0  # examples in eval/<dataset>.jsonl
    max_prompts: int | None = None  # OCIFT_EVAL_MAX_PROMPTS when it capped the split
    examples: list[Example] = Field(default_factory=list)
    fine_tuned_scores: ScoreSet | None = None
    base_scores: ScoreSet | None = None
    wins: int = 0
    ties: int = 0
    losses: int = 0
    complete: bool = False
    invocations: int = 0
    prompts_sent: int = 0  # chat calls made (fine-tuned and base)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def answered(self) -> list[Example]:
        return [e for e in self.examples if e.done and e.fine_tuned_scores is not None]

    def pending(self) -> list[Example]:
        """Examples nobody has claimed yet, in order."""
        return [e for e in self.examples if e.claimed_by is None]

    def aggregate(self) -> None:
        """Means, win/tie/loss and completeness from the examples (in place)."""
        scored = self.answered
        self.fine_tuned_scores = mean_scores([e.fine_tuned_scores for e in scored
                                              if e.fine_tuned_scores is not None])
        based = [e for e in scored if e.base_scores is not None]
        self.base_scores = mean_scores([e.base_scores for e in based
                                        if e.base_scores is not None])
        verdicts = [e.verdict for e in based]
        self.wins = verdicts.count(Verdict.WIN)
        self.ties = verdicts.count(Verdict.TIE)
        self.losses = verdicts.count(Verdict.LOSS)
        self.complete = all(e.done or e.lost for e in self.examples)
        if self.complete and self.finished_at is None:
            self.finished_at = utcnow()

    def headline(self) -> str:
        """One line: "F1 0.61 vs base 0.22" (what ``ocift status`` shows)."""
        if self.complete and not self.examples:
            return ("not evaluated (no held-out split)" if not self.split_size
                    else f"not evaluated (OCIFT_EVAL_MAX_PROMPTS={self.max_prompts})")
        if self.fine_tuned_scores is None:
            done = sum(1 for e in self.examples if e.done)
            return f"evaluating {done}/{len(self.examples)}"
        text = f"F1 {self.fine_tuned_scores.token_f1:.2f}"
        text += (f" vs base {self.base_scores.token_f1:.2f}" if self.base_scores is not None
                 else " (no base)")
        if not self.complete:
            done = sum(1 for e in self.examples if e.done)
            text += f" ({done}/{len(self.examples)})"
        return text


def mean_scores(sets: list[ScoreSet]) -> ScoreSet | None:
    """The mean of each score (length ratio over the examples that have one)."""
    if not sets:
        return None
    ratios = [s.length_ratio for s in sets if s.length_ratio is not None]
    return ScoreSet(exact_match=fmean(s.exact_match for s in sets),
                    token_f1=fmean(s.token_f1 for s in sets),
                    rouge_l=fmean(s.rouge_l for s in sets),
                    length_ratio=fmean(ratios) if ratios else None)


def answer_example(example: Example, fine_tuned: str | None, base: str | None,
                   error: str | None = None) -> Example:
    """``example`` with its answers and scores (a missing answer scores nothing)."""
    ft = None if fine_tuned is None else ScoreSet.of(fine_tuned, example.reference)
    bs = None if base is None else ScoreSet.of(base, example.reference)
    verdict = (Verdict(metrics.verdict(ft.token_f1, bs.token_f1))
               if ft is not None and bs is not None else None)
    return example.model_copy(update={
        "done": True, "fine_tuned": fine_tuned, "base": base, "fine_tuned_scores": ft,
        "base_scores": bs, "verdict": verdict, "error": error})


class ScoreTriple(BaseModel):
    """What ``ocift eval --json`` prints per model."""

    exact_match: float
    token_f1: float
    rouge_l: float


class SummaryExample(BaseModel):
    prompt: str
    reference: str
    fine_tuned: str | None
    base: str | None
    fine_tuned_scores: ScoreSet | None = None
    base_scores: ScoreSet | None = None
    verdict: Verdict | None = None


class EvaluationSummary(BaseModel):
    """``ocift eval NAME --json``: the fields issue 25 lists, examples worst first."""

    dataset: str
    model_version: str
    prompts: int
    complete: bool
    base_kind: BaseKind
    base_reason: str
    fine_tuned: ScoreTriple | None
    base: ScoreTriple | None
    wins: int
    ties: int
    losses: int
    examples: list[SummaryExample]

    @classmethod
    def of(cls, report: EvaluationReport) -> EvaluationSummary:
        def triple(s: ScoreSet | None) -> ScoreTriple | None:
            return None if s is None else ScoreTriple(
                exact_match=s.exact_match, token_f1=s.token_f1, rouge_l=s.rouge_l)

        return cls(
            dataset=report.dataset, model_version=report.model_version,
            prompts=len(report.answered), complete=report.complete,
            base_kind=report.base.kind, base_reason=report.base.reason,
            fine_tuned=triple(report.fine_tuned_scores), base=triple(report.base_scores),
            wins=report.wins, ties=report.ties, losses=report.losses,
            examples=[SummaryExample(prompt=e.prompt, reference=e.reference,
                                     fine_tuned=e.fine_tuned, base=e.base,
                                     fine_tuned_scores=e.fine_tuned_scores,
                                     base_scores=e.base_scores, verdict=e.verdict)
                      for e in worst_first(report.answered)])


def worst_first(examples: list[Example]) -> list[Example]:
    """Answered examples, lowest fine-tuned token F1 first (then by index)."""
    return sorted(examples, key=lambda e: (
        e.fine_tuned_scores.token_f1 if e.fine_tuned_scores is not None else -1.0, e.index))
