"""The evaluate stage: score a model version against its base on the held-out split.

Woken by ``handoff/evaluate/<dataset>.json``, which the watcher writes when a version's
endpoint becomes ACTIVE (and reconcile writes again for a serving version whose
evaluation is missing or unfinished). The status object is the record: only an
ENDPOINT_ACTIVE dataset is evaluated, for the version it names.

Progress is the report itself, ``reports/<dataset>.v<version>.eval.json``
(:class:`~shared.evaluation.report.EvaluationReport`), written conditionally (If-Match):

1. a batch of up to ``OCIFT_EVAL_CONCURRENCY`` unclaimed examples is *claimed* in one
   write (another invocation's claim makes ours fail with 412: we re-read and take
   others), then each prompt is sent to the fine-tuned endpoint and to the base, the
   batch's calls in parallel threads;
2. the answers and scores are written in the next write;
3. before the time left (the call's ``Fn-Deadline`` minus the SDK's retry budget, or
   ``OCIFT_EVAL_TIME_BUDGET_SECONDS``) or ``OCIFT_EVAL_PROMPTS_PER_INVOCATION`` runs out
   it stops claiming, and writes its own hand-off again: the next invocation resumes
   where this one stopped. A prompt is never sent twice for one version: an example
   claimed by an invocation that died before answering is recorded ``lost`` once its
   claim is older than any function may run (:data:`CLAIM_EXPIRY_SECONDS`).

The base is, in order: the endpoint ``OCIFT_EVAL_BASE_ENDPOINT_ID`` names; the base model
on demand (``OnDemandServingMode``, billed per call, capped by ``OCIFT_EVAL_MAX_PROMPTS``;
not every region offers every model on demand, see "Generative AI Models by Region",
https://docs.oracle.com/iaas/Content/generative-ai/model-endpoint-regions.htm, and
https://docs.oracle.com/iaas/Content/generative-ai/modes.htm); or none
(``OCIFT_EVAL_ON_DEMAND_BASE=false``), in which case the fine-tuned model is scored alone
and the report says why. When the base refuses its first call (the region does not serve
it on demand, a missing grant), the evaluation goes on without a base and says so.

Prompts and answers are never logged; they live only in the report, in the bucket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from shared import logs, naming
from shared.evaluation.progress import CLAIM_EXPIRY_SECONDS, Asker, Run
from shared.evaluation.report import BaseKind, BaseTarget, EvaluationReport, Example
from shared.events import EventParseError, ObjectEvent, parse_object_event
from shared.invocation import Invocation
from shared.outcome import Outcome, OutcomeStatus
from shared.records import MalformedRecord, quarantine, read_record, write_record
from shared.settings import Settings, Stage
from shared.stages.context import StageContext, hand_to, read_report, read_status
from shared.stages.guard import ObjectKind
from shared.status import DatasetState, DatasetStatus
from shared.storage import PreconditionFailed

log = logs.get_logger("ocift.evaluate")

STAGE = Stage.EVALUATE.value
__all__ = ["CLAIM_EXPIRY_SECONDS", "Budget", "evaluate", "work"]
#: Kept free before the deadline besides the SDK's retry budget: the last writes.
FINISH_SECONDS = 10.0
#: When the platform gives no deadline and no budget is configured.
DEFAULT_BUDGET_SECONDS = 240.0


def _outcome(status: OutcomeStatus, reason: str, name: str | None, **details: Any) -> Outcome:
    return Outcome.of(STAGE, status, reason, name, **details)


@dataclass
class Budget:
    """When to stop claiming: a monotonic end time and a number of examples."""

    ends: float
    examples: int | None

    @classmethod
    def of(cls, inv: Invocation) -> Budget:
        s = inv.settings
        now = time.monotonic()
        seconds = s.eval_time_budget_seconds or DEFAULT_BUDGET_SECONDS
        if inv.deadline is not None:
            left = inv.deadline - time.time() - s.retry_max_seconds - FINISH_SECONDS
            seconds = min(seconds, left) if s.eval_time_budget_seconds else left
        return cls(ends=now + seconds, examples=s.eval_prompts_per_invocation)

    def allows(self, done: int) -> int:
        """How many more examples may be claimed (0: stop). The first batch always may, so
        every invocation makes progress, however little time it was given."""
        if done and time.monotonic() >= self.ends:
            return 0
        if self.examples is None:
            return 1 << 30
        return max(0, self.examples - done)


def work(inv: Invocation) -> Outcome:
    """The evaluate stage's work: parse the hand-off's event, then evaluate its dataset."""
    from shared.runtime import handle_object_event

    try:
        event = parse_object_event(inv.body)
    except EventParseError as exc:
        return _outcome(OutcomeStatus.REJECTED, str(exc), None)
    logs.bind(object=event.object_name, bucket=event.bucket, etag=event.etag)
    budget = Budget.of(inv)
    invocation = inv.request_id or f"call-{time.time_ns()}"

    def route(ctx: StageContext, _event: ObjectEvent, dataset: str) -> Outcome:
        return evaluate(ctx, dataset, budget, invocation)

    return handle_object_event(inv.stage, {ObjectKind.HANDOFF: route}, event, inv.settings)


class _Line(BaseModel):
    """One line of ``eval/<dataset>.jsonl``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str
    completion: str


def evaluate(ctx: StageContext, dataset: str, budget: Budget, invocation: str,
             chat: Callable[[Any], Any] | None = None) -> Outcome:
    """Evaluate the version ``status/<dataset>.json`` serves, as far as ``budget`` allows."""
    status_name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None:
        return _outcome(OutcomeStatus.SKIPPED, "no status object", status_name)
    status = current[0]
    if (status.state is not DatasetState.ENDPOINT_ACTIVE or not status.model_id
            or not status.endpoint_id or not status.model_version):
        return _outcome(OutcomeStatus.SKIPPED,
                        f"state {status.state.value}: nothing serves to evaluate", status_name)
    name = naming.evaluation_report_object(ctx.settings, dataset, status.model_version)
    broken: str | None = None
    try:
        got = read_record(ctx.store, name, EvaluationReport)
    except MalformedRecord as bad:
        # Kept in quarantine; the version is evaluated afresh (what the broken report
        # recorded cannot be read, so its examples may be sent a second time: said below).
        quarantine(ctx.store, ctx.settings, bad, STAGE)
        got, broken = None, bad.etag
    created = False
    if got is None:
        report = _start(ctx, status)
        if broken:
            report.notes.append(f"a previous {name} did not parse (quarantined): evaluated "
                                "afresh, so some prompts may have been sent twice")
        try:
            etag = write_record(ctx.store, name, report,
                                **({"if_match": broken} if broken else {"if_none_match": "*"}))
            created = True
        except PreconditionFailed:  # another invocation started it at the same moment
            got = read_record(ctx.store, name, EvaluationReport)
            if got is None:
                raise
            report, etag = got
    else:
        report, etag = got
    if report.model_id != status.model_id:
        return _outcome(OutcomeStatus.SKIPPED, f"{name} is of model {report.model_id}, the "
                        f"status serves {status.model_id}", name)
    if report.complete:
        if created:  # nothing to send (no split): the report says why
            return _outcome(OutcomeStatus.DONE, report.headline(), name, report=name)
        return _outcome(OutcomeStatus.DUPLICATE, "already evaluated", name,
                        headline=report.headline())
    asker = Asker(ctx, status, report.base, chat)
    run = Run(ctx, name, report, etag, invocation, asker)
    run.invocation_started()
    run.go(budget)
    report = run.report
    if report.complete:
        log.info("version evaluated", extra={"dataset": dataset, "examples": len(
            report.examples), "prompts_sent": report.prompts_sent})
        return _outcome(OutcomeStatus.DONE, report.headline(), name, report=name,
                        sent=run.sent)
    if report.pending() and run.claimed:
        # More to do than this invocation may: wake the next one to resume.
        hand_to(ctx, Stage.EVALUATE, status, current[1],
                f"evaluate: resume ({len(report.pending())} examples left)")
        return _outcome(OutcomeStatus.PENDING, f"{report.headline()}; resumes in the next "
                        "invocation", name, report=name, sent=run.sent)
    if report.pending():
        return _outcome(OutcomeStatus.PENDING, "no example claimed in this invocation; "
                        "reconcile hands it back", name, report=name)
    return _outcome(OutcomeStatus.PENDING, "waiting for examples another invocation claimed",
                    name, report=name, sent=run.sent)


def _start(ctx: StageContext, status: DatasetStatus) -> EvaluationReport:
    """The report of a version not evaluated yet: its examples and its base."""
    settings = ctx.settings
    assert status.model_id and status.endpoint_id and status.model_version
    common: dict[str, Any] = {
        "dataset": status.dataset, "model_version": status.model_version,
        "model_id": status.model_id, "endpoint_id": status.endpoint_id,
        "base_model": status.base_model, "base": _base_target(settings, status)}
    split = read_report(ctx, status.dataset)
    doc = split[0] if split is not None else None
    if doc is None or not doc.eval_object or not doc.eval_records:
        why = next((n for n in (doc.notes if doc else []) if "evaluation split" in n),
                   "the dataset has no held-out split (a JSONL uploaded directly, or "
                   "OCIFT_EVAL_SIZE=0)")
        return _finished(EvaluationReport(**common, notes=[why]))
    if status.content_sha256 and doc.output_sha256 and doc.output_sha256 != status.content_sha256:
        return _finished(EvaluationReport(**common, notes=[
            "the dataset's current split belongs to a newer upload, not to this version"]))
    got = ctx.store.read_bytes(doc.eval_object)
    if got is None:
        return _finished(EvaluationReport(**common, notes=[
            f"{doc.eval_object} is missing: nothing to evaluate on"]))
    content, eval_etag = got
    examples = []
    for index, line in enumerate(content.decode("utf-8").splitlines()):
        try:
            pair = _Line.model_validate(json.loads(line))
        except (ValueError, ValidationError):
            continue  # the stage wrote it: a damaged line is left out, never sent
        examples.append(Example(index=index, prompt=pair.prompt, reference=pair.completion))
    notes = []
    cap = settings.eval_max_prompts
    if cap is not None and cap < len(examples):
        notes.append(f"OCIFT_EVAL_MAX_PROMPTS={cap}: {cap} of {len(examples)} examples "
                     "evaluated")
    report = EvaluationReport(**common, eval_object=doc.eval_object, eval_etag=eval_etag,
                              split_size=len(examples), examples=examples[:cap],
                              max_prompts=cap, notes=notes)
    report.aggregate()
    return report


def _finished(report: EvaluationReport) -> EvaluationReport:
    report.aggregate()
    return report


def _base_target(settings: Settings, status: DatasetStatus) -> BaseTarget:
    if settings.eval_base_endpoint_id:
        return BaseTarget(kind=BaseKind.ENDPOINT, model=status.base_model,
                          endpoint_id=settings.eval_base_endpoint_id)
    if not settings.eval_on_demand_base:
        return BaseTarget(kind=BaseKind.NONE, model=status.base_model, reason=(
            "OCIFT_EVAL_ON_DEMAND_BASE is false and OCIFT_EVAL_BASE_ENDPOINT_ID is not set"))
    if not status.base_model_id:
        return BaseTarget(kind=BaseKind.NONE, model=status.base_model,
                          reason="the status names no base model id to call on demand")
    return BaseTarget(kind=BaseKind.ON_DEMAND, model=status.base_model,
                      model_id=status.base_model_id)
