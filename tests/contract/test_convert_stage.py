"""The convert stage against the emulator: real SDK, real multipart, real conditions."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from deploy.local.emulator import Emulator
from functions import handler as entry
from shared import caches, clients
from shared.events import ObjectEvent, parse_object_event
from shared.outcome import Outcome, OutcomeStatus
from shared.runtime import handle_object_event
from shared.settings import AuthMode, Settings, Stage
from shared.stages.convert import on_handoff, on_raw
from shared.stages.guard import ObjectKind
from shared.storage import ObjectStore
from tests.support.events import object_event
from tests.support.fdk import call_fdk
from tests.support.store import head, json_doc

pytestmark = pytest.mark.contract

BUCKET = "convert-stage"

Env = tuple[Settings, ObjectStore]


def alpaca(n: int, start: int = 0) -> bytes:
    records = [{"instruction": f"What is finance fact number {i}?",
                "input": "context about €uros" if i % 3 == 0 else "",
                "output": f"Finance fact {i} is that compound interest compounds. 🙂",
                "text": "ignored"} for i in range(start, start + n)]
    return json.dumps(records, ensure_ascii=False).encode()


@pytest.fixture
def env(emulator: Emulator) -> Iterator[Env]:
    settings = Settings(
        bucket=BUCKET, namespace=emulator.namespace, compartment_id=emulator.compartment_id,
        auth=AuthMode.CONFIG_FILE, oci_config_file=str(emulator.config_file),
        objectstorage_endpoint=emulator.endpoint, genai_endpoint=emulator.endpoint,
        genai_inference_endpoint=emulator.endpoint, retry_max_attempts=2,
    )
    caches.reset_all()
    emulator.objectstorage.ensure_bucket(emulator.namespace, BUCKET, emulator.compartment_id,
                                         object_events_enabled=False)
    store = ObjectStore(clients.object_storage(settings), emulator.namespace, BUCKET)
    yield settings, store
    caches.reset_all()


def event_for(store: ObjectStore, name: str, etag: str | None = None,
              kind: str = "createobject") -> ObjectEvent:
    current = etag if etag is not None else head(store, name).etag
    return parse_object_event(object_event(name, bucket=store.bucket, namespace=store.namespace,
                                           etag=current, kind=kind))


def convert_object(ev: ObjectEvent, settings: Settings) -> Outcome:
    routes = {ObjectKind.RAW: on_raw, ObjectKind.HANDOFF: on_handoff}
    return handle_object_event(Stage.CONVERT, routes, ev, settings)


def jsonl_lines(store: ObjectStore, name: str) -> list[dict[str, str]]:
    _, stream = store.open(name)
    with stream:
        return [json.loads(line) for line in stream.read().decode().splitlines()]


def test_valid_dataset_converts_with_report_and_source_metadata(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/fin.json", alpaca(40))
    ev = event_for(store, "raw/fin.json")
    outcome = convert_object(ev, settings)
    assert outcome.status is OutcomeStatus.DONE
    lines = jsonl_lines(store, "training/fin.jsonl")
    assert len(lines) == 40
    assert set(lines[0]) == {"prompt", "completion"}
    assert "€uros" in lines[0]["prompt"] and "🙂" in lines[0]["completion"]
    info = head(store, "training/fin.jsonl")
    assert info.metadata["source-etag"] == ev.etag
    assert info.metadata["source-object"] == "raw/fin.json"
    report = json_doc(store, "reports/fin.json")
    assert report["valid"] is True and report["source_etag"] == ev.etag
    assert report["output_object"] == "training/fin.jsonl"


def test_the_job_spec_travels_onto_the_jsonl_and_a_bad_one_is_refused(env: Env) -> None:
    """Issue 24: convert copies the raw object's opc-meta-ocift-* keys onto the JSONL (a big
    one too: multipart metadata is fixed when the upload starts) and refuses a bad spec."""
    settings, store = env
    small = settings.model_copy(update={"multipart_part_size": 1024 * 1024})
    store.put_bytes("raw/job.json", alpaca(10000),
                    metadata={"ocift-training-method": "LORA", "ocift-epochs": "2",
                              "ocift-prompt-field": "instruction",
                              "ocift-completion-field": "output"})
    assert convert_object(event_for(store, "raw/job.json"), small).status is OutcomeStatus.DONE
    meta = head(store, "training/job.jsonl").metadata
    assert head(store, "training/job.jsonl").size > 1024 * 1024  # written in several parts
    assert {k: v for k, v in meta.items() if k.startswith("ocift-")} == {
        "ocift-training-method": "LORA", "ocift-epochs": "2", "ocift-prompt-field": "instruction",
        "ocift-completion-field": "output"}
    store.put_bytes("raw/badjob.json", alpaca(40), metadata={"ocift-epochs": "two",
                                                             "ocift-epoch": "2"})
    outcome = convert_object(event_for(store, "raw/badjob.json"), settings)
    assert outcome.status is OutcomeStatus.REJECTED
    assert "opc-meta-ocift-epoch" in outcome.reason and "opc-meta-ocift-epochs" in outcome.reason
    report = json_doc(store, "reports/badjob.json")
    assert report["valid"] is False and report["fatal"]["code"] == "bad_job_spec"
    assert store.head("training/badjob.jsonl") is None


def test_redelivery_is_a_no_op(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/dup.json", alpaca(40))
    ev = event_for(store, "raw/dup.json")
    assert convert_object(ev, settings).status is OutcomeStatus.DONE
    first = head(store, "training/dup.jsonl").etag
    assert convert_object(ev, settings).status is OutcomeStatus.DUPLICATE
    assert head(store, "training/dup.jsonl").etag == first


def test_new_source_version_replaces_output_and_stale_event_is_skipped(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/v.json", alpaca(40))
    old = event_for(store, "raw/v.json")
    assert convert_object(old, settings).status is OutcomeStatus.DONE
    store.put_bytes("raw/v.json", alpaca(50, start=100))
    new = event_for(store, "raw/v.json", kind="updateobject")
    assert convert_object(new, settings).status is OutcomeStatus.DONE
    assert len(jsonl_lines(store, "training/v.jsonl")) == 50
    # the old event delivered late must not bring the old version back
    late = convert_object(old, settings)
    assert late.status is OutcomeStatus.SKIPPED and "stale event" in late.reason
    assert head(store, "training/v.jsonl").metadata["source-etag"] == new.etag


def test_invalid_dataset_writes_report_and_no_jsonl(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/bad.json", b'{"not": "an array"}')
    outcome = convert_object(event_for(store, "raw/bad.json"), settings)
    assert outcome.status is OutcomeStatus.REJECTED
    assert store.head("training/bad.jsonl") is None
    report = json_doc(store, "reports/bad.json")
    assert report["valid"] is False
    assert store.client.list_multipart_uploads(store.namespace, store.bucket).data == []


def test_invalid_new_version_leaves_previous_jsonl_untouched(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/keep.json", alpaca(40))
    assert convert_object(event_for(store, "raw/keep.json"), settings).status is OutcomeStatus.DONE
    before = head(store, "training/keep.jsonl").etag
    store.put_bytes("raw/keep.json", b"[{\"instruction\": \"trunc")
    assert convert_object(event_for(store, "raw/keep.json"), settings).status \
        is OutcomeStatus.REJECTED
    assert head(store, "training/keep.jsonl").etag == before


def test_event_for_a_deleted_object_is_rejected_without_output(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/del.json", alpaca(40))
    ev = event_for(store, "raw/del.json")
    store.client.delete_object(store.namespace, store.bucket, "raw/del.json")
    outcome = convert_object(ev, settings)
    assert outcome.status is OutcomeStatus.REJECTED
    assert "no longer exists" in outcome.reason
    assert store.head("training/del.jsonl") is None


def test_through_the_fdk_entry_point(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, store = env
    for key, value in settings.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    caches.reset_all()
    store.put_bytes("raw/fdk.json", alpaca(40))
    body = event_for(store, "raw/fdk.json").model_dump_json(by_alias=True).encode()
    reply = call_fdk(entry.handler, body)
    caches.reset_all()
    assert reply.status == 200
    assert json.loads(reply.body)["status"] == "done"
    assert len(jsonl_lines(store, "training/fdk.jsonl")) == 40


def test_the_evaluation_split_is_written_beside_and_never_into_the_jsonl(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/held.json", alpaca(1200))
    ev = event_for(store, "raw/held.json")
    assert convert_object(ev, settings).status is OutcomeStatus.DONE
    training = jsonl_lines(store, "training/held.jsonl")
    held = jsonl_lines(store, "eval/held.jsonl")
    assert len(held) == 24 and len(training) == 1176  # 2 % of 1200
    assert {r["prompt"] for r in training}.isdisjoint({r["prompt"] for r in held})
    assert head(store, "eval/held.jsonl").metadata["source-etag"] == ev.etag
    report = json_doc(store, "reports/held.json")
    assert report["records_written"] == 1176 and report["eval_records"] == 24
    assert report["eval_object"] == "eval/held.jsonl"


def test_eval_size_zero_holds_nothing_out(env: Env) -> None:
    settings, store = env
    store.put_bytes("raw/all.json", alpaca(1200))
    outcome = convert_object(event_for(store, "raw/all.json"),
                             settings.model_copy(update={"eval_size": 0}))
    assert outcome.status is OutcomeStatus.DONE
    assert len(jsonl_lines(store, "training/all.jsonl")) == 1200
    assert store.head("eval/all.jsonl") is None
    assert json_doc(store, "reports/all.json")["eval_object"] is None
