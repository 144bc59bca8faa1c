"""The unmodified oci SDK drives the Generative AI emulation end to end.

Flow: find a base model by name and capability -> FINE_TUNING cluster ->
custom model from a JSONL in the emulated bucket -> work request to 100% ->
HOSTING cluster -> endpoint -> inference answers drawn from the dataset.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import oci
import pytest
from oci.generative_ai import GenerativeAiClient
from oci.generative_ai import models as gm
from oci.generative_ai_inference import GenerativeAiInferenceClient
from oci.generative_ai_inference import models as im

from deploy.local.emulator import Emulator
from deploy.local.emulator.genai.config import FAIL_TRAINING_TAG
from deploy.local.emulator.genai.samples import finance_pairs, to_jsonl
from tests.support.wait import wait_until

pytestmark = pytest.mark.contract

BUCKET = "genai-training"
PAIRS = finance_pairs(40)


@pytest.fixture(autouse=True)
def _fast_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny provisioning and epoch times (read when the emulator is built)."""
    monkeypatch.setenv("OCIFT_EMULATOR_GENAI_PROVISIONING_SECONDS", "0.05")
    monkeypatch.setenv("OCIFT_EMULATOR_GENAI_SECONDS_PER_EPOCH", "0.02")


def fast_retries() -> oci.retry.RetryStrategy:
    """The SDK's retry machinery (429, 5xx, retry tokens) with short sleeps."""
    return oci.retry.RetryStrategyBuilder(
        max_attempts_check=True, max_attempts=12,
        total_elapsed_time_check=True, total_elapsed_time_seconds=60,
        retry_max_wait_between_calls_seconds=0.1, retry_base_sleep_time_seconds=0.01,
        service_error_check=True, service_error_retry_on_any_5xx=True,
        service_error_retry_config={429: []},
        backoff_type=oci.retry.BACKOFF_FULL_JITTER_VALUE,
    ).get_retry_strategy()


@dataclass
class Clients:
    """SDK clients bound to one running emulator."""

    emulator: Emulator
    config: dict[str, Any]
    genai: GenerativeAiClient
    inference: GenerativeAiInferenceClient
    storage: oci.object_storage.ObjectStorageClient

    @property
    def compartment(self) -> str:
        return str(self.emulator.compartment_id)


def make_clients(emulator: Emulator) -> Clients:
    config = oci.config.from_file(str(emulator.config_file), "DEFAULT")
    kwargs = {"service_endpoint": emulator.endpoint, "retry_strategy": fast_retries()}
    return Clients(
        emulator, config, GenerativeAiClient(config, **kwargs),
        GenerativeAiInferenceClient(config, **kwargs),
        oci.object_storage.ObjectStorageClient(config, **kwargs))


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[Clients]:
    clients = make_clients(emulator)
    clients.storage.create_bucket(emulator.namespace, oci.object_storage.models.CreateBucketDetails(
        name=BUCKET, compartment_id=emulator.compartment_id))
    yield clients


def put_jsonl(sdk: Clients, name: str, data: bytes) -> None:
    sdk.storage.put_object(sdk.emulator.namespace, BUCKET, name, data)


def base_model(sdk: Clients, name: str, capability: str = "FINE_TUNE") -> gm.ModelSummary:
    """Find a base model the way clients must: by name and capability."""
    items = oci.pagination.list_call_get_all_results(
        sdk.genai.list_models, sdk.compartment, capability=[capability]).data
    [model] = [m for m in items if m.display_name == name and m.type == "BASE"]
    return model


def wait_state(get: Any, resource_id: str, state: str) -> Any:
    return oci.wait_until(get.__self__, get(resource_id), "lifecycle_state", state,
                          max_wait_seconds=60, max_interval_seconds=0.05,
                          succeed_on_not_found=False).data


def make_cluster(sdk: Clients, kind: str, shape: str, units: int) -> gm.DedicatedAiCluster:
    created = sdk.genai.create_dedicated_ai_cluster(gm.CreateDedicatedAiClusterDetails(
        compartment_id=sdk.compartment, type=kind, unit_shape=shape, unit_count=units))
    assert created.data.lifecycle_state == "CREATING"  # as OCI answers a create
    assert created.headers["opc-work-request-id"]
    return wait_state(sdk.genai.get_dedicated_ai_cluster, created.data.id, "ACTIVE")


def fine_tune(sdk: Clients, base: str, ft_cluster: str, obj: str, config: gm.TrainingConfig,
              retry_token: str | None = None, tags: dict[str, str] | None = None,
              ) -> tuple[gm.Model, str]:
    details = gm.CreateModelDetails(
        compartment_id=sdk.compartment, base_model_id=base, display_name=f"custom-{obj}",
        freeform_tags=tags or {"pipeline": "ocift"},
        fine_tune_details=gm.FineTuneDetails(
            dedicated_ai_cluster_id=ft_cluster, training_config=config,
            training_dataset=gm.ObjectStorageDataset(
                namespace_name=sdk.emulator.namespace, bucket_name=BUCKET, object_name=obj)))
    kwargs = {"opc_retry_token": retry_token} if retry_token else {}
    response = sdk.genai.create_model(details, **kwargs)
    return response.data, response.headers["opc-work-request-id"]


def finish(sdk: Clients, model_id: str, wr_id: str) -> tuple[gm.Model, gm.WorkRequest]:
    wr = oci.wait_until(sdk.genai, sdk.genai.get_work_request(wr_id), evaluate_response=lambda r:
                        r.data.status in ("SUCCEEDED", "FAILED"),
                        max_wait_seconds=60, max_interval_seconds=0.05).data
    return sdk.genai.get_model(model_id).data, wr


def serve(sdk: Clients, model_id: str, shape: str) -> str:
    hosting = make_cluster(sdk, "HOSTING", shape, 1)
    endpoint = sdk.genai.create_endpoint(gm.CreateEndpointDetails(
        compartment_id=sdk.compartment, model_id=model_id, dedicated_ai_cluster_id=hosting.id,
        content_moderation_config=gm.ContentModerationConfig(is_enabled=False))).data
    return str(wait_state(sdk.genai.get_endpoint, endpoint.id, "ACTIVE").id)


def test_cohere_tfew_fine_tune_serve_and_chat(sdk: Clients) -> None:
    put_jsonl(sdk, "finance.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, "cohere.command-r-08-2024")
    assert {"CHAT", "FINE_TUNE"} <= set(base.capabilities) and base.vendor == "cohere"
    cluster = make_cluster(sdk, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    model, wr_id = fine_tune(sdk, base.id, cluster.id, "finance.jsonl",
                             gm.TFewTrainingConfig(total_training_epochs=3))
    assert model.type == "CUSTOM" and model.lifecycle_state == "CREATING"
    model, wr = finish(sdk, model.id, wr_id)
    assert (wr.status, wr.percent_complete, wr.operation_type) == (
        "SUCCEEDED", 100.0, "CREATE_MODEL")
    assert wr.resources[0].identifier == model.id
    assert model.lifecycle_state == "ACTIVE"
    assert isinstance(model.model_metrics, gm.ChatModelMetrics)
    assert 0.0 <= model.model_metrics.final_accuracy <= 1.0
    assert isinstance(model.fine_tune_details.training_config, gm.TFewTrainingConfig)
    assert model.fine_tune_details.training_config.total_training_epochs == 3
    logs = sdk.genai.list_work_request_logs(wr_id).data.items
    assert any("Epoch 3/3" in entry.message for entry in logs)
    got = sdk.genai.get_model(model.id)
    assert got.headers["etag"] and got.data.freeform_tags == {"pipeline": "ocift"}

    endpoint_id = serve(sdk, model.id, "SMALL_COHERE_V2")
    pair = PAIRS[11]
    chat = sdk.inference.chat(im.ChatDetails(
        compartment_id=sdk.compartment,
        serving_mode=im.DedicatedServingMode(endpoint_id=endpoint_id),
        chat_request=im.CohereChatRequest(message=pair.prompt, max_tokens=600,
                                          temperature=0))).data
    assert chat.model_id == model.id
    response = chat.chat_response
    assert isinstance(response, im.CohereChatResponse)
    assert response.text == pair.completion and response.finish_reason == "COMPLETE"
    assert response.usage.completion_tokens > 0
    listed = sdk.genai.list_endpoints(sdk.compartment, lifecycle_state="ACTIVE").data.items
    assert [e.id for e in listed] == [endpoint_id]


def test_llama_lora_and_generic_chat_with_logprobs(sdk: Clients) -> None:
    put_jsonl(sdk, "llama.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, "meta.llama-3.3-70b-instruct")
    cluster = make_cluster(sdk, "FINE_TUNING", "LARGE_GENERIC", 2)
    model, wr_id = fine_tune(sdk, base.id, cluster.id, "llama.jsonl",
                             gm.LoraTrainingConfig(total_training_epochs=2, lora_r=16))
    model, _ = finish(sdk, model.id, wr_id)
    assert model.lifecycle_state == "ACTIVE"
    assert model.fine_tune_details.training_config.lora_r == 16
    assert model.fine_tune_details.training_config.lora_alpha == 8  # OCI default filled in
    endpoint_id = serve(sdk, model.id, "LARGE_GENERIC")
    pair = PAIRS[3]
    result = sdk.inference.chat(im.ChatDetails(
        compartment_id=sdk.compartment,
        serving_mode=im.DedicatedServingMode(endpoint_id=endpoint_id),
        chat_request=im.GenericChatRequest(
            messages=[im.UserMessage(content=[im.TextContent(text=pair.prompt)])],
            max_tokens=5, log_probs=1))).data.chat_response
    assert isinstance(result, im.GenericChatResponse)
    [choice] = result.choices
    assert choice.finish_reason == "length"
    text = choice.message.content[0].text
    assert pair.completion.startswith(text) and len(choice.logprobs.tokens) == 5
    assert all(lp <= 0 for lp in choice.logprobs.token_logprobs)
    with pytest.raises(oci.exceptions.ServiceError) as wrong_format:
        sdk.inference.chat(im.ChatDetails(
            compartment_id=sdk.compartment,
            serving_mode=im.DedicatedServingMode(endpoint_id=endpoint_id),
            chat_request=im.CohereChatRequest(message=pair.prompt)))
    assert (wrong_format.value.status, wrong_format.value.code) == (400, "InvalidParameter")


@pytest.mark.parametrize(("name", "capability"), [
    ("cohere.command", "TEXT_GENERATION"), ("cohere.command-light", "TEXT_GENERATION"),
    ("cohere.command-r-16k", "CHAT"),
])
def test_base_models_retired_for_dedicated_mode_are_refused(sdk: Clients, name: str,
                                                            capability: str) -> None:
    """OCI: "you can no longer create a dedicated AI cluster for the retired model"
    (about-retirement.htm); ListModels still reports the model with its dates."""
    put_jsonl(sdk, "retired.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, name, capability=capability)
    assert base.time_dedicated_retired is not None
    assert base.time_dedicated_retired <= datetime.now(UTC)
    assert base.time_deprecated is not None and base.time_deprecated <= base.time_dedicated_retired
    fine = sdk.genai.list_models(sdk.compartment, capability=["FINE_TUNE"]).data.items
    assert base.id in {m.id for m in fine}  # still listed: the dates say it is retired
    cluster = make_cluster(sdk, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        fine_tune(sdk, base.id, cluster.id, "retired.jsonl", gm.TFewTrainingConfig())
    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert "retired for dedicated mode on 2025-08-07" in refused.value.message
    customs = [m for m in sdk.genai.list_models(sdk.compartment).data.items
               if m.type == "CUSTOM"]
    assert customs == []  # nothing was created
    if capability == "CHAT":  # hosting the retired base model itself is refused too
        with pytest.raises(oci.exceptions.ServiceError) as hosted:
            sdk.genai.create_endpoint(gm.CreateEndpointDetails(
                compartment_id=sdk.compartment, model_id=base.id,
                dedicated_ai_cluster_id=cluster.id))
        assert (hosted.value.status, hosted.value.code) == (400, "InvalidParameter")
        assert "retired for dedicated mode" in hosted.value.message


def test_generate_text_is_answered_as_a_removed_operation(sdk: Clients) -> None:
    """GenerateText is unavailable from 2026-06-26 (release note "Deprecated APIs"); the
    emulator answers it 404 NotFound, as OCI answers a path with no operation."""
    with pytest.raises(oci.exceptions.ServiceError) as gone:
        sdk.inference.generate_text(im.GenerateTextDetails(
            compartment_id=sdk.compartment,
            serving_mode=im.DedicatedServingMode(
                endpoint_id="ocid1.generativeaiendpoint.oc1.us-chicago-1.any"),
            inference_request=im.CohereLlmInferenceRequest(prompt="hello")))
    assert (gone.value.status, gone.value.code) == (404, "NotFound")
    assert "use Chat" in gone.value.message


def test_rejected_dataset_fails_with_reason(sdk: Clients) -> None:
    put_jsonl(sdk, "tiny.jsonl", to_jsonl(PAIRS[:10]))
    base = base_model(sdk, "cohere.command-r-08-2024")
    cluster = make_cluster(sdk, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    model, wr_id = fine_tune(sdk, base.id, cluster.id, "tiny.jsonl", gm.TFewTrainingConfig())
    model, wr = finish(sdk, model.id, wr_id)
    assert model.lifecycle_state == "FAILED" and "at least 32" in model.lifecycle_details
    assert wr.status == "FAILED"
    [error] = sdk.genai.list_work_request_errors(wr_id).data.items
    assert "at least 32" in error.message


def test_retry_token_and_fail_training_switch(sdk: Clients) -> None:
    put_jsonl(sdk, "again.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, "cohere.command-r-08-2024")
    cluster = make_cluster(sdk, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    config = gm.TFewTrainingConfig(total_training_epochs=1)
    first, wr1 = fine_tune(sdk, base.id, cluster.id, "again.jsonl", config, "token-42")
    second, wr2 = fine_tune(sdk, base.id, cluster.id, "again.jsonl", config, "token-42")
    assert (second.id, wr2) == (first.id, wr1)
    customs = [m for m in sdk.genai.list_models(sdk.compartment).data.items
               if m.type == "CUSTOM"]
    assert [m.id for m in customs] == [first.id]
    with pytest.raises(oci.exceptions.ServiceError) as reused:
        fine_tune(sdk, base.id, cluster.id, "again.jsonl",
                  gm.TFewTrainingConfig(total_training_epochs=2), "token-42")
    assert reused.value.status == 409
    doomed, wr_id = fine_tune(sdk, base.id, cluster.id, "again.jsonl", config,
                              tags={FAIL_TRAINING_TAG: "true"})
    doomed, wr = finish(sdk, doomed.id, wr_id)
    assert doomed.lifecycle_state == "FAILED" and wr.status == "FAILED"
    knobs = sdk.emulator.genai.control.config
    knobs.fail_training = True  # the emulator-wide switch, at run time
    try:
        also, wr_id = fine_tune(sdk, base.id, cluster.id, "again.jsonl", config)
        assert finish(sdk, also.id, wr_id)[0].lifecycle_state == "FAILED"
    finally:
        knobs.fail_training = False
    finish(sdk, first.id, wr1)


def test_errors_paging_and_conflicts(sdk: Clients) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        sdk.genai.get_model("ocid1.generativeaimodel.oc1.us-chicago-1.nothere")
    assert (missing.value.status, missing.value.code) == (404, "NotAuthorizedOrNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as bad:
        sdk.genai.create_dedicated_ai_cluster(gm.CreateDedicatedAiClusterDetails(
            compartment_id=sdk.compartment, type="FINE_TUNING", unit_shape="SMALL_COHERE_V2",
            unit_count=3))
    assert (bad.value.status, bad.value.code) == (400, "InvalidParameter")
    first = sdk.genai.list_models(sdk.compartment, limit=2, sort_by="displayName")
    assert len(first.data.items) == 2 and first.headers["opc-next-page"]
    everything = oci.pagination.list_call_get_all_results(
        sdk.genai.list_models, sdk.compartment, limit=2, sort_by="displayName").data
    names = [m.display_name for m in everything]
    assert names == sorted(names) and len(names) >= 6
    assert [m.display_name for m in first.data.items] == names[:2]

    put_jsonl(sdk, "busy.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, "meta.llama-3.3-70b-instruct")
    ft = make_cluster(sdk, "FINE_TUNING", "LARGE_GENERIC", 2)
    model, wr_id = fine_tune(sdk, base.id, ft.id, "busy.jsonl",
                             gm.LoraTrainingConfig(total_training_epochs=1))
    finish(sdk, model.id, wr_id)
    endpoint_id = serve(sdk, model.id, "LARGE_GENERIC")
    hosting_id = sdk.genai.get_endpoint(endpoint_id).data.dedicated_ai_cluster_id
    with pytest.raises(oci.exceptions.ServiceError) as busy:
        sdk.genai.delete_dedicated_ai_cluster(hosting_id)
    assert busy.value.status == 409
    wr = sdk.genai.delete_endpoint(endpoint_id).headers["opc-work-request-id"]
    wait_state(sdk.genai.get_endpoint, endpoint_id, "DELETED")
    assert sdk.genai.get_work_request(wr).data.operation_type == "DELETE_ENDPOINT"
    sdk.genai.delete_dedicated_ai_cluster(hosting_id)
    wait_state(sdk.genai.get_dedicated_ai_cluster, hosting_id, "DELETED")


def test_oci_cli_lists_models_and_reads_a_cluster(sdk: Clients, tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    cluster = make_cluster(sdk, "HOSTING", "LARGE_GENERIC", 1)
    cli = str(Path(sys.executable).with_name("oci"))
    common = ["--config-file", str(sdk.emulator.config_file), "--endpoint",
              sdk.emulator.endpoint, "--output", "json"]
    env = {"OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    listed = subprocess.run(
        [cli, "generative-ai", "model-collection", "list-models", "--compartment-id",
         sdk.compartment, "--capability", "FINE_TUNE", "--all", *common],
        capture_output=True, text=True, env=env, timeout=120, check=True)
    names = {m["display-name"] for m in json.loads(listed.stdout)["data"]["items"]}
    assert "cohere.command-r-08-2024" in names and "cohere.embed-english-v3.0" not in names
    got = subprocess.run(
        [cli, "generative-ai", "dedicated-ai-cluster", "get", "--dedicated-ai-cluster-id",
         cluster.id, *common], capture_output=True, text=True, env=env, timeout=120, check=True)
    data = json.loads(got.stdout)["data"]
    assert data["lifecycle-state"] == "ACTIVE" and data["capacity"]["total-endpoint-capacity"] == 50


def _trained_endpoint(sdk: Clients, obj: str) -> tuple[str, str]:
    """(model id, endpoint id) of a cohere.command-r-08-2024 model trained on PAIRS."""
    put_jsonl(sdk, obj, to_jsonl(PAIRS))
    base = base_model(sdk, "cohere.command-r-08-2024")
    cluster = make_cluster(sdk, "FINE_TUNING", "SMALL_COHERE_V2", 8)
    model, wr_id = fine_tune(sdk, base.id, cluster.id, obj,
                             gm.TFewTrainingConfig(total_training_epochs=1))
    model, _ = finish(sdk, model.id, wr_id)
    assert model.lifecycle_state == "ACTIVE"
    return model.id, serve(sdk, model.id, "SMALL_COHERE_V2")


def _ask(sdk: Clients, endpoint_id: str, prompt: str) -> str:
    return str(sdk.inference.chat(im.ChatDetails(
        compartment_id=sdk.compartment,
        serving_mode=im.DedicatedServingMode(endpoint_id=endpoint_id),
        chat_request=im.CohereChatRequest(message=prompt))).data.chat_response.text)


def test_restart_keeps_models_endpoints_and_answers(tmp_path: Any) -> None:
    from deploy.local.emulator import build_emulator

    state = tmp_path / "state"
    first = build_emulator(state)
    first.start()
    try:
        sdk = make_clients(first)
        sdk.storage.create_bucket(first.namespace, oci.object_storage.models.CreateBucketDetails(
            name=BUCKET, compartment_id=first.compartment_id))
        model_id, endpoint_id = _trained_endpoint(sdk, "restart.jsonl")
        base_id = base_model(sdk, "cohere.command-r-08-2024").id
    finally:
        first.stop()
    second = build_emulator(state)
    second.start()
    try:
        sdk = make_clients(second)
        assert sdk.genai.get_model(model_id).data.lifecycle_state == "ACTIVE"
        assert sdk.genai.get_endpoint(endpoint_id).data.lifecycle_state == "ACTIVE"
        assert base_model(sdk, "cohere.command-r-08-2024").id == base_id
        assert _ask(sdk, endpoint_id, PAIRS[5].prompt) == PAIRS[5].completion
    finally:
        second.stop()


def test_generative_ai_emits_no_events(tmp_path: Any) -> None:
    from deploy.local.emulator import build_emulator

    events: list[dict[str, Any]] = []
    emulator = build_emulator(tmp_path / "state", on_event=events.append)
    emulator.start()
    try:
        sdk = make_clients(emulator)
        sdk.storage.create_bucket(emulator.namespace, oci.object_storage.models.CreateBucketDetails(
            name=BUCKET, compartment_id=emulator.compartment_id, object_events_enabled=True))
        model_id, endpoint_id = _trained_endpoint(sdk, "quiet.jsonl")
        sdk.genai.delete_endpoint(endpoint_id)
        wait_state(sdk.genai.get_endpoint, endpoint_id, "DELETED")
    finally:
        emulator.stop()
    types = {event["eventType"] for event in events}
    # The JSONL upload is an Object Storage event; nothing else happened that OCI would emit.
    assert types == {"com.oraclecloud.objectstorage.createobject"}
    assert all("generativeai" not in json.dumps(event).lower() for event in events)
    assert model_id


def _poll(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Poll with the client's own (fault-tolerant) retry strategy until ``done``; 60 s at most."""

    def finished() -> Any:
        data = fetch().data
        return data if done(data) else None

    return wait_until(finished, what, interval=0.02)


def test_injected_429_and_500_are_retried_without_duplicates(sdk: Clients) -> None:
    put_jsonl(sdk, "faulty.jsonl", to_jsonl(PAIRS))
    base = base_model(sdk, "cohere.command-r-08-2024")
    faults = sdk.emulator.faults
    faults.update(rate_429=0.25, rate_500=0.15, retry_after_s=0, seed=11)
    try:
        cluster = sdk.genai.create_dedicated_ai_cluster(gm.CreateDedicatedAiClusterDetails(
            compartment_id=sdk.compartment, type="FINE_TUNING", unit_shape="SMALL_COHERE_V2",
            unit_count=8)).data
        _poll(lambda: sdk.genai.get_dedicated_ai_cluster(cluster.id),
              lambda c: c.lifecycle_state == "ACTIVE", "the cluster ACTIVE")
        model, _ = fine_tune(sdk, base.id, cluster.id, "faulty.jsonl",
                             gm.TFewTrainingConfig(total_training_epochs=1))
        model = _poll(lambda: sdk.genai.get_model(model.id),
                      lambda m: m.lifecycle_state != "CREATING", "training to finish")
        assert model.lifecycle_state == "ACTIVE"
    finally:
        faults.update(rate_429=0.0, rate_500=0.0)
    clusters = sdk.genai.list_dedicated_ai_clusters(sdk.compartment).data.items
    assert [c.id for c in clusters] == [cluster.id]
    customs = [m.id for m in sdk.genai.list_models(sdk.compartment).data.items
               if m.type == "CUSTOM"]
    assert customs == [model.id]


def test_oci_cli_chats_with_a_fine_tuned_endpoint(sdk: Clients, tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    _, endpoint_id = _trained_endpoint(sdk, "cli.jsonl")
    pair = PAIRS[9]
    cli = str(Path(sys.executable).with_name("oci"))
    proc = subprocess.run(
        [cli, "generative-ai-inference", "chat-result", "chat-cohere-chat-request",
         "--compartment-id", sdk.compartment,
         "--serving-mode", json.dumps({"servingType": "DEDICATED", "endpointId": endpoint_id}),
         "--chat-request-message", pair.prompt,
         "--config-file", str(sdk.emulator.config_file), "--endpoint", sdk.emulator.endpoint],
        capture_output=True, text=True, timeout=120, check=True,
        env={"OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True", "PATH": "/usr/bin:/bin",
             "HOME": str(tmp_path)})
    assert json.loads(proc.stdout)["data"]["chat-response"]["text"] == pair.completion


def test_base_models_answer_on_demand_with_a_stand_in_that_knows_no_data(
        sdk: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    """OnDemandServingMode(model_id) on a pretrained chat model (issue 25's base)."""
    from deploy.local.emulator.genai.inference import ON_DEMAND_ANSWER

    cohere = base_model(sdk, "cohere.command-r-08-2024")
    chat = sdk.inference.chat(im.ChatDetails(
        compartment_id=sdk.compartment, serving_mode=im.OnDemandServingMode(model_id=cohere.id),
        chat_request=im.CohereChatRequest(message=PAIRS[0].prompt))).data
    assert chat.chat_response.text == ON_DEMAND_ANSWER  # none of PAIRS: it saw no data
    assert not chat.chat_response.documents
    llama = base_model(sdk, "meta.llama-3.3-70b-instruct")
    generic = sdk.inference.chat(im.ChatDetails(
        compartment_id=sdk.compartment, serving_mode=im.OnDemandServingMode(model_id=llama.id),
        chat_request=im.GenericChatRequest(messages=[im.UserMessage(
            content=[im.TextContent(text="hello")])]))).data
    assert generic.chat_response.choices[0].message.content[0].text == ON_DEMAND_ANSWER
    # a custom model is served by its endpoint only; a model retired on demand not at all
    model_id, _ = _trained_endpoint(sdk, "ondemand.jsonl")
    retired = base_model(sdk, "cohere.command-r-16k")
    for refused in (model_id, retired.id):
        with pytest.raises(oci.exceptions.ServiceError) as err:
            sdk.inference.chat(im.ChatDetails(
                compartment_id=sdk.compartment,
                serving_mode=im.OnDemandServingMode(model_id=refused),
                chat_request=im.CohereChatRequest(message="hi")))
        assert err.value.status == 400
    # a region that serves nothing on demand
    monkeypatch.setattr(sdk.emulator.genai.control.config, "on_demand", False)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        sdk.inference.chat(im.ChatDetails(
            compartment_id=sdk.compartment, serving_mode=im.OnDemandServingMode(model_id=cohere.id),
            chat_request=im.CohereChatRequest(message="hi")))
    assert err.value.status == 400 and "not available for on-demand" in err.value.message
