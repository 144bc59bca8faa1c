"""One invocation's share of a version's evaluation: claim, ask, record (issue 25).

The evaluate stage (:mod:`shared.stages.evaluate`) decides *whether* and *for how long*;
this module does the work against the report, which is the progress record: a batch of
unclaimed examples is claimed in one conditional write before its prompts are sent, and
answered in the next (a 412 means another invocation wrote: re-read, apply again).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from shared import clients, genai
from shared.errors import ConfigurationError, ErrorKind, classify, describe
from shared.evaluation.report import BaseKind, BaseTarget, EvaluationReport, Example, answer_example
from shared.families import ApiShape
from shared.infer.models import InferRequest
from shared.infer.shapes import build_details, read_answer, shape_for
from shared.records import read_record, write_record
from shared.stages.context import StageContext
from shared.status import DatasetStatus, utcnow
from shared.storage import PreconditionFailed

#: OCI Functions run for at most 300 s (deploy/local/functions.py, deploy/oci/functions.tf);
#: a claim older than this (plus slack) belongs to an invocation that is gone.
CLAIM_EXPIRY_SECONDS = 330.0
REGIONS_PAGE = "https://docs.oracle.com/iaas/Content/generative-ai/model-endpoint-regions.htm"


class Allowance(Protocol):
    """How many more examples an invocation may claim (the stage's budget)."""

    def allows(self, done: int) -> int: ...


class Asker:
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


class Run:
    """One invocation's share of a version's evaluation."""

    def __init__(self, ctx: StageContext, name: str, report: EvaluationReport, etag: str,
                 invocation: str, asker: Asker) -> None:
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

    def go(self, budget: Allowance) -> None:
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
