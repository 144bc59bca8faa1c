"""In-memory fakes of the ``oci`` clients, behaving like the services where the code depends on it.

Stages (train, endpoint, watch): :class:`FakeObjectStorage` (ETags, opc-meta,
conditional writes, prefix listing) and :class:`FakeGenAi` (retry-token dedup,
lifecycle states, work requests), wired into a stage context by :func:`make_ctx`.
Infer: :class:`FakeServingGenAi` (endpoints and models, counting calls) and
:class:`FakeInference`, wired into the function's backend by :func:`infer_backend`.
"""

from __future__ import annotations

import io
import itertools
import json
from types import SimpleNamespace
from typing import Any

from oci.exceptions import ServiceError
from oci.generative_ai_inference import models as m

from shared import genai, naming, tags
from shared.convert.report import Issue
from shared.infer.resolve import EndpointResolver
from shared.records import write_record
from shared.reports import DatasetReport
from shared.settings import Settings
from shared.stages import watch
from shared.stages.context import StageContext
from shared.stages.infer import Backend
from shared.stages.train import train_dataset
from shared.storage import ObjectStore

COMPARTMENT = "ocid1.compartment.oc1..test"
INFER_SETTINGS = Settings(compartment_id=COMPARTMENT, endpoint_cache_seconds=30)
_ids = itertools.count(1)


def service_error(status: int, code: str) -> ServiceError:
    """An ``oci`` ServiceError as the SDK raises it for an error response."""
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
            raise service_error(404, "ObjectNotFound")
        return _resp(headers=self._headers(name))

    def get_object(self, ns: str, bucket: str, name: str, if_match: str | None = None) -> Any:
        if name not in self.objects:
            raise service_error(404, "ObjectNotFound")
        body, etag, _ = self.objects[name]
        if if_match and if_match != etag:
            raise service_error(412, "IfMatchFailed")
        data = SimpleNamespace(content=body, raw=io.BytesIO(body), close=lambda: None)
        return _resp(data, self._headers(name))

    def put_object(self, ns: str, bucket: str, name: str, body: bytes,
                   if_match: str | None = None, if_none_match: str | None = None,
                   opc_meta: dict[str, str] | None = None, **_: Any) -> Any:
        existing = self.objects.get(name)
        if if_none_match == "*" and existing is not None:
            raise service_error(412, "IfNoneMatchFailed")
        if if_match and (existing is None or existing[1] != if_match):
            raise service_error(412, "IfMatchFailed")
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
    """Generative AI control plane, as the train, endpoint and watch stages call it.

    Models, clusters, endpoints, work requests and retry tokens; the test controls
    at the end move resources along their lifecycle.
    """

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
            raise service_error(404, "NotAuthorizedOrNotFound")
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
                model_metrics=None, details=details, wr=wr,
                fine_tune_details=details.fine_tune_details)  # as GetModel answers
            return ocid

        ocid = self._once("model", opc_retry_token, make)
        model = self.models[ocid]
        return _resp(model, {"opc-work-request-id": model.wr})

    def list_dedicated_ai_clusters(self, compartment_id: str, **_: Any) -> Any:
        return self._list(list(self.clusters.values()))

    def get_dedicated_ai_cluster(self, cluster_id: str) -> Any:
        return _resp(self.clusters[cluster_id])

    def delete_dedicated_ai_cluster(self, cluster_id: str) -> Any:
        """OCI's rule: 409 while an endpoint or a fine-tuning job still uses the cluster."""
        busy = [e for e in self.endpoints.values() if e.dedicated_ai_cluster_id == cluster_id
                and e.lifecycle_state in ("CREATING", "ACTIVE", "UPDATING", "DELETING")]
        busy += [m for m in self.models.values() if m.lifecycle_state == "CREATING"
                 and getattr(getattr(m, "details", None), "fine_tune_details", None) is not None
                 and m.details.fine_tune_details.dedicated_ai_cluster_id == cluster_id]
        if busy:
            raise service_error(409, "Conflict")
        self.clusters[cluster_id].lifecycle_state = "DELETED"
        return _resp()

    def delete_endpoint(self, endpoint_id: str) -> Any:
        self.endpoints[endpoint_id].lifecycle_state = "DELETED"
        return _resp()

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
    """Pipeline settings for the fakes' compartment, namespace and bucket."""
    values: dict[str, Any] = {"compartment_id": COMPARTMENT, "namespace": "ns",
                              "bucket": "b"}
    values.update(overrides)
    return Settings(**values)


def make_ctx(**overrides: Any) -> tuple[StageContext, FakeObjectStorage, FakeGenAi]:
    """A stage context whose clients are fresh fakes (returned too, to steer them)."""
    os_client, ai = FakeObjectStorage(), FakeGenAi()
    counter = genai.CallCounter()
    settings = make_settings(**overrides)
    ctx = StageContext(settings=settings,
                       store=ObjectStore(genai.CountingClient(os_client, counter, "objectstorage."),
                                         "ns", "b"),
                       genai_client=genai.CountingClient(ai, counter, "genai."),
                       counter=counter)
    return ctx, os_client, ai


def drop_jsonl(ctx: StageContext, dataset: str, records: int = 40, valid: bool = True,
               metadata: dict[str, str] | None = None) -> str:
    """A converted JSONL + its convert report, as the convert stage leaves them (with the
    raw object's job-spec ``metadata`` copied onto it, as convert copies it)."""
    raw_etag = f"raw-{next(_ids)}"
    body = b"".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}).encode() + b"\n"
                    for i in range(records))
    write_record(ctx.store, naming.report_object(ctx.settings, dataset), DatasetReport(
        valid=valid, records_written=records, dataset=dataset,
        source_object=f"raw/{dataset}.json", source_etag=raw_etag,
        fatal=None if valid else Issue(code="too_few_examples", message="too few examples")))
    return ctx.store.put_bytes(naming.training_object(ctx.settings, dataset), body,
                               metadata={"source-etag": raw_etag, **(metadata or {})})


def start_training(ctx: StageContext, ai: FakeGenAi, dataset: str, records: int = 40) -> str:
    """Drop a JSONL and train it until its model is created (status TRAINING); the model id.

    The first call may only request the fine-tuning cluster; once the cluster is
    ACTIVE the second creates the model (or, if the first did, finds it).
    """
    etag = drop_jsonl(ctx, dataset, records)
    train_dataset(ctx, dataset, etag)
    ai.activate_clusters()
    train_dataset(ctx, dataset, None)
    got = ctx.store.read_json(naming.status_object(ctx.settings, dataset))
    assert got is not None and got[0]["state"] == "TRAINING", got
    return str(got[0]["model_id"])


def finish_training(ctx: StageContext, ai: FakeGenAi, dataset: str, ok: bool = True) -> str:
    """Train ``dataset`` to the end (``ok``: ACTIVE, else FAILED) and let the watcher record it."""
    model_id = start_training(ctx, ai, dataset)
    ai.finish(model_id, ok=ok)
    watch.tick(ctx.settings, ctx=ctx)
    return model_id


# -- infer -----------------------------------------------------------------------------------


def endpoint_summary(ep_id: str, model_id: str, dataset: str, state: str = "ACTIVE",
                     pipeline: str = "ocift", created: str = "2026-01-01") -> Any:
    """An endpoint as ``list_endpoints`` returns it, tagged by ``pipeline``."""
    return SimpleNamespace(id=ep_id, model_id=model_id, lifecycle_state=state,
                           time_created=created,
                           freeform_tags=tags.pipeline_tags(pipeline, tags.ROLE_ENDPOINT,
                                                            dataset=dataset, model_id=model_id))


class FakeServingGenAi:
    """What the infer function reads of the control plane, counting calls.

    list_endpoints / get_endpoint / get_model over in-memory records.
    """

    def __init__(self) -> None:
        self.endpoints: dict[str, Any] = {}
        self.models: dict[str, Any] = {
            "base": SimpleNamespace(id="base", display_name="cohere.command-r-08-2024",
                                    type="BASE", base_model_id=None, version="1.0",
                                    freeform_tags={}),
        }
        self.calls: list[str] = []

    def add(self, ep: Any, version: str, base: str | None = None) -> None:
        self.endpoints[ep.id] = ep
        model_tags = {tags.BASE_MODEL: base} if base else {}
        self.models[ep.model_id] = SimpleNamespace(
            id=ep.model_id, display_name="ocift-x", type="CUSTOM", base_model_id="base",
            version=version, freeform_tags=model_tags)

    def list_endpoints(self, compartment_id: str, lifecycle_state: str | None = None,
                       **kw: Any) -> Any:
        self.calls.append("list_endpoints")
        assert compartment_id == COMPARTMENT
        items = [e for e in self.endpoints.values()
                 if lifecycle_state is None or e.lifecycle_state == lifecycle_state]
        return SimpleNamespace(data=SimpleNamespace(items=items), has_next_page=False,
                               next_page=None, headers={})

    def get_endpoint(self, endpoint_id: str) -> Any:
        self.calls.append("get_endpoint")
        if endpoint_id not in self.endpoints:
            raise service_error(404, "NotAuthorizedOrNotFound")
        return SimpleNamespace(data=self.endpoints[endpoint_id])

    def get_model(self, model_id: str) -> Any:
        self.calls.append("get_model")
        return SimpleNamespace(data=self.models[model_id])


class FakeInference:
    """Generative AI Inference: ``chat`` answers one Cohere reply (or raises ``fail``)."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.seen: list[Any] = []

    def chat(self, details: Any) -> Any:
        self.seen.append(details)
        if self.fail:
            raise self.fail
        return SimpleNamespace(data=m.ChatResult(
            model_id="m1", model_version="1", chat_response=m.CohereChatResponse(
                text="An ETF is a fund.", finish_reason="COMPLETE",
                usage=m.Usage(prompt_tokens=4, completion_tokens=5, total_tokens=9))))


def infer_backend(fail: BaseException | None = None,
                  ) -> tuple[Backend, FakeServingGenAi, FakeInference]:
    """The infer function's backend over fakes serving dataset ``fin`` (version 1)."""
    fake = FakeServingGenAi()
    fake.add(endpoint_summary("ocid1.generativeaiendpoint.oc1.ep1", "m1", "fin"), "1")
    inference = FakeInference(fail)
    return Backend(inference, EndpointResolver(fake, INFER_SETTINGS)), fake, inference
