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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from shared import clients, genai, logs, naming
from shared.errors import ConfigurationError, ErrorKind, classify, describe
from shared.evaluation.report import (
    BaseKind,
    BaseTarget,
    EvaluationReport,
    Example,
    answer_example,
)
from shared.events import EventParseError, ObjectEvent, parse_object_event
from shared.families import ApiShape
from shared.infer.models import InferRequest
from shared.infer.shapes import build_details, read_answer, shape_for
from shared.invocation import Invocation
from shared.outcome import Outcome, OutcomeStatus
from shared.records import MalformedRecord, quarantine, read_record, write_record
from shared.settings import Settings, Stage
from shared.stages.context import StageContext, hand_to, read_report, read_status
from shared.stages.guard import ObjectKind
from shared.status import DatasetState, DatasetStatus, utcnow
from shared.storage import PreconditionFailed

log = logs.get_logger("ocift.evaluate")

STAGE = Stage.EVALUATE.value
#: OCI Functions run for at most 300 s (deploy/local/functions.py, deploy/oci/functions.tf);
#: a claim older than this (plus slack) belongs to an invocation that is gone.
CLAIM_EXPIRY_SECONDS = 330.0
#: Kept free before the deadline besides the SDK's retry budget: the last writes.
FINISH_SECONDS = 10.0
#: When the platform gives no deadline and no budget is configured.
DEFAULT_BUDGET_SECONDS = 240.0
REGIONS_PAGE = "https://docs.oracle.com/iaas/Content/generative-ai/model-endpoint-regions.htm"


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
    asker = _Asker(ctx, status, report.base, chat)
    run = _Run(ctx, name, report, etag, invocation, asker)
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


class _Asker:
    """Sends one prompt to the fine-tuned endpoint or the base (Chat API only)."""

    def __init__(self, ctx: StageContext, status: DatasetStatus, base: BaseTarget,
                 chat: Callable[[Any], Any] | None) -> None:
        self.settings = ctx.settings
        self.shape: ApiShape = shape_for(status.base_model or "")
        self.endpoint_id = str(status.endpoint_id)
        self.base = base
        if chat is None:
            client = genai.CountingClient(clients.generative_ai_inference(ctx.settings),
                                          ctx.counter, "inference.")
            chat = client.chat
        self.chat = chat

    def ask(self, prompt: str, base: bool) -> str:
        from oci.generative_ai_inference import models as m

        req = InferRequest(prompt=prompt, max_tokens=self.settings.eval_max_tokens,
                           temperature=0.0)
        target = self.base.endpoint_id if base and self.base.endpoint_id else self.endpoint_id
        details = build_details(req, self.shape, target, str(self.settings.compartment_id))
        if base and self.base.kind is BaseKind.ON_DEMAND:
            details.serving_mode = m.OnDemandServingMode(model_id=self.base.model_id)
        return read_answer(self.shape, self.chat(details).data, req).text


@dataclass
class _Answer:
    index: int
    fine_tuned: str | None = None
    base: str | None = None
    error: str | None = None
    base_refused: str | None = None  # the base's first call was refused for good
    refused: Exception | None = None  # the fine-tuned call was refused for a grant/setting
    calls: int = 0


class _Run:
    """One invocation's share of a version's evaluation."""

    def __init__(self, ctx: StageContext, name: str, report: EvaluationReport, etag: str,
                 invocation: str, asker: _Asker) -> None:
        self.ctx = ctx
        self.name = name
        self.report = report
        self.etag = etag
        self.invocation = invocation
        self.asker = asker
        self.sent = 0
        self.claimed = 0

    def _write(self, change: Callable[[EvaluationReport], None]) -> None:
        """Apply ``change`` to the latest report and write it (re-read on a 412)."""
        for _ in range(20):
            report = self.report.model_copy(deep=True)
            change(report)
            report.aggregate()
            try:
                self.etag = write_record(self.ctx.store, self.name, report,
                                         if_match=self.etag)
                self.report = report
                return
            except PreconditionFailed:
                got = read_record(self.ctx.store, self.name, EvaluationReport)
                if got is None:
                    raise
                self.report, self.etag = got
        raise RuntimeError(f"{self.name} kept changing under this invocation")

    def invocation_started(self) -> None:
        expiry = utcnow() - timedelta(seconds=CLAIM_EXPIRY_SECONDS)

        def change(report: EvaluationReport) -> None:
            report.invocations += 1
            for i, e in enumerate(report.examples):
                if (e.claimed_by and not e.done and not e.lost and e.claimed_at is not None
                        and e.claimed_at < expiry):
                    report.examples[i] = e.model_copy(update={
                        "lost": True, "error": "its invocation stopped before the answer "
                                               "was recorded; not sent again"})

        self._write(change)

    def go(self, budget: Budget) -> None:
        concurrency = self.ctx.settings.eval_concurrency
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            while True:
                room = min(budget.allows(self.claimed), concurrency)
                if room <= 0:
                    return
                batch = self._claim(room)
                if not batch:
                    return
                answers = list(pool.map(self._answer, batch))
                self._record(answers)
                refused = next((a.refused for a in answers if a.refused is not None), None)
                if refused is not None:  # a missing grant or setting: kept until fixed
                    raise ConfigurationError(
                        f"the fine-tuned endpoint refused Chat ({describe(refused)}): grant "
                        "'use generative-ai-chat' (deploy/iam/evaluate.json)") from refused

    def _claim(self, room: int) -> list[Example]:
        chosen: list[int] = []

        def change(report: EvaluationReport) -> None:
            chosen.clear()
            now = utcnow()
            for i, e in enumerate(report.examples):
                if len(chosen) >= room:
                    break
                if e.claimed_by is None:
                    report.examples[i] = e.model_copy(update={
                        "claimed_by": self.invocation, "claimed_at": now})
                    chosen.append(i)

        self._write(change)
        self.claimed += len(chosen)
        return [self.report.examples[i] for i in chosen]

    def _answer(self, example: Example) -> _Answer:
        out = _Answer(index=example.index)
        errors = []
        try:
            out.fine_tuned = self.asker.ask(example.prompt, base=False)
        except Exception as exc:
            out.calls += 1
            if classify(exc) is ErrorKind.MISCONFIGURED:
                out.refused = exc  # not served: released, sent again once it is fixed
                return out
            errors.append(f"fine-tuned: {describe(exc)}")
        else:
            out.calls += 1
        if self.asker.base.kind is not BaseKind.NONE:
            try:
                out.base = self.asker.ask(example.prompt, base=True)
            except Exception as exc:
                errors.append(f"base: {describe(exc)}")
                if classify(exc) is not ErrorKind.TRANSIENT:
                    out.base_refused = describe(exc)
            finally:
                out.calls += 1
        out.error = "; ".join(errors) or None
        return out

    def _record(self, answers: list[_Answer]) -> None:
        refused = next((a.base_refused for a in answers if a.base_refused), None)
        base_answered = any(a.base is not None for a in answers) or any(
            e.base is not None for e in self.report.examples)
        if refused and not base_answered:
            # The base never answered and refused for good: go on without it.
            base = self.asker.base
            self.asker.base = base.model_copy(update={"kind": BaseKind.NONE, "reason": (
                f"the base model {base.model or ''} refused its first call ({refused}); this "
                f"region may not serve it on demand ({REGIONS_PAGE}): set "
                "OCIFT_EVAL_BASE_ENDPOINT_ID to compare with an endpoint")})
        released = {a.index for a in answers if a.refused is not None}
        by_index = {a.index: a for a in answers if a.refused is None}
        sent = sum(a.calls for a in answers)
        self.sent += sent

        def change(report: EvaluationReport) -> None:
            report.prompts_sent += sent
            report.base = self.asker.base
            for i, e in enumerate(report.examples):
                if e.index in released and e.claimed_by == self.invocation and not e.done:
                    report.examples[i] = e.model_copy(update={"claimed_by": None,
                                                              "claimed_at": None})
                    continue
                got = by_index.get(e.index)
                if got is None or e.claimed_by != self.invocation or e.done:
                    continue
                base = got.base if self.asker.base.kind is not BaseKind.NONE else None
                report.examples[i] = answer_example(e, got.fine_tuned, base, got.error)
            if report.base.kind is BaseKind.NONE:  # no base: no half-compared examples
                report.examples = [e.model_copy(update={"base": None, "base_scores": None,
                                                        "verdict": None})
                                   for e in report.examples]

        self._write(change)
