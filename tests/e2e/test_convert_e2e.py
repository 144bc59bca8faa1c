"""End to end on the local target: a raw dataset upload flows through the real event path.

Upload (oci SDK) -> emulator Object Storage event -> router (events/*.json rules) ->
convert function served by the real fdk runtime -> ``training/<name>.jsonl`` and
``reports/<name>.json`` in the bucket.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.local.target import LocalTarget
from tests.support.targets import RecordingTarget
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

RECORDS = 120
HELD_OUT = 20  # the default evaluation split (issue 25): 2 % of 120 is under its minimum


def _finance_alpaca(path: Path) -> None:
    """A small file shaped like finance-alpaca's Cleaned_date.json."""
    rows = [{"instruction": f"What does ratio number {i} measure in a balance sheet?",
             "input": "" if i % 3 else f"Company {i} reports assets of {i * 1000} USD.",
             "output": f"Ratio {i} compares liabilities to equity for firm {i}.",
             "text": ""} for i in range(RECORDS)]
    path.write_text(json.dumps(rows, indent=1), encoding="utf-8")


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    path = tmp_path / "Cleaned_date.json"
    _finance_alpaca(path)
    return path


def _start(tmp_path: Path, duplicate: bool) -> Iterator[RecordingTarget]:
    target = RecordingTarget(tmp_path / "state", watch_interval=0, backoff_base=0.05,
                             duplicate_deliveries=duplicate)
    with target:
        yield target


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RecordingTarget]:
    yield from _start(tmp_path, duplicate=False)


@pytest.fixture
def dup_target(tmp_path: Path) -> Iterator[RecordingTarget]:
    yield from _start(tmp_path, duplicate=True)


def _client(target: LocalTarget) -> Any:
    assert target.info is not None
    config = oci.config.from_file(target.info.config_file, target.info.profile)
    return oci.object_storage.ObjectStorageClient(
        config, service_endpoint=target.info.emulator_endpoint)


def _converted(target: LocalTarget, expected_deliveries: int) -> Callable[[], bool]:
    def check() -> bool:
        status = target.router.status()
        done = [r for r in status.delivered + status.dead_lettered
                if r.function == "convert" and r.resource_name == "raw/Cleaned_date.json"]
        return len(done) >= expected_deliveries
    return check


def _get(client: Any, target: LocalTarget, name: str) -> tuple[bytes, str]:
    assert target.info is not None
    resp = client.get_object(target.info.namespace, target.info.bucket, name)
    return resp.data.content, resp.headers["etag"]


def test_raw_upload_produces_training_jsonl_and_report(
        target: RecordingTarget, raw_file: Path) -> None:
    source_etag = target.upload(raw_file, "raw/Cleaned_date.json")
    wait_until(_converted(target, 1), "one convert delivery of raw/Cleaned_date.json",
               timeout=120)
    status = target.router.status()
    [delivery] = [r for r in status.delivered if r.function == "convert"]
    assert delivery.attempts == 1 and delivery.rule == "ocift-convert-raw-dataset"

    client = _client(target)
    jsonl, _ = _get(client, target, "training/Cleaned_date.jsonl")
    lines = [json.loads(line) for line in jsonl.decode().splitlines()]
    held_raw, _ = _get(client, target, "eval/Cleaned_date.jsonl")
    held = [json.loads(line) for line in held_raw.decode().splitlines()]
    # The default split holds out 2 % of the examples, at least 20, never trained on.
    assert len(lines) == RECORDS - HELD_OUT and len(held) == HELD_OUT
    assert all(set(line) == {"prompt", "completion"} for line in lines + held)
    every = {line["prompt"]: line["completion"] for line in lines + held}
    assert len(every) == RECORDS
    assert {x["prompt"] for x in lines}.isdisjoint(x["prompt"] for x in held)
    seven = next(p for p in every if "ratio number 7 " in p)
    assert any("Company 3 reports" in p for p in every)
    assert every[seven].strip() == "Ratio 7 compares liabilities to equity for firm 7."

    report_raw, _ = _get(client, target, "reports/Cleaned_date.json")
    report = json.loads(report_raw)
    assert report["valid"] is True
    assert report["records_written"] == RECORDS - HELD_OUT
    assert report["eval_records"] == HELD_OUT
    assert report["source_object"] == "raw/Cleaned_date.json"
    assert report["source_etag"] == source_etag
    # The JSONL landing is itself an event routed to the train stage.
    assert any(e["data"]["resourceName"] == "training/Cleaned_date.jsonl"
               for e in target.events)


def test_duplicate_delivery_still_commits_one_jsonl_version(
        dup_target: RecordingTarget, raw_file: Path) -> None:
    dup_target.upload(raw_file, "raw/Cleaned_date.json")
    # Both copies reached the convert function.
    wait_until(_converted(dup_target, 2), "two convert deliveries of raw/Cleaned_date.json",
               timeout=120)
    status = dup_target.router.status()
    convert = [r for r in status.delivered if r.function == "convert"]
    assert len(convert) == 2 and len({r.event_id for r in convert}) == 1

    client = _client(dup_target)
    jsonl, etag = _get(client, dup_target, "training/Cleaned_date.jsonl")
    assert len(jsonl.decode().splitlines()) == RECORDS - HELD_OUT
    # Exactly one version of the JSONL was committed: one create event, its ETag current.
    jsonl_events = [e for e in dup_target.events
                    if e["data"]["resourceName"] == "training/Cleaned_date.jsonl"]
    assert len(jsonl_events) == 1
    assert jsonl_events[0]["eventType"] == "com.oraclecloud.objectstorage.createobject"
    assert jsonl_events[0]["data"]["additionalDetails"]["eTag"] == etag
    assert dup_target.info is not None
    listing = client.list_objects(dup_target.info.namespace, dup_target.info.bucket,
                                  prefix="training/").data.objects
    assert [o.name for o in listing] == ["training/Cleaned_date.jsonl"]
