"""Watcher ticks and status transitions against the in-memory fakes of ``tests.support``."""

from __future__ import annotations

import json
from typing import Any

from shared.stages import watch as watcher
from shared.stages.train import train_dataset
from tests.support.fakes import drop_jsonl, finish_training, make_ctx, start_training


def test_progress_then_active_is_recorded_with_metrics() -> None:
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    wr = ai.work_requests[ai.models[model_id].wr]
    wr.status, wr.percent_complete = "IN_PROGRESS", 40.0
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.in_flight == 1 and report.changed == ["fin: TRAINING"]
    assert store.status("fin")["percent_complete"] == 40.0
    # Nothing moved: no write (a rewrite would be a spurious event).
    etag = store.objects["status/fin.json"][1]
    assert watcher.tick(ctx.settings, ctx=ctx).changed == []
    assert store.objects["status/fin.json"][1] == etag

    ai.finish(model_id)
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.changed == ["fin: MODEL_ACTIVE"]
    status = store.status("fin")
    assert status["state"] == "MODEL_ACTIVE" and status["percent_complete"] == 100.0
    assert status["model_metrics"] == {"final_accuracy": 0.9, "final_loss": 0.1}


def test_failed_training_records_lifecycle_details() -> None:
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    ai.finish(model_id, ok=False)
    watcher.tick(ctx.settings, ctx=ctx)
    status = store.status("fin")
    assert status["state"] == "MODEL_FAILED" and status["reason"] == "loss diverged"
    assert watcher.tick(ctx.settings, ctx=ctx).in_flight == 0  # terminal: never polled again


def test_pending_cluster_is_resumed_through_the_train_stage() -> None:
    ctx, store, ai = make_ctx()
    drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", None)
    assert watcher.tick(ctx.settings, ctx=ctx).resumed == []  # cluster still CREATING
    ai.activate_clusters()
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.resumed == ["fin: train done"]
    assert store.status("fin")["state"] == "TRAINING"


def test_calls_per_tick_follow_in_flight_datasets_not_the_compartment() -> None:
    ctx, store, ai = make_ctx()
    in_flight = [start_training(ctx, ai, f"d{i}") for i in range(3)]
    for i in range(5):  # finished datasets and unrelated models cost nothing
        finish_training(ctx, ai, f"done{i}")
        status = store.status(f"done{i}")
        status["state"] = "ENDPOINT_ACTIVE"
        ctx.store.put_json(f"status/done{i}.json", status)
    for wr in ai.work_requests.values():
        if wr.status == "ACCEPTED":
            wr.status = "IN_PROGRESS"
    watcher.tick(ctx.settings, ctx=ctx)  # a cold watcher reads every status object once
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.in_flight == len(in_flight) == 3
    assert report.calls.get("genai.get_work_request") == 3
    assert report.genai_calls == 3
    assert not any(op.startswith("genai.list") for op in report.calls)
    # Finished datasets are listed but not read again while unchanged.
    assert report.calls.get("objectstorage.list_objects") == 1
    assert report.calls.get("objectstorage.get_object") == 3


def test_reconcile_rebuilds_a_lost_status_from_tags() -> None:
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    ai.finish(model_id)
    del store.objects["status/fin.json"]
    del store.objects["training/fin.jsonl"]  # only the cloud remembers
    from unittest import mock

    with mock.patch("shared.stages.watch.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert "fin: status rebuilt" in report.actions
    status = store.status("fin")
    assert status["model_id"] == model_id
    # Rebuilt as MODEL_ACTIVE, then the endpoint step ran (hosting cluster requested).
    assert status["state"] == "PENDING_HOSTING_CLUSTER"
    assert ai.creates.count("model") == 1


def test_watch_function_ticks_on_any_schedule_body_and_reconciles_on_request() -> None:
    from deploy.local.target import watch_tick_body
    from shared.stages.watch import wants_reconcile

    ons_alarm = json.dumps({"dedupeKey": "x", "title": "ocift-watch", "type": "OK_TO_FIRING"})
    for body in (watch_tick_body(), b"", b"not json", ons_alarm.encode(), b"[]"):
        assert not wants_reconcile(body)
    assert wants_reconcile(b'{"kind": "reconcile"}')
    assert wants_reconcile(b'{"source": "ocift.cli", "action": "reconcile"}')


def test_warm_watch_function_reconciles_first_then_periodically(
        monkeypatch: Any) -> None:
    from shared.stages import watch as fn

    monkeypatch.setattr(fn._Schedule, "last_reconcile", None)
    assert fn.reconcile_due(100.0)
    monkeypatch.setattr(fn._Schedule, "last_reconcile", 100.0)
    assert not fn.reconcile_due(100.0 + fn.RECONCILE_EVERY_SECONDS - 1)
    assert fn.reconcile_due(100.0 + fn.RECONCILE_EVERY_SECONDS)
