"""Object Storage emulation driven by the real oci SDK."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import oci
import pytest
from oci.object_storage import ObjectStorageClient, UploadManager
from oci.object_storage.models import (
    CommitMultipartUploadDetails,
    CommitMultipartUploadPartDetails,
    CreateBucketDetails,
    CreateMultipartUploadDetails,
)

from deploy.local.emulator import Emulator, build_emulator
from shared.events.cloudevents import parse_object_event

pytestmark = pytest.mark.contract


def client_for(emu: Emulator) -> ObjectStorageClient:
    return ObjectStorageClient(emu.sdk_config(), service_endpoint=emu.endpoint,
                               retry_strategy=oci.retry.NoneRetryStrategy())


@pytest.fixture
def client(emulator: Emulator) -> ObjectStorageClient:
    return client_for(emulator)


def _bucket(client: ObjectStorageClient, emu: Emulator, name: str = "bk",
            events: bool = False) -> str:
    client.create_bucket(emu.namespace, CreateBucketDetails(
        name=name, compartment_id=emu.compartment_id, object_events_enabled=events,
        freeform_tags={"pipeline": "ocift"}))
    return name


def _error(call: Any, *args: Any, **kwargs: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call(*args, **kwargs)
    return info.value


def test_namespace_and_buckets(emulator: Emulator, client: ObjectStorageClient) -> None:
    ns = client.get_namespace().data
    assert ns == emulator.namespace
    created = client.create_bucket(ns, CreateBucketDetails(
        name="data", compartment_id=emulator.compartment_id, object_events_enabled=True)).data
    assert (created.name, created.object_events_enabled) == ("data", True)
    assert created.id.startswith("ocid1.bucket.")
    got = client.get_bucket(ns, "data")
    assert got.data.compartment_id == emulator.compartment_id
    assert got.headers["etag"] == created.etag
    _bucket(client, emulator, "other")
    listed = client.list_buckets(ns, emulator.compartment_id).data
    assert [b.name for b in listed] == ["data", "other"]
    assert client.list_buckets(ns, "ocid1.compartment.oc1..elsewhere").data == []
    dup = _error(client.create_bucket, ns, CreateBucketDetails(
        name="data", compartment_id=emulator.compartment_id))
    assert (dup.status, dup.code) == (409, "BucketAlreadyExists")
    missing = _error(client.get_bucket, ns, "nope")
    assert (missing.status, missing.code) == (404, "BucketNotFound")
    assert "nope" in missing.message and missing.request_id


def test_put_get_head_list_delete_with_metadata(emulator: Emulator,
                                                client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    body = b"line one\nline two\n"
    put = client.put_object(ns, bk, "raw/a b.json", body, content_type="application/json",
                            opc_meta={"source-etag": "e-1", "Owner": "me"})
    assert put.headers["opc-content-md5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
    got = client.get_object(ns, bk, "raw/a b.json")
    assert got.data.content == body
    assert got.headers["etag"] == put.headers["etag"]
    assert got.headers["content-type"] == "application/json"
    assert got.headers["opc-meta-source-etag"] == "e-1"
    assert got.headers["opc-meta-owner"] == "me"
    head = client.head_object(ns, bk, "raw/a b.json")
    assert int(head.headers["content-length"]) == len(body)
    assert head.headers["opc-request-id"]
    second = client.put_object(ns, bk, "raw/a b.json", b"v2")
    assert second.headers["etag"] != put.headers["etag"]
    client.delete_object(ns, bk, "raw/a b.json")
    gone = _error(client.get_object, ns, bk, "raw/a b.json")
    assert (gone.status, gone.code) == (404, "ObjectNotFound")
    assert _error(client.head_object, ns, bk, "raw/a b.json").status == 404
    assert _error(client.delete_object, ns, bk, "raw/a b.json").status == 404
    assert _error(client.put_object, ns, "nope", "x", b"1").code == "BucketNotFound"


def test_listing_prefix_paging_delimiter_and_fields(emulator: Emulator,
                                                    client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    names = ["a/1", "a/2", "a/sub/3", "b/1", "c"]
    for name in names:
        client.put_object(ns, bk, name, name.encode())
    everything = client.list_objects(ns, bk).data
    assert [o.name for o in everything.objects] == names
    assert everything.objects[0].size is None  # only the name unless fields asks
    page = client.list_objects(ns, bk, limit=2, fields="name,size,etag,md5,timeCreated").data
    assert [o.name for o in page.objects] == ["a/1", "a/2"]
    assert page.next_start_with == "a/sub/3"
    assert page.objects[0].size == 3 and page.objects[0].etag and page.objects[0].md5
    assert page.objects[0].time_created is not None
    rest = client.list_objects(ns, bk, start=page.next_start_with).data
    assert [o.name for o in rest.objects] == ["a/sub/3", "b/1", "c"]
    assert rest.next_start_with is None
    assert [o.name for o in client.list_objects(ns, bk, prefix="a/").data.objects] == \
        ["a/1", "a/2", "a/sub/3"]
    assert [o.name for o in client.list_objects(ns, bk, start="a/2", end="b/1").data.objects] \
        == ["a/2", "a/sub/3"]
    tree = client.list_objects(ns, bk, delimiter="/").data
    assert [o.name for o in tree.objects] == ["c"] and tree.prefixes == ["a/", "b/"]
    sub = client.list_objects(ns, bk, prefix="a/", delimiter="/").data
    assert [o.name for o in sub.objects] == ["a/1", "a/2"] and sub.prefixes == ["a/sub/"]
    every = list(oci.pagination.list_call_get_all_results_generator(
        client.list_objects, "record", ns, bk, limit=1))
    assert [o.name for o in every] == names  # the SDK pages on nextStartWith


def test_conditional_writes_use_ocis_codes(emulator: Emulator,
                                           client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    first = client.put_object(ns, bk, "k", b"one", if_none_match="*").headers["etag"]
    conflict = _error(client.put_object, ns, bk, "k", b"two", if_none_match="*")
    assert (conflict.status, conflict.code) == (409, "IfNoneMatchFailed")
    second = client.put_object(ns, bk, "k", b"two", if_match=first).headers["etag"]
    stale = _error(client.put_object, ns, bk, "k", b"three", if_match=first)
    assert (stale.status, stale.code) == (412, "NoEtagMatch")
    assert _error(client.get_object, ns, bk, "k", if_match=first).status == 412
    assert _error(client.delete_object, ns, bk, "k", if_match=first).status == 412
    assert client.get_object(ns, bk, "k", if_match=second).data.content == b"two"
    # the SDK surfaces 304 Not Modified as a ServiceError, as against OCI
    assert _error(client.get_object, ns, bk, "k", if_none_match=second).status == 304
    client.delete_object(ns, bk, "k", if_match=second)


def test_content_md5_is_checked(emulator: Emulator, client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    client.put_object(ns, bk, "ok", b"abc", content_md5=good)
    bad = _error(client.put_object, ns, bk, "bad", b"abd", content_md5=good)
    assert (bad.status, bad.code) == (400, "UnmatchedContentMD5")
    assert _error(client.head_object, ns, bk, "bad").status == 404


def test_ranges(emulator: Emulator, client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    client.put_object(ns, bk, "r", b"0123456789")
    part = client.get_object(ns, bk, "r", range="bytes=2-5")
    assert (part.status, part.data.content) == (206, b"2345")
    assert part.headers["content-range"] == "bytes 2-5/10"
    assert client.get_object(ns, bk, "r", range="bytes=-3").data.content == b"789"
    assert _error(client.get_object, ns, bk, "r", range="bytes=20-").status == 416


def test_multipart_with_upload_manager(emulator: Emulator, client: ObjectStorageClient,
                                       tmp_path: Path) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 123)
    path.write_bytes(data)
    manager = UploadManager(client, allow_parallel_uploads=True, parallel_process_count=3)
    resp = manager.upload_file(ns, bk, "training/big.bin", str(path), part_size=1024 * 1024,
                               metadata={"opc-meta-kind": "test"})
    md5s = b"".join(hashlib.md5(data[i:i + 1024 * 1024]).digest()
                    for i in range(0, len(data), 1024 * 1024))
    expected = base64.b64encode(hashlib.md5(md5s).digest()).decode() + "-4"
    assert resp.headers["opc-multipart-md5"] == expected
    got = client.get_object(ns, bk, "training/big.bin")
    assert got.data.content == data
    assert got.headers["opc-multipart-md5"] == expected
    assert got.headers["opc-meta-kind"] == "test"
    assert client.list_multipart_uploads(ns, bk).data == []


def test_multipart_low_level_list_abort_and_bad_parts(emulator: Emulator,
                                                      client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    upload = client.create_multipart_upload(ns, bk, CreateMultipartUploadDetails(
        object="m.bin", content_type="text/plain")).data
    etags = [client.upload_part(ns, bk, "m.bin", upload.upload_id, n, f"part{n}".encode())
             .headers["etag"] for n in (1, 2, 3)]
    uploads = client.list_multipart_uploads(ns, bk).data
    assert [(u.object, u.upload_id) for u in uploads] == [("m.bin", upload.upload_id)]
    parts = client.list_multipart_upload_parts(ns, bk, "m.bin", upload.upload_id).data
    assert [(p.part_number, p.etag, p.size) for p in parts] == \
        [(1, etags[0], 5), (2, etags[1], 5), (3, etags[2], 5)]
    wrong = _error(client.commit_multipart_upload, ns, bk, "m.bin", upload.upload_id,
                   CommitMultipartUploadDetails(parts_to_commit=[
                       CommitMultipartUploadPartDetails(part_num=1, etag="not-it")]))
    assert wrong.status == 400
    client.commit_multipart_upload(ns, bk, "m.bin", upload.upload_id,
                                   CommitMultipartUploadDetails(parts_to_commit=[
                                       CommitMultipartUploadPartDetails(part_num=n, etag=e)
                                       for n, e in ((1, etags[0]), (3, etags[2]))]))
    got = client.get_object(ns, bk, "m.bin")
    assert got.data.content == b"part1part3"
    assert got.headers["content-type"] == "text/plain"
    other = client.create_multipart_upload(ns, bk, CreateMultipartUploadDetails(
        object="gone.bin")).data
    client.upload_part(ns, bk, "gone.bin", other.upload_id, 1, b"x")
    client.abort_multipart_upload(ns, bk, "gone.bin", other.upload_id)
    assert client.list_multipart_uploads(ns, bk).data == []
    missing = _error(client.upload_part, ns, bk, "gone.bin", other.upload_id, 2, b"y")
    assert missing.status == 404
    assert _error(client.head_object, ns, bk, "gone.bin").status == 404


@pytest.mark.parametrize("name", ["training/財務 データ 📈.jsonl", "training/ünïcødé.jsonl",
                                  "training/plain name.jsonl"])
def test_multipart_location_header_is_percent_encoded(emulator: Emulator,
                                                      client: ObjectStorageClient,
                                                      name: str) -> None:
    """A name outside Latin-1 used to tear the CreateMultipartUpload response (issue 23)."""
    ns, bk = emulator.namespace, _bucket(client, emulator)
    created = client.create_multipart_upload(ns, bk, CreateMultipartUploadDetails(object=name))
    location = created.headers["location"]
    assert location.isascii()
    assert unquote(location) == f"/n/{ns}/b/{bk}/u/{name}"
    upload = created.data
    assert upload.object == name
    etag = client.upload_part(ns, bk, name, upload.upload_id, 1, b"abc").headers["etag"]
    client.commit_multipart_upload(ns, bk, name, upload.upload_id, CommitMultipartUploadDetails(
        parts_to_commit=[CommitMultipartUploadPartDetails(part_num=1, etag=etag)]))
    assert client.get_object(ns, bk, name).data.content == b"abc"


def test_object_events_create_update_delete(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    emu = build_emulator(tmp_path / "state", on_event=events.append).start()
    try:
        client = client_for(emu)
        ns = emu.namespace
        _bucket(client, emu, "quiet", events=False)
        _bucket(client, emu, "loud", events=True)
        client.put_object(ns, "quiet", "x", b"1")
        assert events == []
        first = client.put_object(ns, "loud", "raw/d.json", b"1").headers["etag"]
        second = client.put_object(ns, "loud", "raw/d.json", b"2").headers["etag"]
        client.delete_object(ns, "loud", "raw/d.json")
        bucket_id = client.get_bucket(ns, "loud").data.id
    finally:
        emu.stop()
    assert [e["eventType"].rsplit(".", 1)[1] for e in events] == \
        ["createobject", "updateobject", "deleteobject"]
    created, updated = parse_object_event(events[0]), parse_object_event(events[1])
    assert (created.bucket, created.namespace, created.object_name) == ("loud", ns, "raw/d.json")
    assert (created.etag, updated.etag) == (first, second)
    assert created.data.resource_id == f"/n/{ns}/b/loud/o/raw/d.json"
    assert created.data.additional_details.bucket_id == bucket_id
    assert created.data.compartment_id == emu.compartment_id
    assert created.extensions == {"compartmentId": emu.compartment_id}
    assert created.data.freeform_tags == {"pipeline": "ocift"}
    assert (created.cloud_events_version, created.event_type_version, created.source) == \
        ("0.1", "2.0", "objectstorage")
    assert created.event_id != updated.event_id


def test_restart_keeps_buckets_objects_and_uploads(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = build_emulator(state).start()
    try:
        client = client_for(first)
        ns = first.namespace
        _bucket(client, first, events=True)
        etag = client.put_object(ns, "bk", "keep/me", b"kept", opc_meta={"a": "b"}).headers["etag"]
        upload = client.create_multipart_upload(ns, "bk", CreateMultipartUploadDetails(
            object="later")).data
        client.upload_part(ns, "bk", "later", upload.upload_id, 1, b"p1")
    finally:
        first.stop()
    second = build_emulator(state).start()
    try:
        client = client_for(second)
        assert client.get_bucket(ns, "bk").data.object_events_enabled is True
        got = client.get_object(ns, "bk", "keep/me")
        assert (got.data.content, got.headers["etag"]) == (b"kept", etag)
        assert got.headers["opc-meta-a"] == "b"
        assert [p.part_number for p in client.list_multipart_upload_parts(
            ns, "bk", "later", upload.upload_id).data] == [1]
    finally:
        second.stop()


def test_python_api_for_in_process_readers(emulator: Emulator,
                                           client: ObjectStorageClient) -> None:
    backend, ns = emulator.objectstorage, emulator.namespace
    backend.ensure_bucket(ns, "api", emulator.compartment_id)
    info = backend.ensure_bucket(ns, "api", emulator.compartment_id, object_events_enabled=False)
    assert info.object_events_enabled is True  # existing settings are kept
    meta = backend.put_object(ns, "api", "train.jsonl", b'{"prompt":"p"}\n',
                              content_type="application/x-ndjson")
    assert client.get_object(ns, "api", "train.jsonl").headers["etag"] == meta.etag
    head, stream = backend.open_object(ns, "api", "train.jsonl")
    with stream:
        assert stream.read() == b'{"prompt":"p"}\n'
    assert head == backend.head_object(ns, "api", "train.jsonl")
    assert head.content_type == "application/x-ndjson"


def test_bucket_update_and_delete(emulator: Emulator, client: ObjectStorageClient) -> None:
    ns, bk = emulator.namespace, _bucket(client, emulator)
    etag = client.get_bucket(ns, bk).data.etag
    updated = client.update_bucket(ns, bk, oci.object_storage.models.UpdateBucketDetails(
        object_events_enabled=True, freeform_tags={"k": "v"})).data
    assert (updated.object_events_enabled, updated.freeform_tags) == (True, {"k": "v"})
    assert updated.etag != etag
    stale = _error(client.update_bucket, ns, bk, oci.object_storage.models.UpdateBucketDetails(
        object_events_enabled=False), if_match=etag)
    assert stale.status == 412
    client.put_object(ns, bk, "o", b"1")
    busy = _error(client.delete_bucket, ns, bk)
    assert (busy.status, busy.code) == (409, "BucketNotEmpty")
    client.delete_object(ns, bk, "o")
    client.delete_bucket(ns, bk)
    assert _error(client.get_bucket, ns, bk).status == 404


def test_concurrent_create_only_writes_have_one_winner(emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = client_for(emulator)
    ns, bk = emulator.namespace, _bucket(client, emulator)

    def attempt(i: int) -> int:
        own = client_for(emulator)  # one connection pool per writer
        try:
            own.put_object(ns, bk, "claim", f"writer-{i}".encode() * 1000, if_none_match="*")
        except oci.exceptions.ServiceError as exc:
            return int(exc.status)
        return 200

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert sorted(statuses) == [200] + [409] * 7
    content = client.get_object(ns, bk, "claim").data.content
    winner = statuses.index(200)
    assert content == f"writer-{winner}".encode() * 1000
    assert [o.name for o in client.list_objects(ns, bk).data.objects] == ["claim"]
    root = emulator.objectstorage.root
    (bucket_dir,) = (root / "n" / ns / "b").iterdir()  # named by a hash of the bucket name
    assert len(list((bucket_dir / "data").iterdir())) == 1  # losers left nothing
    assert list((root / "tmp").iterdir()) == []
