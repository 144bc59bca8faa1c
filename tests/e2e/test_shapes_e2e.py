"""Datasets as people have them (issue 26) through the whole local pipeline: an OpenAI chat
JSONL, a ShareGPT array, a question/answer array and a CSV each reach ENDPOINT_ACTIVE; a
shape the pipeline does not convert is rejected with the shape named."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import caches
from tests.support.targets import (
    RecordingTarget,
    bucket_doc,
    set_paces,
    wait_endpoint_active,
)
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

N = 40


def _pair(i: int, topic: str) -> tuple[str, str]:
    return f"What does the {topic} figure {i} say?", f"The {topic} figure {i} shows growth."


def _chat_jsonl(topic: str) -> bytes:
    lines = []
    for i in range(N):
        q, a = _pair(i, topic)
        lines.append(json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": q},
                                              {"role": "assistant", "content": a}]}))
    return ("\n".join(lines) + "\n").encode()


def _sharegpt_array(topic: str) -> bytes:
    return json.dumps([{"conversations": [{"from": "human", "value": q},
                                          {"from": "gpt", "value": a}]}
                       for q, a in (_pair(i, topic) for i in range(N))]).encode()


def _qa_array(topic: str) -> bytes:
    return json.dumps([{"question": q, "answer": a, "id": i}
                       for i, (q, a) in enumerate(_pair(i, topic) for i in range(N))]).encode()


def _csv(topic: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer"])
    for i in range(N):
        q, a = _pair(i, topic)
        writer.writerow([q + ', "quoted"', a + "\nsecond line"])  # RFC 4180 quoting
    return ("\ufeff" + out.getvalue()).encode()


CASES = {
    "chat.jsonl": (_chat_jsonl, "OpenAI chat (messages) in JSON Lines",
                   "System: Be brief.\n\nUser: "),
    "sharegpt.json": (_sharegpt_array, "ShareGPT (conversations) in a JSON array", ""),
    "qa.json": (_qa_array, "field-mapped records (question/answer) in a JSON array", ""),
    "qa_table.csv": (_csv, "field-mapped records (question/answer) in CSV", ""),
}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingTarget]:
    root = tmp_path_factory.mktemp("shapes")
    running = RecordingTarget(root / "state", watch_interval=0.2, backoff_base=0.05)
    with running:
        set_paces(running.emulator, provisioning_seconds=0.2, seconds_per_epoch=0.02)
        caches.reset_all()
        yield running
    caches.reset_all()


def _upload(target: RecordingTarget, tmp: Path, name: str, data: bytes) -> None:
    path = tmp / name
    path.write_bytes(data)
    target.upload(path, f"raw/{name}")


def test_each_shape_reaches_endpoint_active(target: RecordingTarget, tmp_path: Path) -> None:
    for name, (make, _, _) in CASES.items():  # all at once: the stages run side by side
        _upload(target, tmp_path, name, make(Path(name).stem))
    for name, (_, shape, prefix) in CASES.items():
        dataset = Path(name).stem
        wait_endpoint_active(target, dataset)
        report = bucket_doc(target, f"reports/{dataset}.json")
        assert report is not None and report["valid"], report
        assert report["format"] == shape
        assert (report["records_written"], report["records_skipped"]) == (N, 0)
        first = _first_line(target, dataset)
        assert first["prompt"].startswith(prefix) and f"{dataset} figure 0" in first["prompt"]
        assert first["completion"].startswith(f"The {dataset} figure 0")


def _first_line(target: RecordingTarget, dataset: str) -> dict[str, str]:
    emulator = target.emulator
    _, stream = emulator.objectstorage.open_object(emulator.namespace, target.bucket,
                                                   f"training/{dataset}.jsonl")
    with stream:
        first: dict[str, str] = json.loads(stream.read().split(b"\n", 1)[0])
    return first


def test_an_unsupported_shape_is_rejected_with_the_shape_named(
        target: RecordingTarget, tmp_path: Path) -> None:
    rows = "\n".join(json.dumps({"title": f"t{i}", "body": f"b{i}"}) for i in range(N))
    _upload(target, tmp_path, "posts.jsonl", rows.encode())

    def rejected() -> dict[str, Any] | None:
        return bucket_doc(target, "reports/posts.json")

    report = wait_until(rejected, "reports/posts.json", timeout=60, interval=0.2)
    assert not report["valid"] and report["fatal"]["code"] == "unsupported_shape", report
    assert "(body, title)" in report["fatal"]["message"]
    assert "--prompt-field" in report["fatal"]["hint"]
    assert report["format"] is None and report["input_format"] == "jsonl"
    assert bucket_doc(target, "training/posts.jsonl") is None  # nothing was written


def test_fields_named_in_the_objects_metadata_convert(target: RecordingTarget) -> None:
    import oci

    assert target.info is not None
    config = oci.config.from_file(target.info.config_file, target.info.profile)
    client = oci.object_storage.ObjectStorageClient(
        config, service_endpoint=target.info.emulator_endpoint)
    body = "\n".join(json.dumps({"frage": q, "antwort": a, "n": i})
                     for i, (q, a) in enumerate(_pair(i, "mapped") for i in range(N)))
    client.put_object(target.info.namespace, target.info.bucket, "raw/mapped.jsonl",
                      body.encode(), opc_meta={"ocift-prompt-field": "frage",
                                               "ocift-completion-field": "antwort"})
    wait_endpoint_active(target, "mapped")
    report = bucket_doc(target, "reports/mapped.json")
    assert report is not None
    assert report["format"] == "field-mapped records (frage/antwort) in JSON Lines"
    assert report["records_written"] == N
