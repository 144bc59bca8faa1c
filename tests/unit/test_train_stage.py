"""Train stage and the GenAI rules it uses, against small in-memory fakes of the oci clients.

The fakes (also used by test_watcher.py and test_endpoint_stage.py) behave like
the services where the stage depends on it: ETags and conditional writes in
Object Storage, retry-token dedup and lifecycle states in Generative AI.
"""

from __future__ import annotations

import io
import itertools
import json
from types import SimpleNamespace
from typing import Any

import pytest
from oci.exceptions import ServiceError

from shared import genai, naming, tags
from shared.settings import Settings, TrainingMethod
from shared.stages.context import StageContext, read_status
from shared.stages.train import train_dataset
from shared.status import DatasetState, DatasetStatus
from shared.storage import ObjectStore

COMPARTMENT = "ocid1.compartment.oc1..test"
_ids = itertools.count(1)


def _err(status: int, code: str) -> ServiceError:
    return ServiceError(status, code, {}, f"{code} from fake")


def _resp(data: Any = None, headers: dict[str, str] | None = None) -> Any:
    return SimpleNamespace(data=data, headers=headers or {})


class FakeObjectStorage:
    """Object Storage: ETags, opc-meta, If-Match / If-None-Match, prefix listing."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}

    def _headers(self, name: str) -> dict[str, str]:
        body, etag, meta = self.objects[name]
        headers = {"etag": etag, "content-length": str(len(body))}
        headers.update({f"opc-meta-{k}": v for k, v in meta.items()})
        return headers

    def head_object(self, ns: str, bucket: str, name: str) -> Any:
        if name not in self.objects:
            raise _err(404, "ObjectNotFound")
        return _resp(headers=self._headers(name))

    def get_object(self, ns: str, bucket: str, name: str, if_match: str | None = None) -> Any:
        if name not in self.objects:
            raise _err(404, "ObjectNotFound")
        body, etag, _ = self.objects[name]
        if if_match and if_match != etag:
            raise _err(412, "IfMatchFailed")
        data = SimpleNamespace(content=body, raw=io.BytesIO(body), close=lambda: None)
        return _resp(data, self._headers(name))

    def put_object(self, ns: str, bucket: str, name: str, body: bytes,
                   if_match: str | None = None, if_none_match: str | None = None,
                   opc_meta: dict[str, str] | None = None, **_: Any) -> Any:
        existing = self.objects.get(name)
        if if_none_match == "*" and existing is not None:
            raise _err(412, "IfNoneMatchFailed")
        if if_match and (existing is None or existing[1] != if_match):
            raise _err(412, "IfMatchFailed")
        etag = f"etag-{next(_ids)}"
        self.objects[name] = (bytes(body), etag, dict(opc_meta or {}))
        return _resp(headers={"etag": etag})

    def list_objects(self, ns: str, bucket: str, prefix: str = "", **_: Any) -> Any:
        names = sorted(n for n in self.objects if n.startswith(prefix))
        objects = [SimpleNamespace(name=n, etag=self.objects[n][1]) for n in names]
        return _resp(SimpleNamespace(objects=objects, next_start_with=None))

    def status(self, dataset: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.objects[f"status/{dataset}.json"][0])
        return doc


class FakeGenAi:
    """Generative AI control plane: models, clusters, endpoints, work requests, tokens."""

    def __init__(self) -> None:
        self.models: dict[str, Any] = {}
        self.clusters: dict[str, Any] = {}
        self.endpoints: dict[str, Any] = {}
        self.work_requests: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}
        self.creates: list[str] = []
        for name in ("cohere.command-r-08-2024", "meta.llama-3.3-70b-instruct"):
            self._base(name)

    def _base(self, name: str) -> None:
        ocid = f"ocid1.generativeaimodel.base.{name}"
        self.models[ocid] = SimpleNamespace(
            id=ocid, display_name=name, version="1", lifecycle_state="ACTIVE", type="BASE",
            capabilities=["CHAT", "FINE_TUNE"], freeform_tags={}, lifecycle_details=None,
            model_metrics=None)

    @staticmethod
    def _list(items: list[Any]) -> Any:
        return _resp(SimpleNamespace(items=items))

    def list_models(self, compartment_id: str, capability: list[str] | None = None,
                    display_name: str | None = None, **_: Any) -> Any:
        return self._list([m for m in self.models.values()
                           if (not display_name or m.display_name == display_name)
                           and all(c in m.capabilities for c in capability or [])])

    def get_model(self, model_id: str) -> Any:
        if model_id not in self.models:
            raise _err(404, "NotAuthorizedOrNotFound")
        return _resp(self.models[model_id])

    def _once(self, kind: str, token: str | None, make: Any) -> Any:
        key = f"{kind}:{token}"
        if token and key in self.tokens:
            return self.tokens[key]
        self.creates.append(kind)
        ocid = make()
        if token:
            self.tokens[key] = ocid
        return ocid

    def create_model(self, details: Any, opc_retry_token: str | None = None) -> Any:
        def make() -> str:
            ocid = f"ocid1.generativeaimodel.custom.{next(_ids)}"
            wr = f"ocid1.wr.{next(_ids)}"
            self.work_requests[wr] = SimpleNamespace(id=wr, status="ACCEPTED",
                                                     percent_complete=0.0)
            self.models[ocid] = SimpleNamespace(
                id=ocid, display_name=details.display_name, version=details.version,
                lifecycle_state="CREATING", type="CUSTOM", capabilities=["CHAT"],
                freeform_tags=dict(details.freeform_tags), lifecycle_details=None,
                model_metrics=None, details=details, wr=wr)
            return ocid

        ocid = self._once("model", opc_retry_token, make)
        model = self.models[ocid]
        return _resp(model, {"opc-work-request-id": model.wr})

    def list_dedicated_ai_clusters(self, compartment_id: str, **_: Any) -> Any:
        return self._list(list(self.clusters.values()))

    def get_dedicated_ai_cluster(self, cluster_id: str) -> Any:
        return _resp(self.clusters[cluster_id])

    def create_dedicated_ai_cluster(self, details: Any, opc_retry_token: str | None = None) -> Any:
        def make() -> str:
            ocid = f"ocid1.cluster.{next(_ids)}"
            self.clusters[ocid] = SimpleNamespace(
                id=ocid, type=details.type, unit_shape=details.unit_shape,
                unit_count=details.unit_count, lifecycle_state="CREATING",
                freeform_tags=dict(details.freeform_tags))
            return ocid

        return _resp(self.clusters[self._once("cluster", opc_retry_token, make)])

    def list_endpoints(self, compartment_id: str, display_name: str | None = None,
                       **_: Any) -> Any:
        return self._list([e for e in self.endpoints.values()
                           if not display_name or e.display_name == display_name])

    def get_endpoint(self, endpoint_id: str) -> Any:
        return _resp(self.endpoints[endpoint_id])

    def create_endpoint(self, details: Any, opc_retry_token: str | None = None) -> Any:
        def make() -> str:
            ocid = f"ocid1.endpoint.{next(_ids)}"
            self.endpoints[ocid] = SimpleNamespace(
                id=ocid, display_name=details.display_name, model_id=details.model_id,
                dedicated_ai_cluster_id=details.dedicated_ai_cluster_id,
                lifecycle_state="CREATING", lifecycle_details=None,
                freeform_tags=dict(details.freeform_tags), details=details)
            return ocid

        return _resp(self.endpoints[self._once("endpoint", opc_retry_token, make)])

    def get_work_request(self, wr_id: str) -> Any:
        return _resp(self.work_requests[wr_id])

    # test controls
    def activate_clusters(self) -> None:
        for cluster in self.clusters.values():
            cluster.lifecycle_state = "ACTIVE"

    def finish(self, model_id: str, ok: bool = True) -> None:
        model = self.models[model_id]
        model.lifecycle_state = "ACTIVE" if ok else "FAILED"
        model.lifecycle_details = None if ok else "loss diverged"
        model.model_metrics = SimpleNamespace(final_accuracy=0.9, final_loss=0.1) if ok else None
        self.work_requests[model.wr].status = "SUCCEEDED" if ok else "FAILED"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"compartment_id": COMPARTMENT, "namespace": "ns",
                              "bucket": "b"}
    values.update(overrides)
    return Settings(**values)


def make_ctx(**overrides: Any) -> tuple[StageContext, FakeObjectStorage, FakeGenAi]:
    os_client, ai = FakeObjectStorage(), FakeGenAi()
    counter = genai.CallCounter()
    settings = make_settings(**overrides)
    ctx = StageContext(settings=settings,
                       store=ObjectStore(genai.CountingClient(os_client, counter, "objectstorage."),
                                         "ns", "b"),
                       genai_client=genai.CountingClient(ai, counter, "genai."),
                       counter=counter)
    return ctx, os_client, ai


def drop_jsonl(ctx: StageContext, dataset: str, records: int = 40, valid: bool = True) -> str:
    """A converted JSONL + its convert report, as the convert stage leaves them."""
    raw_etag = f"raw-{next(_ids)}"
    body = b"".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}).encode() + b"\n"
                    for i in range(records))
    ctx.store.put_json(naming.report_object(ctx.settings, dataset),
                       {"valid": valid, "records_written": records, "source_etag": raw_etag,
                        "fatal": None if valid else {"message": "too few examples"}})
    return ctx.store.put_bytes(naming.training_object(ctx.settings, dataset), body,
                               metadata={"source-etag": raw_etag})


# -- GenAI rules -----------------------------------------------------------------------------


def test_family_table_follows_oci_cluster_rules() -> None:
    command_r = genai.family_of("cohere.command-r-08-2024")
    assert (command_r.finetuning_shape, command_r.finetuning_units) == ("SMALL_COHERE_V2", 8)
    assert genai.family_of("cohere.command-light").finetuning_shape == "SMALL_COHERE"
    assert genai.family_of("cohere.command").finetuning_shape == "LARGE_COHERE"
    assert genai.family_of("meta.llama-3.3-70b-instruct").methods == (TrainingMethod.LORA,)
    with pytest.raises(genai.PermanentError):
        genai.family_of("cohere.embed-english-v3.0")


@pytest.mark.parametrize(("base", "examples", "expected"), [
    ("cohere.command-r-08-2024", 99_999, TrainingMethod.TFEW),
    ("cohere.command-r-08-2024", 100_000, TrainingMethod.TFEW),  # no Vanilla for command-r
    ("cohere.command", 99_999, TrainingMethod.TFEW),
    ("cohere.command", 100_000, TrainingMethod.VANILLA),
    ("meta.llama-3.3-70b-instruct", 10, TrainingMethod.LORA),
])
def test_auto_method_by_dataset_size_and_family(base: str, examples: int,
                                                expected: TrainingMethod) -> None:
    assert genai.choose_method(make_settings(), genai.family_of(base), examples) is expected


def test_explicit_method_must_be_supported_by_the_family() -> None:
    settings = make_settings(training_method=TrainingMethod.VANILLA)
    with pytest.raises(genai.PermanentError, match="VANILLA"):
        genai.choose_method(settings, genai.family_of("cohere.command-r-08-2024"), 10)
    lora = make_settings(training_method=TrainingMethod.LORA)
    assert genai.choose_method(lora, genai.family_of("cohere.command-r-08-2024"), 10) \
        is TrainingMethod.LORA


def test_training_config_uses_settings_then_method_defaults() -> None:
    family = genai.family_of("cohere.command-r-08-2024")
    tfew = genai.training_config(make_settings(), family, TrainingMethod.TFEW)
    assert tfew.training_config_type == "TFEW_TRAINING_CONFIG"
    assert (tfew.total_training_epochs, tfew.learning_rate, tfew.training_batch_size) == \
        (5, 0.01, 16)
    lora = genai.training_config(make_settings(epochs=2, learning_rate=0.001), family,
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


def test_permanent_errors_are_400_404_and_token_conflicts() -> None:
    assert genai.is_permanent(_err(400, "InvalidParameter"))
    assert genai.is_permanent(_err(404, "NotAuthorizedOrNotFound"))
    assert genai.is_permanent(_err(409, "Conflict"))
    assert not genai.is_permanent(_err(429, "TooManyRequests"))
    assert not genai.is_permanent(_err(500, "InternalServerError"))
    assert not genai.is_permanent(ConnectionError())


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
    drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", None)
    ai.activate_clusters()
    train_dataset(ctx, "fin", None)
    first = store.status("fin")["model_id"]
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
    assert train_dataset(ctx, "dups", etag).status.value in ("done", "pending")
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
        raise _err(429, "TooManyRequests")

    ai.list_models = throttled  # type: ignore[method-assign]
    with pytest.raises(ServiceError):
        train_dataset(ctx, "fin", etag)
    assert read_status(ctx, "fin") is None


def test_status_moves_keep_history() -> None:
    status = DatasetStatus(dataset="d", state=DatasetState.TRAINING)
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
    ai.activate_clusters()
    drop_jsonl(ctx, "fin")
    train_dataset(ctx, "fin", None)
    ai.activate_clusters()
    train_dataset(ctx, "fin", None)
    old_model = store.status("fin")["model_id"]
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
