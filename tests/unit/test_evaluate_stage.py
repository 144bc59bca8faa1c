"""The evaluate stage's progress, resume and base rules (fake bucket, fake Chat)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared import naming
from shared.evaluation.report import BaseKind, EvaluationReport
from shared.outcome import OutcomeStatus
from shared.records import read_record, write_record
from shared.reports import DatasetReport
from shared.stages.context import StageContext
from shared.stages.evaluate import CLAIM_EXPIRY_SECONDS, Budget, evaluate
from shared.status import DatasetState, DatasetStatus, utcnow
from tests.support.fakes import make_ctx, service_error

PAIRS = [(f"what is item {i}?", f"item {i} is a thing number {i}") for i in range(7)]


def _serve(ctx: StageContext, dataset: str = "d", pairs: list[tuple[str, str]] = PAIRS,
           version: str = "1") -> None:
    status = DatasetStatus.started(dataset, DatasetState.MODEL_ACTIVE, model_id=f"m{version}",
                                   model_version=version, base_model="cohere.command-r-08-2024",
                                   base_model_id="ocid1.generativeaimodel.oc1..base")
    status = status.moved_to(DatasetState.ENDPOINT_CREATING, endpoint_id=f"e{version}")
    status = status.moved_to(DatasetState.ENDPOINT_ACTIVE)
    write_record(ctx.store, naming.status_object(ctx.settings, dataset), status)
    eval_name = naming.eval_object(ctx.settings, dataset) if pairs else None
    write_record(ctx.store, naming.report_object(ctx.settings, dataset), DatasetReport(
        valid=True, dataset=dataset, source_object=f"raw/{dataset}.json", source_etag="r",
        eval_records=len(pairs), eval_object=eval_name,
        notes=[] if pairs else ["no evaluation split: too few"]))
    if eval_name:
        ctx.store.put_bytes(eval_name, "".join(
            json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in pairs).encode())


class Chat:
    """Chat as the stage calls it: the fine-tuned model knows the answers, the base not."""

    def __init__(self, refuse_base: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.refuse_base = refuse_base

    def __call__(self, details: Any) -> Any:
        mode = details.serving_mode.serving_type
        prompt = details.chat_request.message
        self.calls.append((mode, prompt))
        if mode == "ON_DEMAND":
            if self.refuse_base:
                raise service_error(400, "InvalidParameter")
            text = "no idea"
        else:
            text = dict(PAIRS)[prompt]
        return SimpleNamespace(data=SimpleNamespace(chat_response=SimpleNamespace(
            text=text, finish_reason="COMPLETE", usage=None, documents=None, citations=None)))


def _budget(examples: int | None = None) -> Budget:
    return Budget(ends=time.monotonic() + 60, examples=examples)


def _report(ctx: StageContext, version: str = "1") -> EvaluationReport:
    got = read_record(ctx.store, naming.evaluation_report_object(ctx.settings, "d", version),
                      EvaluationReport)
    assert got is not None
    return got[0]


def test_a_version_is_scored_against_its_base() -> None:
    ctx, _, _ = make_ctx()
    _serve(ctx)
    chat = Chat()
    outcome = evaluate(ctx, "d", _budget(), "inv-1", chat)
    assert outcome.status is OutcomeStatus.DONE
    report = _report(ctx)
    assert report.complete and report.base.kind is BaseKind.ON_DEMAND
    assert report.fine_tuned_scores is not None and report.fine_tuned_scores.token_f1 == 1.0
    assert report.base_scores is not None and report.base_scores.token_f1 == 0.0
    assert (report.wins, report.ties, report.losses) == (7, 0, 0)
    assert sorted(chat.calls) == sorted([(m, p) for p, _ in PAIRS
                                         for m in ("DEDICATED", "ON_DEMAND")])
    assert report.prompts_sent == 14
    # a redelivered hand-off sends nothing more
    assert evaluate(ctx, "d", _budget(), "inv-2", chat).status is OutcomeStatus.DUPLICATE
    assert len(chat.calls) == 14


def test_a_split_over_the_budget_resumes_in_the_next_invocation() -> None:
    ctx, os_client, _ = make_ctx(eval_concurrency=2)
    _serve(ctx)
    chat = Chat()
    handoff = naming.handoff_object(ctx.settings, "evaluate", "d")
    outcomes = []
    for i in range(10):
        outcome = evaluate(ctx, "d", _budget(examples=3), f"inv-{i}", chat)
        outcomes.append(outcome.status)
        if outcome.status is OutcomeStatus.DONE:
            break
        assert handoff in os_client.objects  # the next invocation is woken
        del os_client.objects[handoff]
    assert outcomes == [OutcomeStatus.PENDING] * 2 + [OutcomeStatus.DONE]
    report = _report(ctx)
    assert report.invocations == 3 and report.complete
    assert [e.claimed_by for e in report.examples] == ["inv-0"] * 3 + ["inv-1"] * 3 + ["inv-2"]
    assert len(chat.calls) == len(set(chat.calls)) == 14  # each prompt once per model


def test_a_claim_of_a_dead_invocation_is_lost_not_resent() -> None:
    ctx, _, _ = make_ctx()
    _serve(ctx)
    evaluate(ctx, "d", _budget(examples=0), "inv-0", Chat())  # starts the report only
    name = naming.evaluation_report_object(ctx.settings, "d", "1")
    report = _report(ctx)
    old = utcnow() - timedelta(seconds=CLAIM_EXPIRY_SECONDS + 5)
    report.examples[0] = report.examples[0].model_copy(
        update={"claimed_by": "dead", "claimed_at": old})
    report.examples[1] = report.examples[1].model_copy(
        update={"claimed_by": "busy", "claimed_at": utcnow()})
    write_record(ctx.store, name, report)
    chat = Chat()
    outcome = evaluate(ctx, "d", _budget(), "inv-1", chat)
    assert outcome.status is OutcomeStatus.PENDING  # "busy" may still answer its example
    assert "another invocation" in outcome.reason
    report = _report(ctx)
    assert report.examples[0].lost and not report.examples[0].done
    assert not report.examples[1].done and not report.examples[1].lost
    prompts = {p for _, p in chat.calls}
    assert PAIRS[0][0] not in prompts and PAIRS[1][0] not in prompts
    assert len(prompts) == 5


def test_a_base_that_refuses_its_first_call_leaves_the_fine_tuned_model_alone() -> None:
    ctx, _, _ = make_ctx()
    _serve(ctx)
    evaluate(ctx, "d", _budget(), "inv-1", Chat(refuse_base=True))
    report = _report(ctx)
    assert report.complete and report.base.kind is BaseKind.NONE
    assert "not serve it on demand" in report.base.reason
    assert "OCIFT_EVAL_BASE_ENDPOINT_ID" in report.base.reason
    assert report.base_scores is None and report.fine_tuned_scores is not None
    assert all(e.base is None and e.verdict is None for e in report.examples)


def test_no_base_configured_and_a_cap_on_prompts() -> None:
    ctx, _, _ = make_ctx(eval_on_demand_base=False, eval_max_prompts=4)
    _serve(ctx)
    chat = Chat()
    evaluate(ctx, "d", _budget(), "inv-1", chat)
    report = _report(ctx)
    assert report.base.kind is BaseKind.NONE and "OCIFT_EVAL_ON_DEMAND_BASE" in report.base.reason
    assert len(report.examples) == 4 and report.split_size == 7
    assert any("OCIFT_EVAL_MAX_PROMPTS=4" in n for n in report.notes)
    assert {m for m, _ in chat.calls} == {"DEDICATED"} and len(chat.calls) == 4


def test_a_named_base_endpoint_is_used_instead_of_on_demand() -> None:
    ctx, _, _ = make_ctx(eval_base_endpoint_id="ocid1.generativeaiendpoint.oc1..base")
    _serve(ctx)
    seen: list[str] = []
    chat = Chat()

    def spy(details: Any) -> Any:
        seen.append(details.serving_mode.endpoint_id)
        return chat(details)

    evaluate(ctx, "d", _budget(), "inv-1", spy)
    report = _report(ctx)
    assert report.base.kind is BaseKind.ENDPOINT
    assert seen.count("ocid1.generativeaiendpoint.oc1..base") == 7 and seen.count("e1") == 7


def test_a_version_without_a_split_gets_a_report_saying_so() -> None:
    ctx, _, _ = make_ctx()
    _serve(ctx, pairs=[])
    chat = Chat()
    assert evaluate(ctx, "d", _budget(), "inv-1", chat).status is OutcomeStatus.DONE
    report = _report(ctx)
    assert report.complete and not report.examples and chat.calls == []
    assert report.notes == ["no evaluation split: too few"]
    assert report.headline() == "not evaluated (no held-out split)"


@pytest.mark.parametrize("state", [DatasetState.MODEL_ACTIVE, DatasetState.ENDPOINT_CREATING])
def test_only_a_serving_version_is_evaluated(state: DatasetState) -> None:
    ctx, os_client, _ = make_ctx()
    status = DatasetStatus.started("d", DatasetState.MODEL_ACTIVE, model_id="m",
                                   model_version="1")
    if state is DatasetState.ENDPOINT_CREATING:
        status = status.moved_to(state, endpoint_id="e")
    write_record(ctx.store, naming.status_object(ctx.settings, "d"), status)
    outcome = evaluate(ctx, "d", _budget(), "inv-1", Chat())
    assert outcome.status is OutcomeStatus.SKIPPED
    assert not [n for n in os_client.objects if n.endswith(".eval.json")]


def test_out_of_time_an_invocation_still_answers_one_batch_then_hands_over() -> None:
    ctx, os_client, _ = make_ctx(eval_concurrency=2)
    _serve(ctx)
    late = Budget(ends=time.monotonic() - 1, examples=None)
    outcome = evaluate(ctx, "d", late, "inv-1", Chat())
    assert outcome.status is OutcomeStatus.PENDING
    assert sum(e.done for e in _report(ctx).examples) == 2
    assert naming.handoff_object(ctx.settings, "evaluate", "d") in os_client.objects


def test_a_missing_grant_releases_the_refused_examples_and_fails_the_invocation() -> None:
    from shared.errors import ConfigurationError

    ctx, _, _ = make_ctx(eval_concurrency=3)
    _serve(ctx)

    def denied(details: Any) -> Any:
        if details.serving_mode.serving_type == "DEDICATED":
            raise service_error(404, "NotAuthorizedOrNotFound")
        return Chat()(details)

    with pytest.raises(ConfigurationError, match="use generative-ai-chat"):
        evaluate(ctx, "d", _budget(), "inv-1", denied)
    report = _report(ctx)
    assert all(e.claimed_by is None and not e.done and not e.lost for e in report.examples)
    # once the grant is fixed, the next delivery evaluates every example
    assert evaluate(ctx, "d", _budget(), "inv-2", Chat()).status is OutcomeStatus.DONE
    assert _report(ctx).complete and all(e.done for e in _report(ctx).examples)


def test_a_report_that_does_not_parse_is_quarantined_and_the_version_evaluated_afresh() -> None:
    ctx, os_client, _ = make_ctx()
    _serve(ctx)
    name = naming.evaluation_report_object(ctx.settings, "d", "1")
    ctx.store.put_bytes(name, b'{"dataset": 7}')
    assert evaluate(ctx, "d", _budget(), "inv-1", Chat()).status is OutcomeStatus.DONE
    assert f"quarantine/{name}.json" in os_client.objects
    report = _report(ctx)
    assert report.complete and any("did not parse" in n for n in report.notes)


def test_a_cap_of_zero_sends_nothing_and_says_so() -> None:
    ctx, _, _ = make_ctx(eval_max_prompts=0)
    _serve(ctx)
    chat = Chat()
    assert evaluate(ctx, "d", _budget(), "inv-1", chat).status is OutcomeStatus.DONE
    assert chat.calls == [] and _report(ctx).headline() == (
        "not evaluated (OCIFT_EVAL_MAX_PROMPTS=0)")
