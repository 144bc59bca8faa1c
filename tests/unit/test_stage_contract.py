"""The stage contract: strict records, the closed transition table, quarantine, hand-offs."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from shared.handoff import HandOff, hand_off
from shared.records import (
    MalformedRecord,
    QuarantineRecord,
    quarantine,
    quarantined,
    read_record,
)
from shared.settings import Stage
from shared.stages import watch as watcher
from shared.stages.context import read_status
from shared.status import (
    ENTRY,
    INITIAL,
    TRANSITIONS,
    DatasetState,
    DatasetStatus,
    IllegalTransition,
)
from tests.support.fakes import drop_jsonl, finish_training, make_ctx, start_training

S = DatasetState
POISONS = [b"{}", b"not json", b'{"dataset": "x", "state": "NO_SUCH_STATE"}',
           b'{"dataset": "x", "state": "TRAINING", "modle_id": "typo"}',
           b'{"dataset": "x", "state": "TRAINING", "percent_complete": "half"}']


# -- the record and its transitions ------------------------------------------------------------


def training() -> DatasetStatus:
    return DatasetStatus.started("d", S.TRAINING, model_id="m1", source_etag="e1")


def test_a_typo_or_a_wrong_type_in_a_move_raises_instead_of_being_dropped() -> None:
    with pytest.raises(IllegalTransition, match="modle_id"):
        training().moved_to(S.TRAINING, modle_id="x")
    with pytest.raises(IllegalTransition, match="percent_complete"):
        training().moved_to(S.TRAINING, percent_complete="not a float")
    with pytest.raises(IllegalTransition, match="protected"):
        training().moved_to(S.TRAINING, history=[])


def test_a_move_outside_the_table_raises_and_names_the_table() -> None:
    with pytest.raises(IllegalTransition, match=r"TRAINING -> ENDPOINT_ACTIVE is not an allowed"):
        training().moved_to(S.ENDPOINT_ACTIVE, endpoint_id="e")
    with pytest.raises(IllegalTransition, match="first status cannot be ENDPOINT_ACTIVE"):
        DatasetStatus.started("d", S.ENDPOINT_ACTIVE)


def test_entering_a_state_requires_its_fields_and_clears_the_stale_ones() -> None:
    with pytest.raises(IllegalTransition, match="MODEL_FAILED needs reason"):
        training().moved_to(S.MODEL_FAILED)
    serving = (training().moved_to(S.MODEL_ACTIVE, model_metrics={"final_loss": 0.1})
               .moved_to(S.ENDPOINT_CREATING, endpoint_id="e1", hosting_cluster_id="h1")
               .moved_to(S.ENDPOINT_ACTIVE, endpoint_state="ACTIVE"))
    # A new upload queued: nothing of the old version's model or endpoint survives.
    queued = serving.moved_to(S.QUEUED, "new upload", source_object="raw/d.json",
                              source_etag="e2")
    for name in ENTRY[S.QUEUED].clears:
        assert getattr(queued, name) == DatasetStatus.model_fields[name].get_default(
            call_default_factory=True), name
    assert queued.model_id is None and queued.endpoint_id is None and queued.reason == ""
    assert [h.state for h in queued.history] == [S.TRAINING, S.MODEL_ACTIVE,
                                                 S.ENDPOINT_CREATING, S.ENDPOINT_ACTIVE,
                                                 S.QUEUED]
    # A change of detail in the same state clears nothing.
    again = serving.moved_to(S.ENDPOINT_ACTIVE, "idle clusters", idle_clusters=[])
    assert again.endpoint_id == "e1" and again.model_metrics == {"final_loss": 0.1}


def test_the_table_is_closed_over_every_state() -> None:
    assert set(TRANSITIONS) == set(DatasetState) == set(ENTRY)
    for state, targets in TRANSITIONS.items():
        assert state in targets, f"{state} must allow a change of detail"
        assert targets <= set(DatasetState)
    assert set(DatasetState) >= INITIAL
    # Terminal-looking states only start over through a new version (which may also wait
    # for the user's approval: issue 24), or go back to MODEL_ACTIVE when their endpoint
    # is gone (issue 27).
    assert TRANSITIONS[S.ENDPOINT_FAILED] == {S.ENDPOINT_FAILED, S.QUEUED, S.REJECTED,
                                              S.AWAITING_APPROVAL, S.PENDING_CLUSTER,
                                              S.TRAINING, S.MODEL_ACTIVE}


@pytest.mark.parametrize("doc", POISONS)
def test_a_malformed_status_is_refused_on_read(doc: bytes) -> None:
    ctx, store, _ = make_ctx()
    store.objects["status/x.json"] = (doc, "etag-bad", {})
    with pytest.raises(MalformedRecord) as caught:
        read_status(ctx, "x")
    assert caught.value.name == "status/x.json" and caught.value.etag == "etag-bad"
    assert caught.value.error  # says what is wrong


# -- quarantine ---------------------------------------------------------------------------------


def test_quarantine_records_once_per_version_keeps_a_copy_and_lists_it() -> None:
    ctx, store, _ = make_ctx()
    store.objects["status/x.json"] = (b"not json", "etag-1", {})
    with pytest.raises(MalformedRecord) as caught:
        read_status(ctx, "x")
    assert quarantine(ctx.store, ctx.settings, caught.value, "watch") is True
    assert quarantine(ctx.store, ctx.settings, caught.value, "train") is False  # once
    got = read_record(ctx.store, "quarantine/status/x.json.json", QuarantineRecord)
    assert got is not None
    record = got[0]
    assert (record.object, record.etag, record.seen_by, record.content) == (
        "status/x.json", "etag-1", "watch", b"not json")
    assert store.objects["status/x.json"][0] == b"not json"  # the document is untouched
    assert [q.object for q in quarantined(ctx.store, ctx.settings)] == ["status/x.json"]
    # Once the document is fixed (a new version), the old record is no longer listed.
    store.objects["status/x.json"] = (b"{}", "etag-2", {})
    assert quarantined(ctx.store, ctx.settings) == []


# -- no poison object ---------------------------------------------------------------------------


@pytest.mark.parametrize("doc", POISONS)
def test_a_poisoned_status_never_fails_a_tick_and_blocks_no_other_dataset(doc: bytes) -> None:
    ctx, store, ai = make_ctx()
    store.objects["status/poison.json"] = (doc, f"etag-{POISONS.index(doc)}", {})
    model_id = start_training(ctx, ai, "good")
    ai.finish(model_id)
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.errors == []
    assert report.quarantined == ["status/poison.json"]
    assert store.status("good")["state"] == "MODEL_ACTIVE"
    assert "quarantine/status/poison.json.json" in store.objects
    again = watcher.tick(ctx.settings, ctx=ctx)
    assert again.errors == [] and again.quarantined == []  # recorded once, not re-read


def test_reconcile_never_fails_on_any_bucket_content() -> None:
    ctx, store, ai = make_ctx()
    finish_training(ctx, ai, "good")
    for i, doc in enumerate(POISONS):
        store.objects[f"status/p{i}.json"] = (doc, f"etag-s{i}", {})
        store.objects[f"reports/p{i}.json"] = (doc, f"etag-r{i}", {})
        store.objects[f"handoff/train/p{i}.json"] = (doc, f"etag-h{i}", {})
    store.objects["raw/p0.json"] = (b"[]", "etag-raw", {})
    store.objects["training/p1.jsonl"] = (b"", "etag-jsonl", {})
    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert report.errors == []
    assert {f"status/p{i}.json" for i in range(len(POISONS))} <= set(report.quarantined)
    # The raw object and the JSONL whose statuses were poisoned are queued over them.
    assert store.status("p0")["state"] == "QUEUED"
    assert store.status("p1")["state"] == "QUEUED"
    assert json.loads(store.objects["handoff/convert/p0.json"][0])["stage"] == "convert"
    assert json.loads(store.objects["handoff/train/p1.json"][0])["stage"] == "train"


def test_reconcile_rebuilds_a_quarantined_status_from_the_model_tags() -> None:
    ctx, store, ai = make_ctx()
    model_id = finish_training(ctx, ai, "fin")
    store.objects["status/fin.json"] = (b"{}", "etag-bad", {})
    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert report.actions[0] == "fin: status rebuilt"
    assert store.status("fin")["model_id"] == model_id
    record = read_record(ctx.store, "quarantine/status/fin.json.json", QuarantineRecord)
    assert record is not None and record[0].content == b"{}"  # nothing lost


def test_a_lost_status_leaves_no_finetuning_cluster_billing_after_one_reconcile() -> None:
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    del store.objects["status/fin.json"]  # lost mid-training
    ai.finish(model_id)
    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        watcher.reconcile(ctx.settings)
    status = store.status("fin")
    assert status["state"] == "MODEL_ACTIVE"
    released = [r["cluster_id"] for r in status["releases"] if r["ready"]]
    finetuning = [c.id for c in ai.clusters.values() if c.type == "FINE_TUNING"]
    assert released == finetuning  # handed to the endpoint stage, which deletes it
    assert json.loads(store.objects["handoff/endpoint/fin.json"][0])["state"] == "MODEL_ACTIVE"


# -- hand-offs ----------------------------------------------------------------------------------


def test_a_status_write_hands_off_to_exactly_the_owner() -> None:
    ctx, store, ai = make_ctx()
    drop_jsonl(ctx, "fin")
    from shared.stages.train import train_dataset

    train_dataset(ctx, "fin", None)  # PENDING_CLUSTER: the cluster is CREATING
    assert not [n for n in store.objects if n.startswith("handoff/")]
    watcher.tick(ctx.settings, ctx=ctx)  # nothing changed: no hand-off
    assert not [n for n in store.objects if n.startswith("handoff/")]
    ai.activate_clusters()
    watcher.tick(ctx.settings, ctx=ctx)
    assert [n for n in store.objects if n.startswith("handoff/")] == ["handoff/train/fin.json"]
    handed = HandOff.model_validate_json(store.objects["handoff/train/fin.json"][0])
    assert (handed.stage, handed.state, handed.dataset) == (Stage.TRAIN, S.PENDING_CLUSTER,
                                                            "fin")


def test_a_handoff_is_strict_and_only_for_event_stages() -> None:
    ctx, _, _ = make_ctx()
    with pytest.raises(ValueError, match="not woken by hand-offs"):
        hand_off(ctx.store, ctx.settings, Stage.WATCH, "d", S.QUEUED, "x", None)
    with pytest.raises(ValueError, match="extra"):
        HandOff.model_validate({"dataset": "d", "stage": "train", "state": "QUEUED",
                                "reason": "r", "surprise": 1})


def _event(name: str) -> Any:
    from shared.events import parse_object_event
    from tests.support.events import object_event

    return parse_object_event(object_event(name, bucket="b", namespace="ns"))


@pytest.mark.parametrize("doc", [b"not json", b"{}",
                                 b'{"dataset": "other", "stage": "train", "state": "QUEUED",'
                                 b' "reason": "r"}'])
def test_a_malformed_handoff_is_quarantined_and_answered_not_retried(doc: bytes) -> None:
    from shared.outcome import OutcomeStatus
    from shared.runtime import handle_object_event
    from shared.stages.guard import ObjectKind

    ctx, store, _ = make_ctx()
    store.objects["handoff/train/fin.json"] = (doc, "etag-h", {})
    called: list[str] = []
    routes = {ObjectKind.HANDOFF: lambda c, e, d: called.append(d)}
    with mock.patch("shared.runtime.context_for", return_value=ctx):
        outcome = handle_object_event(Stage.TRAIN, routes,  # type: ignore[arg-type]
                                      _event("handoff/train/fin.json"), ctx.settings)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert outcome.reason.startswith("quarantined handoff/train/fin.json: ")
    assert called == []
    assert "quarantine/handoff/train/fin.json.json" in store.objects
