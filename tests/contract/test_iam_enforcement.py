"""Each stage function's principal can do what its statements grant and nothing else.

Drives the real ``oci`` SDK with the per-function configs the local target gives
its functions, against the emulator enforcing ``deploy/iam/*.json``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.local.emulator.iam import PolicyParseError
from deploy.local.policies import default_iam_dir
from deploy.local.target import LocalTarget

pytestmark = pytest.mark.contract

BUCKET = "ocift-datasets"
OTHER = "someone-elses-bucket"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    with LocalTarget(tmp_path_factory.mktemp("iam-target"), watch_interval=0) as t:
        emu = t.emulator
        emu.objectstorage.ensure_bucket(emu.namespace, OTHER, emu.compartment_id)
        for name in ("raw/a.json", "status/a.json", "training/a.jsonl", "approvals/a.json"):
            emu.objectstorage.put_object(emu.namespace, BUCKET, name, b"{}")
        emu.objectstorage.put_object(emu.namespace, OTHER, "raw/a.json", b"{}")
        yield t


def _config(target: LocalTarget, stage: str) -> dict[str, Any]:
    assert target.runner is not None
    path = target.runner.functions[stage].config["OCIFT_OCI_CONFIG_FILE"]
    config: dict[str, Any] = oci.config.from_file(path, "DEFAULT")
    return config


def _os(target: LocalTarget, stage: str) -> oci.object_storage.ObjectStorageClient:
    return oci.object_storage.ObjectStorageClient(
        _config(target, stage), service_endpoint=target.emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy())


def _genai(target: LocalTarget, stage: str) -> oci.generative_ai.GenerativeAiClient:
    return oci.generative_ai.GenerativeAiClient(
        _config(target, stage), service_endpoint=target.emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy())


def _denied(exc: pytest.ExceptionInfo[oci.exceptions.ServiceError], code: str) -> None:
    assert exc.value.status == 404 and exc.value.code == code, (exc.value.status,
                                                                exc.value.code)


def _cluster_details(target: LocalTarget) -> Any:
    return oci.generative_ai.models.CreateDedicatedAiClusterDetails(
        compartment_id=target.emulator.compartment_id, type="FINE_TUNING",
        unit_shape="SMALL_COHERE_V2", unit_count=8)


def test_functions_do_not_sign_as_the_administrator(target: LocalTarget) -> None:
    admin = target.emulator.sdk_config()["user"]
    users = {_config(target, s)["user"] for s in ("convert", "train", "endpoint", "watch",
                                                  "infer", "evaluate")}
    assert len(users) == 6 and admin not in users
    assert all(u.startswith("ocid1.fnfunc.") for u in users)


def test_infer_cannot_create_a_model_or_read_raw(target: LocalTarget) -> None:
    genai = _genai(target, "infer")
    genai.list_endpoints(compartment_id=target.emulator.compartment_id)  # granted
    details = oci.generative_ai.models.CreateModelDetails(
        compartment_id=target.emulator.compartment_id, base_model_id="x",
        fine_tune_details=oci.generative_ai.models.FineTuneDetails(
            training_dataset=oci.generative_ai.models.ObjectStorageDataset(
                namespace_name=target.emulator.namespace, bucket_name=BUCKET,
                object_name="training/a.jsonl"),
            dedicated_ai_cluster_id="ocid1.generativeaidedicatedaicluster.oc1..x"))
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        genai.create_model(details)
    _denied(exc, "NotAuthorizedOrNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as exc2:
        _os(target, "infer").get_object(target.emulator.namespace, BUCKET, "raw/a.json")
    _denied(exc2, "BucketNotFound")


def test_convert_cannot_write_status_or_create_genai_resources(target: LocalTarget) -> None:
    client = _os(target, "convert")
    ns = target.emulator.namespace
    assert client.get_object(ns, BUCKET, "raw/a.json").status == 200  # granted
    client.put_object(ns, BUCKET, "training/b.jsonl", b"{}")  # granted
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        client.put_object(ns, BUCKET, "status/b.json", b"{}")
    _denied(exc, "BucketNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as exc2:
        client.put_object(ns, BUCKET, "status/a.json", b"{}")  # overwrite is denied too
    _denied(exc2, "BucketNotFound")
    assert target.emulator.objectstorage.head_object(ns, BUCKET, "status/a.json").size == 2
    with pytest.raises(oci.exceptions.ServiceError) as exc3:
        _genai(target, "convert").create_dedicated_ai_cluster(_cluster_details(target))
    _denied(exc3, "NotAuthorizedOrNotFound")


def test_convert_may_abort_its_upload_but_not_delete_objects(target: LocalTarget) -> None:
    client = _os(target, "convert")
    ns = target.emulator.namespace
    upload = client.create_multipart_upload(
        ns, BUCKET, oci.object_storage.models.CreateMultipartUploadDetails(
            object="training/c.jsonl", metadata={"opc-meta-source-etag": "e"})).data
    client.abort_multipart_upload(ns, BUCKET, "training/c.jsonl", upload.upload_id)
    with pytest.raises(oci.exceptions.ServiceError) as exc:
        client.delete_object(ns, BUCKET, "training/a.jsonl")
    _denied(exc, "BucketNotFound")
    target.emulator.objectstorage.head_object(ns, BUCKET, "training/a.jsonl")


def test_watch_cannot_delete_anything(target: LocalTarget) -> None:
    emu = target.emulator
    client = _os(target, "watch")
    client.list_objects(emu.namespace, BUCKET, prefix="status/")  # granted
    for name in ("status/a.json", "training/a.jsonl", "raw/a.json"):
        with pytest.raises(oci.exceptions.ServiceError) as exc:
            client.delete_object(emu.namespace, BUCKET, name)
        _denied(exc, "BucketNotFound")
        emu.objectstorage.head_object(emu.namespace, BUCKET, name)  # still there
    with pytest.raises(oci.exceptions.ServiceError) as exc2:
        client.delete_bucket(emu.namespace, OTHER)
    _denied(exc2, "BucketNotFound")
    admin = oci.generative_ai.GenerativeAiClient(emu.sdk_config(),
                                                 service_endpoint=emu.endpoint)
    cluster = admin.create_dedicated_ai_cluster(_cluster_details(target)).data
    watch = _genai(target, "watch")
    assert watch.get_dedicated_ai_cluster(cluster.id).data.id == cluster.id  # read granted
    with pytest.raises(oci.exceptions.ServiceError) as exc3:
        watch.delete_dedicated_ai_cluster(cluster.id)
    _denied(exc3, "NotAuthorizedOrNotFound")
    assert admin.get_dedicated_ai_cluster(cluster.id).data.lifecycle_state != "DELETING"


def test_watch_observes_and_records_but_creates_nothing(target: LocalTarget) -> None:
    """The watcher's grants are read-only apart from status/ (issue 11 item 1)."""
    emu = target.emulator
    client = _os(target, "watch")
    client.put_object(emu.namespace, BUCKET, "status/w.json", b"{}")  # granted
    for name in ("reports/w.json", "training/w.jsonl", "raw/w.json"):
        with pytest.raises(oci.exceptions.ServiceError) as exc:
            client.put_object(emu.namespace, BUCKET, name, b"{}")
        _denied(exc, "BucketNotFound")
    watch = _genai(target, "watch")
    with pytest.raises(oci.exceptions.ServiceError) as exc2:
        watch.create_dedicated_ai_cluster(_cluster_details(target))
    _denied(exc2, "NotAuthorizedOrNotFound")
    endpoint = oci.generative_ai.models.CreateEndpointDetails(
        compartment_id=emu.compartment_id, model_id="ocid1.generativeaimodel.oc1..x",
        dedicated_ai_cluster_id="ocid1.generativeaidedicatedaicluster.oc1..x")
    with pytest.raises(oci.exceptions.ServiceError) as exc3:
        watch.create_endpoint(endpoint)
    _denied(exc3, "NotAuthorizedOrNotFound")


def test_evaluate_writes_only_its_report_and_hand_off(target: LocalTarget) -> None:
    client = _os(target, "evaluate")
    ns = target.emulator.namespace
    emu = target.emulator
    emu.objectstorage.put_object(ns, BUCKET, "eval/a.jsonl", b"{}")
    assert client.get_object(ns, BUCKET, "eval/a.jsonl").status == 200  # granted
    assert client.get_object(ns, BUCKET, "status/a.json").status == 200
    client.put_object(ns, BUCKET, "reports/a.v1.eval.json", b"{}")  # its own report
    client.put_object(ns, BUCKET, "handoff/evaluate/a.json", b"{}")  # it resumes itself
    denied = ["reports/a.json", "status/a.json", "eval/a.jsonl", "training/a.jsonl",
              "handoff/endpoint/a.json", "reports/a.v1.eval.json.bak"]
    for name in denied:
        with pytest.raises(oci.exceptions.ServiceError) as exc:
            client.put_object(ns, BUCKET, name, b"[]")
        _denied(exc, "BucketNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as exc2:
        client.get_object(ns, BUCKET, "raw/a.json")
    _denied(exc2, "BucketNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as exc3:
        client.delete_object(ns, BUCKET, "reports/a.v1.eval.json")
    _denied(exc3, "BucketNotFound")
    genai = _genai(target, "evaluate")
    calls: list[Callable[[], Any]] = [
        lambda: genai.list_models(compartment_id=emu.compartment_id),
        lambda: genai.create_dedicated_ai_cluster(_cluster_details(target))]
    for call in calls:
        with pytest.raises(oci.exceptions.ServiceError) as exc4:
            call()
        _denied(exc4, "NotAuthorizedOrNotFound")


@pytest.mark.parametrize("stage", ["convert", "train", "endpoint", "watch", "infer",
                                   "evaluate"])
def test_no_stage_can_touch_another_bucket(target: LocalTarget, stage: str) -> None:
    client = _os(target, stage)
    ns = target.emulator.namespace
    calls: list[Callable[[], Any]] = [
        lambda: client.get_object(ns, OTHER, "raw/a.json"),
        lambda: client.put_object(ns, OTHER, "training/x.jsonl", b"{}"),
        lambda: client.list_objects(ns, OTHER)]
    for call in calls:
        with pytest.raises(oci.exceptions.ServiceError) as exc:
            call()
        _denied(exc, "BucketNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as head:  # HEAD answers carry no body
        client.head_object(ns, OTHER, "raw/a.json")
    assert head.value.status == 404
    names = [o.name for o in target.emulator.objectstorage.list_objects(ns, OTHER)[0]]
    assert names == ["raw/a.json"]


@pytest.mark.parametrize("stage", ["convert", "train", "endpoint", "watch", "infer"])
def test_no_stage_principal_can_write_an_approval(target: LocalTarget, stage: str) -> None:
    """Approvals are the user's (issue 24): only the train stage reads them, none writes."""
    client = _os(target, stage)
    ns = target.emulator.namespace
    for name in ("approvals/a.json", "approvals/new.json"):  # overwrite and create
        with pytest.raises(oci.exceptions.ServiceError) as exc:
            client.put_object(ns, BUCKET, name, b'{"decision": "approve"}')
        _denied(exc, "BucketNotFound")
    assert target.emulator.objectstorage.head_object(ns, BUCKET, "approvals/a.json").size == 2
    if stage == "train":
        assert client.get_object(ns, BUCKET, "approvals/a.json").status == 200  # granted
    else:
        with pytest.raises(oci.exceptions.ServiceError) as read:
            client.get_object(ns, BUCKET, "approvals/a.json")
        _denied(read, "BucketNotFound")


def test_a_malformed_statement_fails_target_start(tmp_path: Path) -> None:
    iam = tmp_path / "iam"
    shutil.copytree(default_iam_dir(), iam)
    doc = json.loads((iam / "infer.json").read_text())
    doc["statements"][0]["statement"] = (
        "Allow dynamic-group ${dynamic_group} to read objects in compartment id "
        "${compartment_ocid} where target.object.name = /raw/*")
    (iam / "infer.json").write_text(json.dumps(doc))
    target = LocalTarget(tmp_path / "state", watch_interval=0, iam_dir=iam)
    with pytest.raises(PolicyParseError) as exc:
        target.start()
    message = str(exc.value)
    assert "infer.json statement 1" in message and "target.object.name = /raw/*" in message
    assert exc.value.position == exc.value.statement.index("/raw/*")
    assert target.emulator is None  # everything it started was stopped


def test_the_gateway_invokes_only_what_target_function_id_grants(tmp_path: Path) -> None:
    """The local gateway checks the deployed fn-invocation grant (services.json) before it
    invokes: pin the gateway's grant to another function and /infer is refused (issue 23)."""
    import urllib.error
    import urllib.request

    iam = tmp_path / "iam"
    shutil.copytree(default_iam_dir(), iam)
    doc = json.loads((iam / "services.json").read_text())
    for entry in doc["statements"]:
        if "ApiGateway" in entry["statement"]:
            entry["statement"] = entry["statement"].replace("${infer_function_ocid}",
                                                            "${watch_function_ocid}")
    (iam / "services.json").write_text(json.dumps(doc))
    with LocalTarget(tmp_path / "state", watch_interval=0, iam_dir=iam) as target:
        assert target.gateway is not None and target.invoke_guard is not None
        request = urllib.request.Request(f"{target.gateway.url}/infer", method="POST",
                                         data=b'{"prompt": "q", "model": "m"}',
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 502
        assert b"may not invoke function infer" in refused.value.read()
        assert target.invoke_guard.allowed(target._gateway_principal, "watch")
