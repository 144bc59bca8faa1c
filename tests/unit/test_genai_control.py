"""Control-plane and inference logic of the GenAI emulator, without HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from deploy.local.emulator.genai.config import FAIL_TRAINING_TAG, GenAiConfig
from deploy.local.emulator.genai.control import ControlPlane
from deploy.local.emulator.genai.errors import GenAiError
from deploy.local.emulator.genai.inference import NO_MATCH, Inference
from deploy.local.emulator.genai.samples import finance_pairs, to_jsonl
from tests.support.wait import wait_until

C = "ocid1.compartment.oc1..test"


class Objects(dict[tuple[str, str, str], bytes]):
    """A dict-backed stand-in for the emulated Object Storage."""

    def open(self, namespace: str, bucket: str, name: str) -> BinaryIO:
        return io.BytesIO(self[(namespace, bucket, name)])


@pytest.fixture
def objects() -> Objects:
    store = Objects()
    store[("ns", "b", "good.jsonl")] = to_jsonl(finance_pairs(40))
    store[("ns", "b", "short.jsonl")] = to_jsonl(finance_pairs(5))
    return store


def _plane(state: Path, objects: Objects, **knobs: Any) -> ControlPlane:
    config = GenAiConfig(provisioning_seconds=0, seconds_per_epoch=0, **knobs)
    plane = ControlPlane(state, objects.open, config)
    plane.start()
    return plane


@pytest.fixture
def plane(tmp_path: Path, objects: Objects) -> Iterator[ControlPlane]:
    plane = _plane(tmp_path, objects)
    yield plane
    plane.stop()


def _base(plane: ControlPlane, name: str) -> str:
    [model] = plane.list_models(C, display_name=name)
    return str(model["id"])


def _cluster(plane: ControlPlane, kind: str, shape: str, count: int) -> str:
    cluster, _ = plane.create_cluster(
        {"compartmentId": C, "type": kind, "unitShape": shape, "unitCount": count}, None)
    return str(cluster["id"])


def _model_body(plane: ControlPlane, obj: str = "good.jsonl", **extra: Any) -> dict[str, Any]:
    cluster = _cluster(plane, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    return {
        "compartmentId": C,
        "baseModelId": _base(plane, "cohere.command-r-08-2024"),
        "fineTuneDetails": {
            "trainingDataset": {"datasetType": "OBJECT_STORAGE", "namespaceName": "ns",
                                "bucketName": "b", "objectName": obj},
            "dedicatedAiClusterId": cluster,
            "trainingConfig": {"trainingConfigType": "TFEW_TRAINING_CONFIG",
                               "totalTrainingEpochs": 2},
        },
        **extra,
    }


def _trained(plane: ControlPlane, body: dict[str, Any]) -> dict[str, Any]:
    model, _ = plane.create_model(body, None)
    assert plane.wait_idle()
    return plane.get_model(model["id"])


def test_base_models_are_stable_per_state_dir_and_filterable(
        tmp_path: Path, objects: Objects) -> None:
    first = _plane(tmp_path, objects)
    ids = {m["displayName"]: m["id"] for m in first.list_models(C)}
    first.stop()
    again = _plane(tmp_path, objects)
    assert {m["displayName"]: m["id"] for m in again.list_models(C)} == ids
    fine_tunable = {m["displayName"] for m in again.list_models(C, capability=["FINE_TUNE"])}
    assert "cohere.embed-english-v3.0" not in fine_tunable
    assert {"cohere.command-r-08-2024", "meta.llama-3.3-70b-instruct"} <= fine_tunable
    assert {m["vendor"] for m in again.list_models(C, vendor="meta")} == {"meta"}
    other = _plane(tmp_path / "other", objects)
    assert other.base_model_id("cohere.command") != ids["cohere.command"]


def test_fine_tune_to_active_with_metrics_and_finished_work_request(
        plane: ControlPlane) -> None:
    model, wr_id = plane.create_model(_model_body(plane), None)
    assert model["lifecycleState"] == "CREATING" and model["type"] == "CUSTOM"
    assert plane.wait_idle()
    model = plane.get_model(model["id"])
    assert model["lifecycleState"] == "ACTIVE"
    assert model["capabilities"] == ["CHAT"]
    assert model["modelMetrics"]["modelMetricsType"] == "CHAT_MODEL_METRICS"
    assert 0 <= model["modelMetrics"]["finalLoss"] <= 1
    config = model["fineTuneDetails"]["trainingConfig"]
    assert config["totalTrainingEpochs"] == 2 and config["learningRate"] == 0.01
    wr = plane.get_work_request(wr_id)
    assert (wr["status"], wr["percentComplete"]) == ("SUCCEEDED", 100.0)
    assert wr["resources"][0]["identifier"] == model["id"]
    assert any("Epoch 2/2" in log["message"] for log in plane.work_request_logs(wr_id))


@pytest.mark.parametrize(
    ("obj", "needle"), [("short.jsonl", "at least 32"), ("missing.jsonl", "not found")])
def test_a_dataset_oci_would_reject_fails_the_model(plane: ControlPlane, obj: str,
                                                    needle: str) -> None:
    model, wr_id = plane.create_model(_model_body(plane, obj), None)
    assert plane.wait_idle()
    model = plane.get_model(model["id"])
    assert model["lifecycleState"] == "FAILED" and needle in model["lifecycleDetails"]
    assert plane.get_work_request(wr_id)["status"] == "FAILED"
    [error] = plane.work_request_errors(wr_id)
    assert needle in error["message"]


def test_fail_training_tag_fails_the_model(plane: ControlPlane) -> None:
    body = _model_body(plane, freeformTags={FAIL_TRAINING_TAG: "true"})
    model = _trained(plane, body)
    assert model["lifecycleState"] == "FAILED" and "fault injected" in model["lifecycleDetails"]


def test_retry_token_dedups_and_conflicts_on_another_body(plane: ControlPlane) -> None:
    body = _model_body(plane)
    first, wr1 = plane.create_model(body, "token-1")
    again, wr2 = plane.create_model(body, "token-1")
    assert (again["id"], wr2) == (first["id"], wr1)
    assert len(plane.list_models(C, id=first["id"])) == 1
    with pytest.raises(GenAiError) as info:
        plane.create_model({**body, "displayName": "other"}, "token-1")
    assert info.value.status == 409
    plane.wait_idle()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda b: b.update(baseModelId="ocid1.generativeaimodel.oc1..nope"), 404,
         "NotAuthorizedOrNotFound"),
        (lambda b: b["fineTuneDetails"]["trainingConfig"].update(
            trainingConfigType="LORA_TRAINING_CONFIG", loraR=0), 400, "InvalidParameter"),
        (lambda b: b.pop("fineTuneDetails"), 400, "InvalidParameter"),
    ],
)
def test_create_model_errors(plane: ControlPlane, change: Any, status: int, code: str) -> None:
    body = _model_body(plane)
    change(body)
    with pytest.raises(GenAiError) as info:
        plane.create_model(body, None)
    assert (info.value.status, info.value.code) == (status, code)


def test_cluster_must_fit_the_base_model(plane: ControlPlane) -> None:
    with pytest.raises(GenAiError, match="matches no"):
        _cluster(plane, "FINE_TUNING", "SMALL_COHERE_V2", 3)
    llama_cluster = _cluster(plane, "FINE_TUNING", "LARGE_GENERIC", 2)
    body = _model_body(plane)
    body["fineTuneDetails"]["dedicatedAiClusterId"] = llama_cluster
    with pytest.raises(GenAiError, match="needs a fine-tuning cluster of 8 SMALL_COHERE_V2"):
        plane.create_model(body, None)


def test_slow_provisioning_blocks_use_until_active(tmp_path: Path, objects: Objects) -> None:
    plane = _plane(tmp_path, objects)
    plane.config.provisioning_seconds = 3600
    cluster = _cluster(plane, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    assert plane.get_cluster(cluster)["lifecycleState"] == "CREATING"
    body = _model_body(plane)
    body["fineTuneDetails"]["dedicatedAiClusterId"] = cluster
    with pytest.raises(GenAiError) as info:
        plane.create_model(body, None)
    assert (info.value.status, info.value.code) == (409, "IncorrectState")
    plane.stop()


def test_endpoint_serves_answers_and_blocks_deletes(plane: ControlPlane) -> None:
    model = _trained(plane, _model_body(plane))
    hosting = _cluster(plane, "HOSTING", "SMALL_COHERE_V2", 1)
    with pytest.raises(GenAiError, match="LARGE_GENERIC"):
        plane.create_endpoint({"compartmentId": C, "modelId": model["id"],
                               "dedicatedAiClusterId": _cluster(plane, "HOSTING",
                                                                "LARGE_GENERIC", 1)}, None)
    endpoint, _ = plane.create_endpoint(
        {"compartmentId": C, "modelId": model["id"], "dedicatedAiClusterId": hosting,
         "contentModerationConfig": {"isEnabled": True}}, None)
    endpoint = plane.get_endpoint(endpoint["id"])
    assert endpoint["lifecycleState"] == "ACTIVE"
    assert endpoint["contentModerationConfig"]["isEnabled"] is True
    assert plane.get_cluster(hosting)["capacity"]["usedEndpointCapacity"] == 1
    assert [e["id"] for e in plane.list_endpoints(C, model_id=model["id"])] == [endpoint["id"]]

    inference = Inference(plane)
    pair = finance_pairs(40)[7]
    served = {"servingType": "DEDICATED", "endpointId": endpoint["id"]}
    result = inference.chat({"servingMode": served, "chatRequest": {
        "apiFormat": "COHERE", "message": pair.prompt}})
    assert result["chatResponse"]["text"] == pair.completion
    assert result["chatResponse"]["finishReason"] == "COMPLETE"
    stopped = inference.chat({"servingMode": served, "chatRequest": {
        "apiFormat": "COHERE", "message": pair.prompt, "stopSequences": [";"]}})
    assert stopped["chatResponse"]["text"] == pair.completion.split(";")[0]
    nothing = inference.chat({"servingMode": served, "chatRequest": {
        "apiFormat": "COHERE", "message": "qqqq zzzz"}})
    assert nothing["chatResponse"]["text"] == NO_MATCH
    with pytest.raises(GenAiError, match="apiFormat COHERE"):
        inference.chat({"servingMode": served, "chatRequest": {
            "apiFormat": "GENERIC", "messages": [{"role": "USER", "content": "hi"}]}})
    with pytest.raises(GenAiError, match="at most 16000"):
        inference.chat({"servingMode": served, "chatRequest": {
            "apiFormat": "COHERE", "message": "word " * 16_001}})

    with pytest.raises(GenAiError) as busy_cluster:
        plane.delete_cluster(hosting)
    with pytest.raises(GenAiError) as busy_model:
        plane.delete_model(model["id"])
    assert busy_cluster.value.status == busy_model.value.status == 409
    plane.delete_endpoint(endpoint["id"])
    assert plane.get_endpoint(endpoint["id"])["lifecycleState"] == "DELETED"
    plane.delete_cluster(hosting)
    assert plane.get_cluster(hosting)["lifecycleState"] == "DELETED"
    with pytest.raises(GenAiError) as gone:
        inference.chat({"servingMode": served, "chatRequest": {
            "apiFormat": "COHERE", "message": pair.prompt}})
    assert gone.value.status == 404


def test_sampling_is_seeded_and_truncation_counts_tokens(plane: ControlPlane) -> None:
    model = _trained(plane, _model_body(plane))
    hosting = _cluster(plane, "HOSTING", "SMALL_COHERE_V2", 1)
    endpoint, _ = plane.create_endpoint(
        {"compartmentId": C, "modelId": model["id"], "dedicatedAiClusterId": hosting}, None)
    inference = Inference(plane)
    served = {"servingType": "DEDICATED", "endpointId": endpoint["id"]}

    def ask(**knobs: Any) -> str:
        request = {"apiFormat": "COHERE", "message": "Explain a bond to an investor", **knobs}
        return str(inference.chat({"servingMode": served, "chatRequest": request})
                   ["chatResponse"]["text"])

    assert ask(temperature=2.0, seed=7) == ask(temperature=2.0, seed=7)
    assert len({ask(temperature=5.0, seed=s) for s in range(30)}) > 1
    assert len({ask() for _ in range(5)}) == 1
    short = inference.chat({"servingMode": served, "chatRequest": {
        "apiFormat": "COHERE", "message": "Explain inflation to a new investor.",
        "maxTokens": 4}})["chatResponse"]
    assert short["finishReason"] == "MAX_TOKENS" and short["usage"]["completionTokens"] == 4
    assert short["text"] == "Answer 4: inflation"


def test_restart_resumes_training_and_keeps_state(tmp_path: Path, objects: Objects) -> None:
    first = _plane(tmp_path, objects)
    first.config.seconds_per_epoch = 3600  # stuck in epoch 1 until stopped
    model, wr_id = first.create_model(_model_body(first), None)
    # Mid-training: the dataset is validated and vectorised, the epochs have begun.
    wait_until(lambda: first.get_work_request(wr_id)["percentComplete"] >= 10.0,
               "training to get past dataset validation", timeout=30, interval=0.01)
    assert first.get_model(model["id"])["lifecycleDetails"] == "Fine-tuning in progress."
    artifact = first.store.artifact_path(model["id"])
    first.stop()
    assert first.get_model(model["id"])["lifecycleState"] == "CREATING"
    assert not artifact.exists()  # no half-trained model is ever visible
    # A killed emulator leaves its half-written work folder behind.
    torn = artifact.with_name(f".{model['id'][-12:]}.partial")
    torn.mkdir(parents=True, exist_ok=True)
    (torn / "pairs.jsonl").write_bytes(b'{"prompt": "torn')
    second = _plane(tmp_path, objects)  # pace 0: resumes from the first epoch and finishes
    assert second.wait_idle()
    done = second.get_model(model["id"])
    assert done["lifecycleState"] == "ACTIVE" and done["modelMetrics"]["finalAccuracy"] >= 0
    wr = second.get_work_request(wr_id)  # the original work request finishes
    assert (wr["status"], wr["percentComplete"]) == ("SUCCEEDED", 100.0)
    assert artifact.is_dir() and not torn.exists()
    index = second.index_for(model["id"])
    assert index is not None and len(index.pairs) == 40
    second.stop()


def test_deleting_a_training_model_cancels_its_work_request(
        tmp_path: Path, objects: Objects) -> None:
    plane = _plane(tmp_path, objects)
    plane.config.seconds_per_epoch = 3600
    model, wr_id = plane.create_model(_model_body(plane), None)
    delete_wr = plane.delete_model(model["id"])
    assert plane.get_model(model["id"])["lifecycleState"] == "DELETED"
    assert plane.get_work_request(wr_id)["status"] == "CANCELED"
    assert plane.get_work_request(delete_wr)["status"] == "SUCCEEDED"
    plane.stop()


def test_a_hosting_cluster_serves_one_custom_model(plane: ControlPlane) -> None:
    first = _trained(plane, _model_body(plane))
    second = _trained(plane, _model_body(plane))
    hosting = _cluster(plane, "HOSTING", "SMALL_COHERE_V2", 1)

    def endpoint(model_id: str) -> None:
        plane.create_endpoint({"compartmentId": C, "modelId": model_id,
                               "dedicatedAiClusterId": hosting}, None)

    endpoint(first["id"])
    endpoint(first["id"])  # an alias of the same model is fine
    with pytest.raises(GenAiError, match="same base model or the same custom model"):
        endpoint(second["id"])
    assert plane.get_cluster(hosting)["capacity"]["usedEndpointCapacity"] == 2
