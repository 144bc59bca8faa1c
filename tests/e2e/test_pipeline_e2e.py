"""The whole pipeline on the local target, through the real event path and fdk runtime.

raw JSON -> convert -> training JSONL -> train -> model (emulated fine-tuning) ->
watcher rewrites ``status/<name>.json`` (Generative AI emits no events) ->
endpoint stage -> endpoint ACTIVE. Also: duplicate deliveries, injected 429/500,
forced training failure, lost events completed by reconcile, concurrent
watchers and API calls per tick.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.local.target import LocalTarget
from shared import caches, genai, tags
from shared.settings import Settings
from shared.stages import watch as watcher
from tests.support.targets import RecordingTarget, ask, set_paces, status_doc
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

RECORDS = 60
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@contextlib.contextmanager
def _start(tmp_path: Path, **kwargs: Any) -> Iterator[RecordingTarget]:
    kwargs.setdefault("watch_interval", 0.3)
    target = RecordingTarget(tmp_path / "state", backoff_base=0.05, **kwargs)
    with target:
        set_paces(target.emulator, provisioning_seconds=0.3, seconds_per_epoch=0.05)
        caches.reset_all()
        yield target
    caches.reset_all()


def _raw(path: Path, topic: str) -> Path:
    rows = [{"instruction": f"What does {topic} ratio number {i} measure?",
             "input": "" if i % 3 else f"Company {i} reports assets of {i * 1000} USD.",
             "output": f"The {topic} ratio {i} compares liabilities to equity for firm {i}.",
             "text": ""} for i in range(RECORDS)]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _jsonl(path: Path, topic: str) -> Path:
    lines = [json.dumps({"prompt": f"Explain {topic} item {i}.",
                         "completion": f"{topic} item {i} is about cash flow {i}."})
             for i in range(RECORDS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _settings(target: LocalTarget) -> Settings:
    return target.pipeline_settings()


def _genai(target: LocalTarget) -> Any:
    assert target.info is not None
    config = oci.config.from_file(target.info.config_file, target.info.profile)
    return oci.generative_ai.GenerativeAiClient(config,
                                                service_endpoint=target.info.emulator_endpoint)


def _os(target: LocalTarget) -> Any:
    assert target.info is not None
    config = oci.config.from_file(target.info.config_file, target.info.profile)
    return oci.object_storage.ObjectStorageClient(
        config, service_endpoint=target.info.emulator_endpoint)


def _wait_state(target: LocalTarget, dataset: str, *states: str,
                step: Callable[[], object] | None = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def check() -> bool:
        if step is not None:
            step()
        doc = status_doc(target, dataset)
        if doc is not None:
            seen.update(doc)
        return doc is not None and doc["state"] in states

    wait_until(check, lambda: f"{dataset} in {states} (last: {seen.get('state')})",
               timeout=120, interval=0.1)
    return seen


def _calls(target: LocalTarget, function: str) -> int:
    assert target.runner is not None
    return next(f.calls for f in target.runner.status() if f.name == function)


def _pipeline_models(target: LocalTarget, dataset: str | None = None) -> list[Any]:
    settings = _settings(target)
    items = _genai(target).list_models(settings.compartment_id).data.items
    return [m for m in items if tags.matches(m.freeform_tags, role=tags.ROLE_MODEL)
            and (dataset is None or m.freeform_tags.get(tags.DATASET) == dataset)]


def _endpoints(target: LocalTarget) -> list[Any]:
    settings = _settings(target)
    return list(_genai(target).list_endpoints(settings.compartment_id).data.items)


def _clusters(target: LocalTarget, kind: str) -> list[Any]:
    settings = _settings(target)
    return [c for c in _genai(target).list_dedicated_ai_clusters(
        settings.compartment_id).data.items if c.type == kind]


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RecordingTarget]:
    with _start(tmp_path) as running:
        yield running


def test_raw_upload_ends_with_active_endpoint(target: RecordingTarget, tmp_path: Path) -> None:
    target.upload(_raw(tmp_path / "fin.json", "finance"), "raw/team/fin.json")
    doc = _wait_state(target, "team/fin", "ENDPOINT_ACTIVE")
    states = [h["state"] for h in doc["history"]]
    for expected in ("PENDING_CLUSTER", "TRAINING", "MODEL_ACTIVE", "ENDPOINT_CREATING",
                     "ENDPOINT_ACTIVE"):
        assert expected in states
    assert states.index("TRAINING") < states.index("MODEL_ACTIVE") < states.index(
        "ENDPOINT_ACTIVE")
    assert doc["training_method"] == "TFEW" and doc["model_version"] == "1"
    assert doc["base_model"] == "cohere.command-r-08-2024"
    assert doc["model_metrics"] and doc["percent_complete"] == 100.0

    [model] = _pipeline_models(target)
    assert model.id == doc["model_id"] and model.display_name == "team-fin"
    assert model.freeform_tags[tags.SOURCE_OBJECT] == "training/team/fin.jsonl"
    [endpoint] = _endpoints(target)
    assert endpoint.id == doc["endpoint_id"] and endpoint.lifecycle_state == "ACTIVE"
    assert endpoint.freeform_tags[tags.MODEL_ID] == model.id
    assert endpoint.content_moderation_config.is_enabled is True
    [ft] = _clusters(target, "FINE_TUNING")
    assert (ft.unit_shape, ft.unit_count) == ("SMALL_COHERE_V2", 8)
    # Every event came from Object Storage: Generative AI emitted none.
    assert target.events
    assert all(e["eventType"].startswith("com.oraclecloud.objectstorage.")
               for e in target.events)
    assert any(e["data"]["resourceName"] == "status/team/fin.json" for e in target.events)

    # The served custom model answers a training question through the gateway.
    status, answer = ask(target, "What does finance ratio number 7 measure?", "team/fin")
    assert status == 200, answer
    assert answer["endpoint_id"] == endpoint.id
    expected = "The finance ratio 7 compares liabilities to equity for firm 7."
    assert answer["text"].strip() == expected


def test_duplicates_two_datasets_and_faults_make_one_model_and_endpoint_each(
        tmp_path: Path) -> None:
    with _start(tmp_path, duplicate_deliveries=True, max_attempts=10) as target:
        target.emulator.faults.update(rate_429=0.06, rate_500=0.04, seed=7, retry_after_s=0)
        target.upload(_raw(tmp_path / "a.json", "alpha"), "raw/a.json")
        target.upload(_jsonl(tmp_path / "b.jsonl", "beta"), "training/b.jsonl")
        _wait_state(target, "a", "ENDPOINT_ACTIVE")
        _wait_state(target, "b", "ENDPOINT_ACTIVE")
        target.emulator.faults.update(rate_429=0.0, rate_500=0.0)
        target.wait_idle(30)
        for dataset in ("a", "b"):
            assert len(_pipeline_models(target, dataset)) == 1
        endpoints = _endpoints(target)
        assert len(endpoints) == 2
        assert {e.model_id for e in endpoints} == {m.id for m in _pipeline_models(target)}
        assert len(_clusters(target, "FINE_TUNING")) == 1  # shared by both trainings
        # The directly dropped JSONL was validated and got its own report.
        assert target.info is not None
        report = json.loads(_os(target).get_object(
            target.info.namespace, target.info.bucket, "reports/b.json").data.content)
        assert report["valid"] is True and report["validated_by"] == "train"
        assert report["records_written"] == RECORDS


def test_failed_training_is_recorded_and_gets_no_endpoint(
        target: RecordingTarget, tmp_path: Path) -> None:
    target.emulator.genai.control.config.fail_training = True
    target.upload(_jsonl(tmp_path / "bad.jsonl", "gamma"), "training/bad.jsonl")
    doc = _wait_state(target, "bad", "MODEL_FAILED")
    assert doc["reason"] and doc["model_state"] == "FAILED"
    # Settled: the MODEL_FAILED write reached the endpoint stage, then two more ticks ran.
    assert target.info is not None
    etag = _os(target).head_object(target.info.namespace, target.info.bucket,
                                   "status/bad.json").headers["etag"]
    wait_until(lambda: any(e["data"]["resourceName"] == "status/bad.json"
                           and e["data"]["additionalDetails"]["eTag"] == etag
                           for e in target.events), "the event of the MODEL_FAILED write")
    assert target.wait_idle(30)
    ticks = _calls(target, "watch")
    wait_until(lambda: _calls(target, "watch") >= ticks + 2, "two more watch ticks", timeout=60)
    assert target.wait_idle(30)
    assert status_doc(target, "bad")["state"] == "MODEL_FAILED"  # type: ignore[index]
    assert _endpoints(target) == []
    assert not _clusters(target, "HOSTING")


def test_lost_events_are_completed_by_reconcile_with_concurrent_watchers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every training JSONL event is lost: only the raw and status rules are deployed, so
    # the JSONLs below reach the train stage only through reconcile's QUEUED status writes.
    no_train_rule = tmp_path / "events"
    no_train_rule.mkdir()
    for rule in EVENTS_DIR.glob("*.json"):
        if rule.name != "train-training-jsonl.json":
            (no_train_rule / rule.name).write_text(rule.read_text())
    assert len(list(no_train_rule.iterdir())) == len(list(EVENTS_DIR.glob("*.json"))) - 1
    with _start(tmp_path, watch_interval=0, events_dir=no_train_rule) as target:
        # Epochs slow enough that both models are still TRAINING when the tick below
        # counts its calls (a fast pace let one finish between two looks).
        set_paces(target.emulator, provisioning_seconds=0.3, seconds_per_epoch=3.0)
        # No grace: the lost JSONLs were written a moment ago, and their events never come.
        settings = _settings(target).model_copy(update={"reconcile_grace_seconds": 0})
        target.upload(_jsonl(tmp_path / "lost.jsonl", "delta"), "training/lost.jsonl")
        target.upload(_jsonl(tmp_path / "lost2.jsonl", "eps"), "training/lost2.jsonl")
        assert status_doc(target, "lost") is None  # no train event was delivered

        def two_watchers() -> None:
            threads = [threading.Thread(target=watcher.reconcile, args=(settings,))
                       for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        # Calls per tick follow the in-flight datasets, never the whole compartment.
        _wait_state(target, "lost", "TRAINING", step=lambda: watcher.reconcile(settings))
        _wait_state(target, "lost2", "TRAINING", step=lambda: watcher.tick(settings))
        counter = genai.CallCounter()
        report = watcher.tick(settings, counter)
        assert report.in_flight == 2
        # Exactly one GetWorkRequest per training dataset: no listing, no other read.
        assert {op: n for op, n in report.calls.items() if op.startswith("genai.")} == \
            {"genai.get_work_request": 2}
        set_paces(target.emulator, provisioning_seconds=0.3, seconds_per_epoch=0.05)

        for dataset in ("lost", "lost2"):
            _wait_state(target, dataset, "ENDPOINT_ACTIVE", step=two_watchers)
        assert len(_endpoints(target)) == 2
        assert len(_pipeline_models(target)) == 2
        idle = watcher.tick(settings)
        assert idle.in_flight == 0 and idle.genai_calls == 0

        # A deleted status object is rebuilt from the model's tags; nothing is recreated.
        assert target.info is not None
        _os(target).delete_object(target.info.namespace, target.info.bucket,
                                  "status/lost.json")
        result = watcher.reconcile(settings)
        assert "lost: status rebuilt" in result.actions, result.actions
        doc = _wait_state(target, "lost", "ENDPOINT_ACTIVE",
                          step=lambda: watcher.reconcile(settings))
        assert doc["model_id"] in {m.id for m in _pipeline_models(target, "lost")}
        assert len(_endpoints(target)) == 2 and len(_pipeline_models(target)) == 2


def _report(target: LocalTarget, dataset: str) -> dict[str, Any]:
    assert target.info is not None
    resp = _os(target).get_object(target.info.namespace, target.info.bucket,
                                  f"reports/{dataset}.json")
    doc: dict[str, Any] = json.loads(resp.data.content)
    return doc


def test_a_dataset_named_in_cjk_emoji_and_spaces_reaches_an_active_endpoint(
        target: RecordingTarget, tmp_path: Path) -> None:
    dataset = "財務 データ 📈 q3\tfinal"
    target.upload(_raw(tmp_path / "cjk.json", "yield"), f"raw/{dataset}.json")
    doc = _wait_state(target, dataset, "ENDPOINT_ACTIVE", "REJECTED", "ENDPOINT_FAILED")
    assert doc["state"] == "ENDPOINT_ACTIVE", doc.get("reason")
    assert doc["source_object"] == f"training/{dataset}.jsonl"
    assert _report(target, dataset)["source_object"] == f"raw/{dataset}.json"
    assert target.info is not None
    head = _os(target).head_object(target.info.namespace, target.info.bucket,
                                   f"training/{dataset}.jsonl")
    # The name travels percent-encoded in the header and decodes back to itself.
    from shared.storage import decode_metadata

    meta = decode_metadata({"source-object": head.headers["opc-meta-source-object"]})
    assert meta["source-object"] == f"raw/{dataset}.json"
    assert target.router.status().dead_lettered_count == 0


def test_a_name_too_long_for_oci_is_reported_once_never_retried(
        target: RecordingTarget, tmp_path: Path) -> None:
    # raw/<name>.json and reports/<name>.json fit in 1024 bytes; training/<name>.jsonl not.
    name = "x" * 1010
    assert len(f"reports/{name}.json") <= 1024 < len(f"training/{name}.jsonl")
    target.upload(_raw(tmp_path / "long.json", "size"), f"raw/{name}.json")

    def reported() -> bool:
        return any(r.function == "convert" and (r.resource_name or "").startswith("raw/x")
                   for r in target.router.status().delivered)

    wait_until(reported, "the convert delivery of the long name", timeout=120, interval=0.1)
    status = target.router.status()
    [record] = [r for r in status.delivered if (r.resource_name or "").startswith("raw/x")]
    assert record.attempts == 1  # answered (rejected) the first time: no retry
    assert status.dead_lettered_count == 0
    report = _report(target, name)
    assert report["valid"] is False and report["fatal"]["code"] == "name_too_long"
    assert "at most 1024" in report["fatal"]["message"]
    listed = _os(target).list_objects(target.info.namespace if target.info else "",
                                      target.info.bucket if target.info else "",
                                      prefix="training/").data.objects
    assert listed == []


def test_a_poisoned_record_is_quarantined_and_a_new_dataset_costs_one_invocation_per_step(
        tmp_path: Path) -> None:
    """Issue 22: hostile documents under status/, reports/ and a hand-off prefix stop nothing;
    each step of a dataset wakes exactly one function (before the hand-offs, every status
    write woke three: 35 event-driven invocations per dataset, bench/invocations_per_dataset)."""
    from shared.cli.status_view import collect, render
    from shared.storage import ObjectStore

    with _start(tmp_path) as target:
        assert target.info is not None
        wait_until(lambda: _calls(target, "watch") >= 1, "the watcher's first call (reconcile)")
        assert target.wait_idle(30)
        before = {fn: _calls(target, fn) for fn in ("convert", "train", "endpoint")}
        client = _os(target)
        ns, bucket = target.info.namespace, target.info.bucket
        for name, body in (("status/poison.json", b"{}"), ("reports/poison.json", b"not json"),
                           ("status/typo.json", b'{"dataset": "typo", "state": "NO_SUCH"}')):
            client.put_object(ns, bucket, name, body)
        target.upload(_raw(tmp_path / "fresh.json", "quick"), "raw/fresh.json")
        _wait_state(target, "fresh", "ENDPOINT_ACTIVE")
        assert target.wait_idle(30)
        ticks = _calls(target, "watch")
        wait_until(lambda: _calls(target, "watch") >= ticks + 2, "two more watch ticks")
        assert target.wait_idle(30)
        after = {fn: _calls(target, fn) - before[fn] for fn in before}
        # convert: the raw upload; train: the JSONL, then the hand-off once its cluster is
        # ACTIVE; endpoint: model ACTIVE, hosting cluster ACTIVE, endpoint ACTIVE (retire).
        assert target.router is not None
        assert after == {"convert": 1, "train": 2, "endpoint": 3}

        store = ObjectStore(client, ns, bucket)
        text = render(collect(store, _settings(target), with_resources=False))
        assert "quarantined documents" in text
        for name in ("status/poison.json", "status/typo.json"):
            assert name in text
        assert "fresh" in text
        report = watcher.reconcile(_settings(target))
        assert report.errors == []
        assert target.router is not None
        assert target.router.status().dead_lettered_count == 0  # recorded, never retried
