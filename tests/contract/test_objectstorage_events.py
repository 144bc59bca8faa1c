"""Object events: when they fire, when they must not, and that callbacks cannot wedge writes."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest
from oci.object_storage import ObjectStorageClient, UploadManager
from oci.object_storage.models import CreateBucketDetails, UpdateBucketDetails

from deploy.local.emulator import Emulator, build_emulator
from shared.events.cloudevents import parse_object_event

pytestmark = pytest.mark.contract

CREATE = "com.oraclecloud.objectstorage.createobject"
UPDATE = "com.oraclecloud.objectstorage.updateobject"


class Sink:
    """Collects events; ``hook`` (if set) runs inside the callback."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.hook: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.hook is not None:
            self.hook(event)

    @property
    def types(self) -> list[str]:
        return [e["eventType"] for e in self.events]


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def emu(tmp_path: Path, sink: Sink) -> Iterator[Emulator]:
    emulator = build_emulator(tmp_path / "state", on_event=sink).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def client(emu: Emulator) -> ObjectStorageClient:
    return ObjectStorageClient(emu.sdk_config(), service_endpoint=emu.endpoint,
                               retry_strategy=oci.retry.NoneRetryStrategy())


def _bucket(client: ObjectStorageClient, emu: Emulator, name: str, events: bool) -> None:
    client.create_bucket(emu.namespace, CreateBucketDetails(
        name=name, compartment_id=emu.compartment_id, object_events_enabled=events))


def test_multipart_commit_emits_exactly_one_event(emu: Emulator, client: ObjectStorageClient,
                                                  sink: Sink, tmp_path: Path) -> None:
    _bucket(client, emu, "loud", events=True)
    source = tmp_path / "train.jsonl"
    source.write_bytes(b'{"prompt":"p","completion":"c"}\n' * 70_000)
    manager = UploadManager(client, allow_parallel_uploads=True, parallel_process_count=2)
    first = manager.upload_file(emu.namespace, "loud", "training/t.jsonl", str(source),
                                part_size=1024 * 1024).headers["etag"]
    assert sink.types == [CREATE]
    assert parse_object_event(sink.events[0]).etag == first
    second = manager.upload_file(emu.namespace, "loud", "training/t.jsonl", str(source),
                                 part_size=1024 * 1024).headers["etag"]
    assert sink.types == [CREATE, UPDATE]
    assert parse_object_event(sink.events[1]).etag == second


def test_failed_writes_emit_nothing(emu: Emulator, client: ObjectStorageClient,
                                    sink: Sink) -> None:
    ns = emu.namespace
    _bucket(client, emu, "loud", events=True)
    etag = client.put_object(ns, "loud", "obj", b"v1").headers["etag"]
    sink.events.clear()
    with pytest.raises(oci.exceptions.ServiceError):
        client.put_object(ns, "loud", "obj", b"v2", if_none_match="*")
    with pytest.raises(oci.exceptions.ServiceError):
        client.put_object(ns, "loud", "obj", b"v2", if_match="stale-etag")
    wrong_md5 = base64.b64encode(hashlib.md5(b"x", usedforsecurity=False).digest()).decode()
    with pytest.raises(oci.exceptions.ServiceError):
        client.put_object(ns, "loud", "obj", b"v2", content_md5=wrong_md5)
    with pytest.raises(oci.exceptions.ServiceError):
        client.delete_object(ns, "loud", "obj", if_match="stale-etag")
    assert sink.events == []
    assert client.head_object(ns, "loud", "obj").headers["etag"] == etag


def test_enabling_events_on_a_bucket_takes_effect(emu: Emulator, client: ObjectStorageClient,
                                                  sink: Sink) -> None:
    ns = emu.namespace
    _bucket(client, emu, "later", events=False)
    client.put_object(ns, "later", "a", b"1")
    assert sink.events == []
    updated = client.update_bucket(ns, "later", UpdateBucketDetails(
        object_events_enabled=True)).data
    assert updated.object_events_enabled is True
    client.put_object(ns, "later", "a", b"2")
    client.put_object(ns, "later", "b", b"3")
    assert sink.types == [UPDATE, CREATE]
    client.update_bucket(ns, "later", UpdateBucketDetails(object_events_enabled=False))
    client.put_object(ns, "later", "c", b"4")
    assert len(sink.events) == 2


def test_callback_may_read_and_write_the_store(emu: Emulator, client: ObjectStorageClient,
                                               sink: Sink) -> None:
    """Events are delivered outside the store's locks: a handler can use the store at once."""
    ns, backend = emu.namespace, emu.objectstorage
    _bucket(client, emu, "loud", events=True)
    _bucket(client, emu, "out", events=False)
    copied: list[bytes] = []

    def copy(event: dict[str, Any]) -> None:
        name = parse_object_event(event).object_name
        _, stream = backend.open_object(ns, "loud", name)
        with stream:
            data = stream.read()
        copied.append(data)
        backend.put_object(ns, "out", name, data)

    def copy_elsewhere(event: dict[str, Any]) -> None:
        # another thread, as a router worker would: blocks if the emitter holds a lock
        worker = threading.Thread(target=copy, args=(event,))
        worker.start()
        worker.join(timeout=10)

    sink.hook = copy_elsewhere
    done = threading.Event()

    def write() -> None:
        client.put_object(ns, "loud", "raw/x.json", b'{"a": 1}')
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=30)
    assert done.is_set(), "the write deadlocked on its own event callback"
    assert copied == [b'{"a": 1}']
    assert client.get_object(ns, "out", "raw/x.json").data.content == b'{"a": 1}'


def test_failing_callback_does_not_fail_the_write(emu: Emulator, client: ObjectStorageClient,
                                                  sink: Sink) -> None:
    def explode(event: dict[str, Any]) -> None:
        raise RuntimeError("router is down")

    sink.hook = explode
    _bucket(client, emu, "loud", events=True)
    etag = client.put_object(emu.namespace, "loud", "obj", b"kept").headers["etag"]
    assert len(sink.events) == 1
    got = client.get_object(emu.namespace, "loud", "obj")
    assert (got.data.content, got.headers["etag"]) == (b"kept", etag)


def test_in_process_put_emits_like_rest(emu: Emulator, sink: Sink) -> None:
    backend = emu.objectstorage
    backend.ensure_bucket(emu.namespace, "api", emu.compartment_id)
    meta = backend.put_object(emu.namespace, "api", "training/a.jsonl", b"{}\n")
    assert sink.types == [CREATE]
    event = parse_object_event(sink.events[0])
    assert (event.bucket, event.object_name, event.etag) == ("api", "training/a.jsonl",
                                                            meta.etag)
