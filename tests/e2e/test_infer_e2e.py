"""POST /infer through the local gateway and the real fdk runtime, against a model the
pipeline itself fine-tuned from a raw upload (the emulator's retrieval stand-in)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.local.runner import HttpRequest
from deploy.local.target import LocalTarget
from shared import caches, tags
from shared.cli.connection import local_settings
from shared.settings import Stage
from tests.support.events import fixture_event
from tests.support.targets import set_paces, status_doc
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DATASET = "fin"
FUNCTION_LIMIT = 4096  # OCIFT_MAX_REQUEST_BYTES of the function (the gateway allows more)


def _records(tag: str, n: int = 40) -> list[dict[str, str]]:
    return [{"instruction": f"What does the {tag} ratio number {i} of bank {i} measure?",
             "input": "", "output": f"[{tag}] Ratio {i} compares the liabilities of bank {i}."}
            for i in range(n)]


def _wait_state(target: LocalTarget, dataset: str, state: str, model_version: str | None = None,
                timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        doc = status_doc(target, dataset)
        if doc and doc["state"] in ("REJECTED", "MODEL_FAILED", "ENDPOINT_FAILED"):
            raise AssertionError(f"pipeline failed: {doc}")
        if doc and doc["state"] == state and (model_version is None
                                              or doc.get("model_version") == model_version):
            return doc
        return None

    return wait_until(reached, lambda: f"{dataset} in {state}: {status_doc(target, dataset)}",
                      timeout=timeout, interval=0.1)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    root = tmp_path_factory.mktemp("infer")
    t = LocalTarget(root / "state", watch_interval=0.2, backoff_base=0.05,
                    max_request_bytes=64 * 1024,
                    settings_overrides={"OCIFT_ENDPOINT_CACHE_SECONDS": "0.5",
                                        "OCIFT_MAX_REQUEST_BYTES": str(FUNCTION_LIMIT)})
    with t:
        set_paces(t.emulator, provisioning_seconds=0.2, seconds_per_epoch=0.02)
        caches.reset_all()
        raw = root / "fin.json"
        raw.write_text(json.dumps(_records("v1")), encoding="utf-8")
        t.upload(raw, f"raw/{DATASET}.json")
        _wait_state(t, DATASET, "ENDPOINT_ACTIVE")
        yield t
    caches.reset_all()


def _post(target: LocalTarget, body: Any, raw: bytes | None = None,
          ) -> tuple[int, dict[str, Any], dict[str, str]]:
    assert target.info is not None
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(f"{target.info.gateway_url}/infer", data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), _lower(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), _lower(exc.headers)


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _genai(target: LocalTarget) -> Any:
    assert target.info is not None
    s = local_settings(target.info)
    config = oci.config.from_file(s.oci_config_file, s.oci_profile)
    return oci.generative_ai.GenerativeAiClient(config, service_endpoint=s.genai_endpoint)


def test_prompt_answered_by_fine_tuned_stand_in(target: LocalTarget) -> None:
    status, body, headers = _post(target, {"prompt": _records("v1")[7]["instruction"],
                                           "model": DATASET, "temperature": 0})
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert body["text"] == _records("v1")[7]["output"]
    assert body["model"]["name"] == DATASET and body["model"]["version"] == "1"
    assert body["endpoint_id"].startswith("ocid1.generativeaiendpoint")
    assert body["usage"]["completion_tokens"] > 0
    assert body["usage"]["total_tokens"] == (body["usage"]["prompt_tokens"]
                                             + body["usage"]["completion_tokens"])


def test_chat_messages_and_explicit_endpoint(target: LocalTarget) -> None:
    endpoint_id = status_doc(target, DATASET)["endpoint_id"]  # type: ignore[index]
    status, body, _ = _post(target, {
        "messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"},
                     {"role": "user", "content": _records("v1")[3]["instruction"]}],
        "endpoint_id": endpoint_id, "max_tokens": 4})
    assert status == 200, body
    assert body["endpoint_id"] == endpoint_id
    assert body["finish_reason"] == "MAX_TOKENS"
    assert body["usage"]["completion_tokens"] <= 4


@pytest.mark.parametrize(("body", "raw", "status", "code"), [
    (None, b"{nope", 400, "invalid_json"),
    ({"prompt": "q", "model": DATASET, "temperature": 9}, None, 400, "invalid_request"),
    ({"prompt": "q", "model": DATASET, "unknown_knob": 1}, None, 400, "invalid_request"),
    ({"prompt": "q", "model": DATASET, "temperature": 1.5}, None, 400, "invalid_request"),
    ({"prompt": "q", "model": "no-such-dataset"}, None, 404, "unknown_model"),
    ({"prompt": "q", "endpoint_id": "ocid1.generativeaiendpoint.oc1.x.doesnotexist"}, None,
     404, "unknown_endpoint"),
    ({"prompt": "x" * (FUNCTION_LIMIT + 100), "model": DATASET}, None, 413, "body_too_large"),
])
def test_error_cases(target: LocalTarget, body: Any, raw: bytes | None, status: int,
                     code: str) -> None:
    got, answer, headers = _post(target, body, raw)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert headers["content-type"] == "application/json"
    assert "Traceback" not in answer["error"]["message"]
    if code == "invalid_request" and body and "unknown_knob" in body:
        assert "unknown_knob" in answer["error"]["message"]


def test_wrong_method_through_fdk(target: LocalTarget) -> None:
    assert target.runner is not None and target.info is not None
    result = target.runner.invoke(Stage.INFER.value, b"", http=HttpRequest(
        method="GET", url=f"{target.info.gateway_url}/infer"))
    assert result.status == 405
    assert json.loads(result.body)["error"]["code"] == "method_not_allowed"
    assert result.headers.get("allow") == "POST"


def test_cloudevent_is_refused_and_starts_nothing(target: LocalTarget) -> None:
    before = sorted(o["name"] for o in _objects(target))
    event = fixture_event()
    event["prompt"] = "also a prompt"
    status, body, _ = _post(target, event)
    assert (status, body["error"]["code"]) == (400, "not_an_inference_request")
    target.wait_idle(10)
    assert sorted(o["name"] for o in _objects(target)) == before


def _objects(target: LocalTarget) -> list[dict[str, Any]]:
    assert target.info is not None
    s = local_settings(target.info)
    config = oci.config.from_file(s.oci_config_file, s.oci_profile)
    client = oci.object_storage.ObjectStorageClient(config,
                                                    service_endpoint=s.objectstorage_endpoint)
    resp = client.list_objects(target.info.namespace, target.info.bucket, fields="name,etag")
    return [{"name": o.name, "etag": o.etag} for o in resp.data.objects]


def test_throttling_and_upstream_failure_pass_through(target: LocalTarget) -> None:
    endpoint_id = status_doc(target, DATASET)["endpoint_id"]  # type: ignore[index]
    ask = {"prompt": _records("v1")[1]["instruction"], "endpoint_id": endpoint_id}
    assert _post(target, ask)[0] == 200  # warms the endpoint cache
    faults = target.emulator.faults
    try:
        faults.update(rate_429=1.0, retry_after_s=7)
        status, body, headers = _post(target, ask)
        assert (status, body["error"]["code"], headers.get("retry-after")) == (
            429, "throttled", "7")
        faults.update(rate_429=0.0, rate_500=1.0)
        status, body, _ = _post(target, ask)
        assert (status, body["error"]["code"]) == (502, "upstream_error")
        assert "injected" not in body["error"]["message"]
    finally:
        faults.update(rate_429=0.0, rate_500=0.0)


def test_endpoint_not_ready(target: LocalTarget) -> None:
    doc = status_doc(target, DATASET)
    assert doc is not None
    client = _genai(target)
    model = client.get_model(doc["model_id"]).data
    control = target.emulator.genai.control
    control.config.provisioning_seconds = 600
    try:
        from oci.generative_ai import models as m

        endpoint = client.create_endpoint(m.CreateEndpointDetails(
            compartment_id=target.info.compartment_id,  # type: ignore[union-attr]
            model_id=model.id, dedicated_ai_cluster_id=doc["hosting_cluster_id"],
            display_name="slow", freeform_tags=tags.pipeline_tags(
                "ocift", tags.ROLE_ENDPOINT, dataset="slow", model_id=model.id))).data
    finally:
        control.config.provisioning_seconds = 0.2
    assert endpoint.lifecycle_state == "CREATING"
    status, body, _ = _post(target, {"prompt": "q", "model": "slow"})
    assert (status, body["error"]["code"]) == (409, "endpoint_not_ready")
    status, body, _ = _post(target, {"prompt": "q", "endpoint_id": endpoint.id})
    assert (status, body["error"]["code"]) == (409, "endpoint_not_ready")


def test_cache_follows_new_model_version(target: LocalTarget, tmp_path: Path) -> None:
    question = _records("v2")[5]["instruction"]
    status, body, _ = _post(target, {"prompt": question, "model": DATASET})
    assert status == 200 and body["model"]["version"] == "1"
    raw = tmp_path / "fin.json"
    raw.write_text(json.dumps(_records("v2")), encoding="utf-8")
    target.upload(raw, f"raw/{DATASET}.json")
    _wait_state(target, DATASET, "ENDPOINT_ACTIVE", model_version="2")

    def answered_by_v2() -> dict[str, Any] | None:
        status, body, _ = _post(target, {"prompt": question, "model": DATASET})
        return body if status == 200 and body["model"]["version"] == "2" else None

    # The function's cache (TTL 0.5 s here) lets the new version in.
    body = wait_until(answered_by_v2, "an answer from model version 2", timeout=30,
                      interval=0.1)
    assert body["text"] == _records("v2")[5]["output"]
