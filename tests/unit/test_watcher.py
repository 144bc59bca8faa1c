"""Watcher ticks and status transitions against the in-memory fakes of ``tests.support``."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from shared.stages import watch as watcher
from shared.stages.endpoint import ensure_endpoint
from shared.stages.train import train_dataset, train_handed_over
from shared.stages.watch.entry import SCHEDULE
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


def test_pending_cluster_is_handed_back_to_the_train_stage_which_creates_the_model() -> None:
    ctx, store, ai = make_ctx()
    drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", None)
    assert watcher.tick(ctx.settings, ctx=ctx).resumed == []  # cluster still CREATING
    ai.activate_clusters()
    creates = list(ai.creates)
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.resumed == ["fin: train"]
    assert ai.creates == creates  # the watcher recorded the change and created nothing
    status = store.status("fin")
    assert (status["state"], status["cluster_state"]) == ("PENDING_CLUSTER", "ACTIVE")
    assert watcher.tick(ctx.settings, ctx=ctx).changed == []  # written once per change
    # That write is the event the train stage receives (events/train-status-change.json).
    assert train_handed_over(ctx, "fin").status.value == "done"
    assert store.status("fin")["state"] == "TRAINING" and ai.creates.count("model") == 1


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

    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert report.actions[0] == "fin: status rebuilt"
    assert not any(a.startswith("fin: MODEL_ACTIVE handed back") for a in report.actions)
    handed = json.loads(store.objects["handoff/endpoint/fin.json"][0])
    assert (handed["stage"], handed["state"], handed["reason"]) == (
        "endpoint", "MODEL_ACTIVE", "reconcile: status rebuilt")
    status = store.status("fin")
    assert status["model_id"] == model_id
    # Rebuilt as MODEL_ACTIVE and written again for the endpoint stage; the watcher
    # itself created no cluster or endpoint.
    assert status["state"] == "MODEL_ACTIVE"
    assert ai.creates.count("model") == 1 and "cluster" not in ai.creates[1:]
    assert ensure_endpoint(ctx, "fin").status.value == "pending"  # the stage's own step


def test_reconcile_queues_a_raw_object_no_event_converted_and_a_jsonl_no_event_trained(
        ) -> None:
    ctx, store, ai = make_ctx()
    store.objects["raw/lost.json"] = (b"[]", "etag-raw", {})
    drop_jsonl(ctx, "orphan")
    from unittest import mock

    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert {"lost: convert queued", "orphan: train queued"} <= set(report.actions)
    lost, orphan = store.status("lost"), store.status("orphan")
    assert (lost["state"], lost["source_object"], lost["source_etag"]) == (
        "QUEUED", "raw/lost.json", "etag-raw")
    assert (orphan["state"], orphan["source_object"]) == ("QUEUED", "training/orphan.jsonl")
    assert ai.creates == []  # queued for the stages, nothing created by the watcher
    # No fine-tuning cluster exists yet: the train stage's first step requests it.
    assert train_handed_over(ctx, "orphan").status.value == "pending"
    assert store.status("orphan")["state"] == "PENDING_CLUSTER"


def test_reconcile_leaves_a_converted_raw_object_alone() -> None:
    ctx, store, _ = make_ctx()
    store.objects["raw/done.json"] = (b"[]", "etag-raw", {})
    from shared.records import write_record
    from shared.reports import DatasetReport

    write_record(ctx.store, "reports/done.json", DatasetReport.refusal(
        "done", "raw/done.json", "etag-raw", "too_few_examples", "0 examples"))
    from unittest import mock

    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert not any(a.startswith("done:") for a in report.actions)
    assert ctx.store.read_json("status/done.json") is None


def _watch_calls(monkeypatch: Any, now: list[float]) -> list[str]:
    """``handle`` with its tick and reconcile recorded (and told apart in its answer)."""
    called: list[str] = []

    def tick(settings: Any, deadline: float | None = None) -> watcher.TickReport:
        called.append("tick")
        return watcher.TickReport(in_flight=7)

    def reconcile(settings: Any) -> watcher.ReconcileReport:
        called.append("reconcile")
        return watcher.ReconcileReport(actions=["queued:x"])

    monkeypatch.setattr("shared.stages.watch.entry.tick", tick)
    monkeypatch.setattr("shared.stages.watch.entry.reconcile", reconcile)
    monkeypatch.setattr("shared.stages.watch.entry.time",
                        SimpleNamespace(monotonic=lambda: now[0]))
    return called


def _handle(body: bytes) -> dict[str, Any]:
    from shared.invocation import Invocation
    from shared.settings import Settings, Stage

    outcome = watcher.handle(Invocation(Stage.WATCH, Settings(bucket="b"), body))
    assert outcome.status.value == "done"
    details: dict[str, Any] = json.loads(outcome.to_json())["details"]
    return details


def test_watch_function_ticks_on_any_schedule_body_and_reconciles_on_request(
        monkeypatch: Any) -> None:
    from deploy.local.target import watch_tick_body

    now = [1000.0]
    called = _watch_calls(monkeypatch, now)
    monkeypatch.setattr(SCHEDULE, "last_reconcile", now[0])  # not due
    ons_alarm = json.dumps({"dedupeKey": "x", "title": "ocift-watch", "type": "OK_TO_FIRING"})
    bodies = (watch_tick_body(), b"", b"not json", ons_alarm.encode(), b"[]", b"\xff\xfe")
    for body in bodies:
        assert _handle(body)["in_flight"] == 7
    assert called == ["tick"] * len(bodies)
    called.clear()
    for body in (b'{"kind": "reconcile"}', b'{"source": "ocift.cli", "action": "reconcile"}'):
        assert _handle(body)["actions"] == ["queued:x"]
    assert called == ["reconcile", "reconcile"]


def test_warm_watch_function_reconciles_first_then_periodically(monkeypatch: Any) -> None:
    now = [100.0]
    called = _watch_calls(monkeypatch, now)
    monkeypatch.setattr(SCHEDULE, "last_reconcile", None)
    _handle(b"")  # a fresh process reconciles on its first call, whatever the body
    now[0] += watcher.RECONCILE_EVERY_SECONDS - 1
    _handle(b"")
    now[0] += 1
    _handle(b"")
    _handle(b"")
    assert called == ["reconcile", "tick", "reconcile", "tick"]


def _idle_fixture(**overrides: Any) -> tuple[Any, Any, Any]:
    from datetime import UTC, datetime, timedelta

    from shared import tags
    from shared.stages.context import write_status
    from shared.status import DatasetState, DatasetStatus

    ctx, store, ai = make_ctx(**overrides)
    now = datetime.now(UTC)
    ours = {tags.PIPELINE: "ocift", tags.ROLE: tags.ROLE_HOSTING_CLUSTER}
    for cid, created in (("ocid1.cluster.idle", 30), ("ocid1.cluster.fresh", 2),
                         ("ocid1.cluster.configured", 30)):
        ai.clusters[cid] = SimpleNamespace(
            id=cid, type="HOSTING", unit_shape="SMALL_COHERE_V2", unit_count=1,
            lifecycle_state="ACTIVE", display_name=cid, freeform_tags=dict(ours),
            time_created=now - timedelta(hours=created))
        ai.endpoints[f"ep-{cid}"] = SimpleNamespace(
            id=f"ep-{cid}", display_name="fin", model_id="m", dedicated_ai_cluster_id=cid,
            lifecycle_state="DELETED", time_created=now - timedelta(hours=created),
            time_updated=now - timedelta(hours=min(created, 25)),
            freeform_tags={tags.PIPELINE: "ocift", tags.ROLE: tags.ROLE_ENDPOINT,
                           tags.DATASET: "fin"})
    write_status(ctx, DatasetStatus(dataset="fin", state=DatasetState.ENDPOINT_ACTIVE), None)
    return ctx, store, ai


def test_idle_clusters_are_reported_and_deleted_only_when_asked() -> None:
    ctx, store, _ = _idle_fixture(hosting_cluster_id="ocid1.cluster.configured")
    actions = watcher.sweep_clusters(ctx)
    doc = store.status("fin")
    # Idle 25 h > 24 h: reported; idle 2 h: not yet; the user's own cluster: never.
    assert [c["cluster_id"] for c in doc["idle_clusters"]] == ["ocid1.cluster.idle"]
    assert doc["releases"] == [] and actions
    assert watcher.sweep_clusters(ctx) == []  # nothing changed: no rewrite (no event storm)

    ctx, store, _ = _idle_fixture(delete_idle_clusters=True)
    watcher.sweep_clusters(ctx)
    releases = store.status("fin")["releases"]
    assert {r["cluster_id"] for r in releases} == {"ocid1.cluster.idle",
                                                   "ocid1.cluster.configured"}
    assert all(r["ready"] for r in releases)


def test_a_hand_off_lost_after_its_status_was_written_is_written_on_the_next_tick() -> None:
    from shared import caches
    from tests.support.fakes import service_error

    caches.reset_all()
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    ai.finish(model_id)
    real_put = store.put_object
    failed: list[str] = []

    def put_failing_handoffs(ns: str, bucket: str, name: str, body: bytes, **kw: Any) -> Any:
        if name.startswith("handoff/"):
            failed.append(name)
            raise service_error(500, "InternalServerError")
        return real_put(ns, bucket, name, body, **kw)

    store.put_object = put_failing_handoffs  # type: ignore[method-assign,assignment]
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.changed == ["fin: MODEL_ACTIVE"] and report.resumed == []
    assert failed == ["handoff/endpoint/fin.json"]
    assert "handoff/endpoint/fin.json" not in store.objects
    report = watcher.tick(ctx.settings, ctx=ctx)  # still failing: owed again, never lost
    assert report.resumed == [] and any("hand-off" in e for e in report.errors)

    store.put_object = real_put  # type: ignore[method-assign]
    status_etag = store.objects["status/fin.json"][1]
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.resumed == ["fin: endpoint"] and report.changed == []
    handoff = json.loads(store.objects["handoff/endpoint/fin.json"][0])
    assert handoff["state"] == "MODEL_ACTIVE" and handoff["status_etag"] == status_etag
    assert watcher.tick(ctx.settings, ctx=ctx).resumed == []  # paid once
    caches.reset_all()


def test_an_owed_hand_off_is_dropped_once_the_status_moved_on() -> None:
    from shared import caches
    from shared.stages.watch import common
    from shared.status import DatasetState
    from tests.support.fakes import service_error

    caches.reset_all()
    ctx, store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    ai.finish(model_id)
    real_put = store.put_object

    def put_failing_handoffs(ns: str, bucket: str, name: str, body: bytes, **kw: Any) -> Any:
        if name.startswith("handoff/"):
            raise service_error(500, "InternalServerError")
        return real_put(ns, bucket, name, body, **kw)

    store.put_object = put_failing_handoffs  # type: ignore[method-assign,assignment]
    watcher.tick(ctx.settings, ctx=ctx)
    store.put_object = real_put  # type: ignore[method-assign]
    assert [(dataset, [s.value for s in stages])
            for (_, dataset), (stages, _) in common._owed.items()] == [("fin", ["endpoint"])]
    # The endpoint stage (woken another way) moved the dataset on: the debt is void.
    from shared.stages.context import read_status, write_status

    status, etag = read_status(ctx, "fin") or (None, None)
    assert status is not None
    write_status(ctx, status.moved_to(DatasetState.MODEL_ACTIVE, "moved by someone"), etag)
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.resumed == [] and not common._owed
    assert "handoff/endpoint/fin.json" not in store.objects
    caches.reset_all()


def test_an_endpoint_becoming_active_wakes_the_endpoint_and_evaluate_stages() -> None:
    from shared.stages.context import write_status
    from shared.status import DatasetState, DatasetStatus

    ctx, store, ai = make_ctx()
    ai.endpoints["ep"] = SimpleNamespace(id="ep", lifecycle_state="ACTIVE",
                                         lifecycle_details=None)
    status = DatasetStatus.started("fin", DatasetState.MODEL_ACTIVE, model_id="m",
                                   model_version="1").moved_to(
        DatasetState.ENDPOINT_CREATING, endpoint_id="ep")
    write_status(ctx, status, None)
    report = watcher.tick(ctx.settings, ctx=ctx)
    assert report.resumed == ["fin: endpoint", "fin: evaluate"]
    for stage in ("endpoint", "evaluate"):
        handed = json.loads(store.objects[f"handoff/{stage}/fin.json"][0])
        assert (handed["stage"], handed["state"]) == (stage, "ENDPOINT_ACTIVE")
    # a lost evaluate hand-off is written again by reconcile, until the report is complete
    del store.objects["handoff/evaluate/fin.json"]
    from unittest import mock

    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        actions = watcher.reconcile(ctx.settings).actions
    assert "fin: handed to evaluate" in actions
    assert "handoff/evaluate/fin.json" in store.objects


class _Clock:
    """``time`` for the ticker: each ``time()`` call jumps by ``step`` seconds."""

    def __init__(self, step: float) -> None:
        import time as real

        self._real = real
        self.now = 0.0
        self.step = step

    def time(self) -> float:
        self.now += self.step
        return self.now

    def monotonic(self) -> float:
        return self._real.monotonic()


def test_a_tick_out_of_time_defers_the_rest_and_the_next_tick_takes_them_first() -> None:
    from unittest import mock

    from shared import caches
    from shared.stages.watch import ticker

    caches.reset_all()
    ctx, _store, ai = make_ctx()
    ids = {start_training(ctx, ai, name): name for name in ("a", "b", "c")}
    polled: list[str] = []
    real_get = ai.get_work_request

    def get_work_request(wr_id: str) -> Any:
        polled.append(next(n for m, n in ids.items() if ai.models[m].wr == wr_id))
        return real_get(wr_id)

    ai.get_work_request = get_work_request  # type: ignore[method-assign]
    budget = ctx.settings.retry_max_seconds
    # Each clock read moves 10 s: with the deadline 15 s past the retry budget, the first
    # dataset starts (5 s to spare at the first read), the next would not (5 s short).
    for _ in range(3):
        with mock.patch.object(ticker, "time", _Clock(step=10.0)):
            report = watcher.tick(ctx.settings, ctx=ctx, deadline=budget + 15.0)
        assert (report.in_flight, report.deferred) == (1, 2)
    assert sorted(polled) == ["a", "b", "c"], "each tick took the least recently observed"
    with mock.patch.object(ticker, "time", _Clock(step=0.0)):
        report = watcher.tick(ctx.settings, ctx=ctx, deadline=budget - 1.0)
    assert (report.in_flight, report.deferred) == (0, 3)
    assert (watcher.tick(ctx.settings, ctx=ctx).in_flight, len(polled)) == (3, 6)
    caches.reset_all()
