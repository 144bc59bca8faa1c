"""OCI's limits on names, metadata keys and tags, answered as the real service does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import oci
import pytest

from deploy.local.emulator import Emulator

pytestmark = pytest.mark.contract

NO_RETRY = oci.retry.NoneRetryStrategy()


def _os(emu: Emulator) -> oci.object_storage.ObjectStorageClient:
    return oci.object_storage.ObjectStorageClient(emu.sdk_config(), service_endpoint=emu.endpoint,
                                                  retry_strategy=NO_RETRY)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", [".", "..", "a/b", "bad name", "ünicode", "x" * 257])
def test_bucket_names_oci_refuses_are_refused_and_touch_nothing(
        emulator: Emulator, oci_cli: Callable[..., CompletedProcess[str]], name: str) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "keep", emulator.compartment_id)
    emulator.objectstorage.put_object(ns, "keep", "raw/a.json", b"{}")
    state = emulator.server.state_dir / "objectstorage"
    before = _tree(state)
    created = oci_cli("os", "bucket", "create", "--name", name, "--compartment-id",
                      emulator.compartment_id, check=False)
    assert created.returncode != 0
    if "/" not in name:  # a slash changes the path; the CLI never reaches CreateBucket's body
        assert '"status": 400' in created.stderr and "InvalidBucketName" in created.stderr
    deleted = oci_cli("os", "bucket", "delete", "--bucket-name", name, "--force", check=False)
    assert deleted.returncode != 0
    assert _tree(state) == before
    assert emulator.objectstorage.head_object(ns, "keep", "raw/a.json").size == 2


def test_bucket_data_lives_under_a_hashed_directory(emulator: Emulator) -> None:
    emulator.objectstorage.ensure_bucket(emulator.namespace, "b.1", emulator.compartment_id)
    base = emulator.server.state_dir / "objectstorage" / "n" / emulator.namespace / "b"
    # One directory named by the SHA-256 of the bucket name, never by the name itself.
    assert [p.name for p in base.iterdir()] == [f"h-{hashlib.sha256(b'b.1').hexdigest()}"]
    _os(emulator).delete_bucket(emulator.namespace, "b.1")
    assert not any(base.iterdir())


@pytest.mark.parametrize(("name", "why"), [
    ("raw/" + "é" * 511, "1024 bytes"),  # 4 + 1022 bytes
    ("raw/line\nbreak.json", "may not contain"),
    ("raw/carriage\rreturn.json", "may not contain"),
])
def test_object_names_oci_refuses(emulator: Emulator, name: str, why: str) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "names", emulator.compartment_id)
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        _os(emulator).put_object(ns, "names", name, b"{}")
    assert (exc.value.status, exc.value.code) == (400, "InvalidParameter")
    assert why in exc.value.message
    assert emulator.objectstorage.list_objects(ns, "names")[0] == []


def test_longest_object_name_and_non_latin_names_are_accepted(emulator: Emulator) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "names", emulator.compartment_id)
    client = _os(emulator)
    for name in ("raw/" + "é" * 510, "raw/数据 集 🚀.json"):  # 1024 bytes; CJK + emoji + spaces
        client.put_object(ns, "names", name, b"{}")
        assert client.get_object(ns, "names", name).data.content == b"{}"


def test_multipart_metadata_keys_need_the_opc_meta_prefix(emulator: Emulator) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "mp", emulator.compartment_id)
    client = _os(emulator)
    bad = oci.object_storage.models.CreateMultipartUploadDetails(
        object="training/a.jsonl", metadata={"source-etag": "e"})
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        client.create_multipart_upload(ns, "mp", bad)
    assert (exc.value.status, exc.value.code) == (400, "InvalidParameter")
    assert "'source-etag'" in exc.value.message and "opc-meta-" in exc.value.message
    assert client.list_multipart_uploads(ns, "mp").data == []
    good = oci.object_storage.models.CreateMultipartUploadDetails(
        object="training/a.jsonl", metadata={"opc-meta-source-etag": "e"})
    upload = client.create_multipart_upload(ns, "mp", good).data
    part = client.upload_part(ns, "mp", "training/a.jsonl", upload.upload_id, 1, b"{}")
    client.commit_multipart_upload(
        ns, "mp", "training/a.jsonl", upload.upload_id,
        oci.object_storage.models.CommitMultipartUploadDetails(parts_to_commit=[
            oci.object_storage.models.CommitMultipartUploadPartDetails(
                part_num=1, etag=part.headers["etag"])]))
    head = client.head_object(ns, "mp", "training/a.jsonl")
    assert head.headers["opc-meta-source-etag"] == "e"


@pytest.mark.parametrize(("tags", "why"), [
    ({f"k{i}": "v" for i in range(65)}, "at most 64"),
    ({"k" * 101: "v"}, "1 to 100 characters"),
    ({"": "v"}, "1 to 100 characters"),
    ({"k": "v" * 257}, "longer than 256"),
])
def test_freeform_tag_limits_on_genai_creates(emulator: Emulator, tags: dict[str, str],
                                              why: str) -> None:
    client = oci.generative_ai.GenerativeAiClient(emulator.sdk_config(),
                                                  service_endpoint=emulator.endpoint,
                                                  retry_strategy=NO_RETRY)
    details = oci.generative_ai.models.CreateDedicatedAiClusterDetails(
        compartment_id=emulator.compartment_id, type="HOSTING", unit_shape="SMALL_COHERE_V2",
        unit_count=1, freeform_tags=tags)
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        client.create_dedicated_ai_cluster(details)
    assert (exc.value.status, exc.value.code) == (400, "InvalidParameter")
    assert why in exc.value.message
    listed: Any = client.list_dedicated_ai_clusters(compartment_id=emulator.compartment_id).data
    assert json.dumps(oci.util.to_dict(listed)).count("HOSTING") == 0
