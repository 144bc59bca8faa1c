"""Train stage and the GenAI rules it uses, against the in-memory fakes of ``tests.support``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from oci.exceptions import ServiceError

from shared import genai, jobspec, naming, tags
from shared.settings import Settings, TrainingMethod
from shared.stages.context import read_status
from shared.stages.train import train_dataset
from shared.status import DatasetState, DatasetStatus
from tests.support.fakes import (
    FakeGenAi,
    drop_jsonl,
    make_ctx,
    make_settings,
    service_error,
    start_training,
)

# -- GenAI rules -----------------------------------------------------------------------------


def _job(settings: Settings) -> jobspec.EffectiveSpec:
    """The pipeline's configuration as the job of a dataset that sets no key."""
    return jobspec.effective(jobspec.JobSpec(), settings)


def test_family_table_follows_oci_cluster_rules() -> None:
    command_r = genai.family_of("cohere.command-r-08-2024")
    assert (command_r.finetuning_shape, command_r.finetuning_units) == ("SMALL_COHERE_V2", 8)
    assert genai.family_of("meta.llama-3.3-70b-instruct").methods == (TrainingMethod.LORA,)
    for retired_or_not_tunable in ("cohere.command", "cohere.command-light",
                                   "cohere.command-r-16k", "cohere.embed-english-v3.0"):
        with pytest.raises(genai.PermanentError, match="offers for fine-tuning today"):
            genai.family_of(retired_or_not_tunable)


@pytest.mark.parametrize(("base", "examples", "expected"), [
    ("cohere.command-r-08-2024", 99_999, TrainingMethod.TFEW),
    ("cohere.command-r-08-2024", 100_000, TrainingMethod.TFEW),  # no Vanilla for command-r
    ("meta.llama-3.3-70b-instruct", 10, TrainingMethod.LORA),
])
def test_auto_method_by_dataset_size_and_family(base: str, examples: int,
                                                expected: TrainingMethod) -> None:
    settings = make_settings()
    assert genai.choose_method(_job(settings), genai.family_of(base), examples,
                               settings.vanilla_threshold) is expected


def test_explicit_method_must_be_supported_by_the_family() -> None:
    settings = make_settings(training_method=TrainingMethod.VANILLA)
    with pytest.raises(genai.PermanentError, match="VANILLA"):
        genai.choose_method(_job(settings), genai.family_of("cohere.command-r-08-2024"), 10,
                            settings.vanilla_threshold)
    lora = make_settings(training_method=TrainingMethod.LORA)
    assert genai.choose_method(_job(lora), genai.family_of("cohere.command-r-08-2024"), 10,
                               lora.vanilla_threshold) is TrainingMethod.LORA


def test_training_config_uses_settings_then_method_defaults() -> None:
    family = genai.family_of("cohere.command-r-08-2024")
    tfew = genai.training_config(_job(make_settings()), family, TrainingMethod.TFEW)
    assert tfew.training_config_type == "TFEW_TRAINING_CONFIG"
    assert (tfew.total_training_epochs, tfew.learning_rate, tfew.training_batch_size) == \
        (5, 0.01, 16)
    lora = genai.training_config(_job(make_settings(epochs=2, learning_rate=0.001)), family,
                                 TrainingMethod.LORA)
    assert lora.training_config_type == "LORA_TRAINING_CONFIG"
    assert (lora.total_training_epochs, lora.learning_rate, lora.training_batch_size) == \
        (2, 0.001, 8)


def test_base_model_resolved_by_name_capability_and_state() -> None:
    ai = FakeGenAi()
    ref = genai.resolve_base_model(ai, make_settings())
    assert ref.id == "ocid1.generativeaimodel.base.cohere.command-r-08-2024"
    ai.models[ref.id].lifecycle_state = "DELETED"
    with pytest.raises(genai.PermanentError, match="not found"):
        genai.resolve_base_model(ai, make_settings())
    with pytest.raises(genai.PermanentError):
        genai.resolve_base_model(FakeGenAi(), make_settings(base_model="no.such-model"))


def test_create_model_token_is_the_train_idempotency_key_of_the_jsonl_version() -> None:
    ctx, _, ai = make_ctx()
    etag = drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", etag)
    ai.activate_clusters()
    assert train_dataset(ctx, "fin", etag).status.value == "done"
    key = naming.idempotency_key(ctx.settings.pipeline_name, "train", "training/fin.jsonl", etag)
    assert f"model:{key}" in ai.tokens


@pytest.mark.parametrize(("status", "code", "rejected"), [
    (400, "InvalidParameter", True), (409, "Conflict", True),
    (409, "InvalidatedRetryToken", True),
    # A 404 may be a missing grant (shared/errors.py): kept for redelivery, never recorded.
    (404, "NotAuthorizedOrNotFound", False), (409, "IncorrectState", False),
    (429, "TooManyRequests", False), (500, "InternalServerError", False),
])
def test_a_refused_create_model_is_recorded_only_when_permanent(status: int, code: str,
                                                                rejected: bool) -> None:
    ctx, store, ai = make_ctx()
    etag = drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", etag)
    ai.activate_clusters()

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise service_error(status, code)

    ai.create_model = refused  # type: ignore[method-assign]
    if rejected:
        assert train_dataset(ctx, "fin", etag).status.value == "rejected"
        assert store.status("fin")["state"] == "REJECTED"
        assert f"{status} {code}" in store.status("fin")["reason"]
    else:
        with pytest.raises(ServiceError):
            train_dataset(ctx, "fin", etag)
        assert store.status("fin")["state"] != "REJECTED"


# -- train stage -----------------------------------------------------------------------------


def test_train_waits_for_a_new_cluster_then_creates_one_tagged_model() -> None:
    ctx, store, ai = make_ctx()
    etag = drop_jsonl(ctx, "fin")
    first = train_dataset(ctx, "fin", etag)
    assert first.status.value == "pending"
    status = store.status("fin")
    assert status["state"] == "PENDING_CLUSTER" and status["source_etag"] == etag
    [cluster] = ai.clusters.values()
    assert (cluster.type, cluster.unit_shape, cluster.unit_count) == \
        ("FINE_TUNING", "SMALL_COHERE_V2", 8)
    assert cluster.freeform_tags[tags.ROLE] == tags.ROLE_FINETUNING_CLUSTER

    ai.activate_clusters()
    done = train_dataset(ctx, "fin", None)  # the watcher's resume call
    assert done.status.value == "done"
    [model_id] = [m for m in ai.models if "custom" in m]
    model = ai.models[model_id]
    assert model.version == "1" and model.display_name == "fin"
    assert tags.matches(model.freeform_tags, pipeline="ocift", role="model", dataset="fin",
                        source_etag=etag, source_object="training/fin.jsonl")
    assert model.details.fine_tune_details.dedicated_ai_cluster_id == cluster.id
    assert model.details.fine_tune_details.training_dataset.object_name == "training/fin.jsonl"
    status = store.status("fin")
    assert status["state"] == "TRAINING" and status["model_id"] == model_id
    assert status["work_request_id"] == model.wr and status["training_method"] == "TFEW"


def test_same_version_redelivered_never_creates_a_second_model() -> None:
    ctx, store, ai = make_ctx()
    ai.activate_clusters()
    etag = drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", etag)
    ai.activate_clusters()
    assert train_dataset(ctx, "fin", etag).status.value == "done"
    assert train_dataset(ctx, "fin", etag).status.value == "duplicate"
    # Even with the status object gone, the model is found by its tags.
    del store.objects["status/fin.json"]
    again = train_dataset(ctx, "fin", etag)
    assert again.status.value == "duplicate"
    assert ai.creates.count("model") == 1
    assert store.status("fin")["state"] == "TRAINING"


def test_a_changed_jsonl_trains_a_new_version() -> None:
    ctx, store, ai = make_ctx()
    first = start_training(ctx, ai, "fin")
    new_etag = drop_jsonl(ctx, "fin", records=50)
    assert train_dataset(ctx, "fin", new_etag).status.value == "done"
    status = store.status("fin")
    assert status["model_id"] != first and status["model_version"] == "2"
    assert ai.models[status["model_id"]].version == "2"
    assert ai.creates.count("cluster") == 1


def test_stale_and_foreign_events_are_skipped() -> None:
    ctx, _store, ai = make_ctx()
    drop_jsonl(ctx, "fin")
    assert train_dataset(ctx, "fin", "an-old-etag").status.value == "skipped"
    assert train_dataset(ctx, "missing", None).status.value == "skipped"
    assert not ai.creates


def test_invalid_report_is_rejected_once_with_its_reason() -> None:
    ctx, store, ai = make_ctx()
    etag = drop_jsonl(ctx, "bad", valid=False)
    outcome = train_dataset(ctx, "bad", etag)
    assert outcome.status.value == "rejected" and "too few examples" in outcome.reason
    status = store.status("bad")
    assert status["state"] == "REJECTED" and "too few examples" in status["reason"]
    assert train_dataset(ctx, "bad", etag).status.value == "duplicate"
    assert not ai.creates


def test_directly_dropped_jsonl_is_validated_by_streaming_and_reported() -> None:
    ctx, store, ai = make_ctx()
    etag = ctx.store.put_bytes("training/direct.jsonl", b'{"prompt": "only one"}\nnot json\n')
    outcome = train_dataset(ctx, "direct", etag)
    assert outcome.status.value == "rejected"
    report = json.loads(store.objects["reports/direct.json"][0])
    assert report["valid"] is False and report["source_etag"] == etag
    assert report["validated_by"] == "train"
    assert not ai.creates


def _lines(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.mark.parametrize(("bad", "expected"), [
    ({"prompt": "q-extra", "completion": "a", "label": "x"}, "keys other than prompt/completion"),
    ({"prompt": "", "completion": "a"}, "empty field"),
    ({"prompt": "q-missing"}, "missing field"),
])
def test_dropped_jsonl_oci_would_refuse_as_is_is_rejected(bad: dict[str, Any],
                                                         expected: str) -> None:
    ctx, store, ai = make_ctx()
    good = [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(40)]
    etag = ctx.store.put_bytes("training/asis.jsonl", _lines(*good[:5], bad, *good[5:]))
    outcome = train_dataset(ctx, "asis", etag)
    assert outcome.status.value == "rejected"
    report = json.loads(store.objects["reports/asis.json"][0])
    assert report["valid"] is False
    assert report["fatal"]["code"] == "not_trainable_as_is"
    assert expected in report["fatal"]["message"]
    assert "raw/" in report["fatal"]["hint"]
    assert expected in store.status("asis")["reason"]
    assert not ai.creates


def test_dropped_jsonl_with_duplicates_still_trains() -> None:
    ctx, store, _ai = make_ctx()
    good = [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(40)]
    etag = ctx.store.put_bytes("training/dups.jsonl", _lines(*good, good[0]))
    # Valid, so training starts: the first step requests the fine-tuning cluster.
    assert train_dataset(ctx, "dups", etag).status.value == "pending"
    assert json.loads(store.objects["reports/dups.json"][0])["valid"] is True


def test_unknown_base_model_is_recorded_not_retried() -> None:
    ctx, store, _ai = make_ctx(base_model="cohere.nope")
    etag = drop_jsonl(ctx, "fin")
    outcome = train_dataset(ctx, "fin", etag)
    assert outcome.status.value == "rejected"
    assert "cohere.nope" in store.status("fin")["reason"]


def test_transient_errors_propagate_for_redelivery() -> None:
    ctx, _store, ai = make_ctx()
    etag = drop_jsonl(ctx, "fin")

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise service_error(429, "TooManyRequests")

    ai.list_models = throttled  # type: ignore[method-assign]
    with pytest.raises(ServiceError):
        train_dataset(ctx, "fin", etag)
    assert read_status(ctx, "fin") is None


def test_status_moves_keep_history() -> None:
    status = DatasetStatus(dataset="d", state=DatasetState.TRAINING, model_id="m")
    moved = status.moved_to(DatasetState.MODEL_ACTIVE, "done", model_state="ACTIVE")
    assert moved.state is DatasetState.MODEL_ACTIVE and moved.history[-1].detail == "done"
    assert status.state is DatasetState.TRAINING and not status.history
    assert moved.moved_to(DatasetState.MODEL_ACTIVE, percent_complete=1.0).history == \
        moved.history


def test_a_failed_cluster_is_replaced_not_reused() -> None:
    ctx, store, ai = make_ctx()
    drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", None)
    [first] = ai.clusters.values()
    first.lifecycle_state = "FAILED"
    assert train_dataset(ctx, "fin", None).status.value == "pending"
    assert len(ai.clusters) == 2
    assert store.status("fin")["finetuning_cluster_id"] != first.id


def test_notifications_are_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import notify

    assert notify.publish(make_settings(), "t", "b") is False  # no topic configured

    def broken(settings: Settings) -> Any:
        raise RuntimeError("no credentials here")

    monkeypatch.setattr("shared.auth.load_credentials", broken)
    topic = make_settings(notification_topic_id="ocid1.onstopic.oc1..x")
    assert notify.publish(topic, "t", "b") is False


def test_a_status_rewrite_racing_the_create_does_not_lose_the_new_model() -> None:
    ctx, store, ai = make_ctx()
    old_model = start_training(ctx, ai, "fin")
    new_etag = drop_jsonl(ctx, "fin", records=45)
    real_create = ai.create_model

    def create_while_watcher_writes(details: Any, opc_retry_token: str | None = None) -> Any:
        status = store.status("fin")
        status["percent_complete"] = 55.0  # the watcher's rewrite lands in between
        ctx.store.put_json("status/fin.json", status)
        return real_create(details, opc_retry_token=opc_retry_token)

    ai.create_model = create_while_watcher_writes  # type: ignore[method-assign]
    assert train_dataset(ctx, "fin", new_etag).status.value == "done"
    status = store.status("fin")
    assert status["model_id"] != old_model and status["source_etag"] == new_etag
    assert status["state"] == "TRAINING" and status["model_version"] == "2"
