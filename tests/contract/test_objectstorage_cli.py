"""Object Storage emulation driven by the real ``oci`` CLI (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local.emulator import Emulator

pytestmark = pytest.mark.contract

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_cli_namespace_bucket_and_object_round_trip(emulator: Emulator, oci_cli: Cli,
                                                    tmp_path: Path) -> None:
    ns = emulator.namespace
    assert json.loads(oci_cli("os", "ns", "get").stdout)["data"] == ns
    created = json.loads(oci_cli("os", "bucket", "create", "--namespace", ns, "--name", "cli",
                                 "--compartment-id", emulator.compartment_id,
                                 "--object-events-enabled", "true").stdout)["data"]
    assert (created["name"], created["object-events-enabled"]) == ("cli", True)
    source = tmp_path / "in.json"
    source.write_bytes(b'[{"instruction": "q", "output": "a"}]')
    oci_cli("os", "object", "put", "--namespace", ns, "--bucket-name", "cli",
            "--name", "raw/in.json", "--file", str(source), "--metadata", '{"origin": "cli"}')
    listed = json.loads(oci_cli("os", "object", "list", "--namespace", ns,
                                "--bucket-name", "cli", "--prefix", "raw/").stdout)
    assert [(o["name"], o["size"]) for o in listed["data"]] == [("raw/in.json", 37)]
    out = tmp_path / "out.json"
    oci_cli("os", "object", "get", "--namespace", ns, "--bucket-name", "cli",
            "--name", "raw/in.json", "--file", str(out))
    assert out.read_bytes() == source.read_bytes()
    head = json.loads(oci_cli("os", "object", "head", "--namespace", ns, "--bucket-name", "cli",
                              "--name", "raw/in.json").stdout)
    assert head["opc-meta-origin"] == "cli"
    oci_cli("os", "object", "delete", "--namespace", ns, "--bucket-name", "cli",
            "--name", "raw/in.json", "--force")
    missing = oci_cli("os", "object", "head", "--namespace", ns, "--bucket-name", "cli",
                      "--name", "raw/in.json", check=False)
    assert missing.returncode != 0


def test_cli_multipart_put_and_error_body(emulator: Emulator, oci_cli: Cli,
                                          tmp_path: Path) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "big", emulator.compartment_id)
    data = os.urandom(2 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    put = json.loads(oci_cli("os", "object", "put", "--namespace", ns, "--bucket-name", "big",
                             "--name", "big.bin", "--file", str(source),
                             "--part-size", "1").stdout)
    assert put["opc-multipart-md5"].endswith("-3")
    _, stream = emulator.objectstorage.open_object(ns, "big", "big.bin")
    with stream:
        assert stream.read() == data
    failed = oci_cli("os", "bucket", "get", "--namespace", ns, "--bucket-name", "nope",
                     check=False)
    assert failed.returncode != 0
    assert '"code": "BucketNotFound"' in failed.stderr
    assert "Warning" not in failed.stderr


def test_cli_metadata_carries_a_job_spec_the_pipeline_reads(emulator: Emulator, oci_cli: Cli,
                                                           tmp_path: Path) -> None:
    """The README's tenancy example: ``oci os object put --metadata`` with ``ocift-*`` keys
    is the job spec the stages parse. (A key written with ``opc-meta-`` gets the prefix
    twice from the CLI; the stages still read it.)"""
    import oci

    from shared import jobspec
    from shared.families import TrainingMethod
    from shared.storage import ObjectStore

    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "spec", emulator.compartment_id)
    source = tmp_path / "in.json"
    source.write_bytes(b'[{"instruction": "q", "output": "a"}]')
    meta = {"ocift-base-model": "meta.llama-3.3-70b-instruct",
            "opc-meta-ocift-training-method": "LORA", "ocift-epochs": "2"}
    oci_cli("os", "object", "put", "--namespace", ns, "--bucket-name", "spec",
            "--name", "raw/in.json", "--file", str(source), "--metadata", json.dumps(meta))
    head = json.loads(oci_cli("os", "object", "head", "--namespace", ns, "--bucket-name", "spec",
                              "--name", "raw/in.json").stdout)
    assert head["opc-meta-ocift-epochs"] == "2"  # the CLI adds the prefix
    assert head["opc-meta-opc-meta-ocift-training-method"] == "LORA"  # ... even when given
    client = oci.object_storage.ObjectStorageClient(emulator.sdk_config(),
                                                    service_endpoint=emulator.endpoint)
    info = ObjectStore(client, ns, "spec").head("raw/in.json")
    assert info is not None
    spec = jobspec.from_metadata(info.metadata)
    assert (spec.base_model, spec.training_method, spec.epochs) == (
        "meta.llama-3.3-70b-instruct", TrainingMethod.LORA, 2)
