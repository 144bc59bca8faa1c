"""Generative AI control plane: dedicated AI clusters, models, endpoints, work requests.

Plain Python (no HTTP): :mod:`.rest` binds it to the REST paths. State
changes that OCI makes in the background (CREATING -> ACTIVE, DELETING ->
DELETED) are applied lazily against stored deadlines, so they survive a
restart; fine-tuning runs in :mod:`.trainer` jobs.

OCI Generative AI emits no OCI Events, and neither does this emulation: state
is visible only through the API (lifecycle states and work requests).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.local.emulator.genai import hyperparams
from deploy.local.emulator.genai.catalog import (
    BY_NAME,
    CATALOGUE,
    ENDPOINTS_PER_HOSTING_UNIT,
    BaseModelSpec,
    dedicated_retirement,
)
from deploy.local.emulator.genai.config import FAIL_TRAINING_TAG, GenAiConfig
from deploy.local.emulator.genai.errors import (
    GenAiError,
    conflict,
    incorrect_state,
    invalid_parameter,
    not_found,
)
from deploy.local.emulator.genai.listing import matches, sort_items
from deploy.local.emulator.genai.records import (
    Cluster,
    CustomModel,
    Endpoint,
    EndpointState,
    Lifecycle,
    ModelState,
    Pending,
    Record,
    RetryToken,
    WorkRequest,
)
from deploy.local.emulator.genai.requests import (
    CreateDedicatedAiClusterDetails,
    CreateEndpointDetails,
    CreateModelDetails,
    parse,
)
from deploy.local.emulator.genai.retrieval import RetrievalIndex
from deploy.local.emulator.genai.store import ResourceStore, Table
from deploy.local.emulator.genai.timefmt import rfc3339
from deploy.local.emulator.genai.trainer import ObjectOpener, Trainer
from deploy.local.emulator.genai.workrequests import WorkRequests, new_ocid

__all__ = ["ControlPlane", "ObjectOpener", "Record"]

LIVE_ENDPOINT_STATES = ("CREATING", "ACTIVE", "UPDATING", "DELETING")
GONE_STATES = ("DELETING", "DELETED")
API = "/20231130"


def _refuse_retired(spec: BaseModelSpec, what: str) -> None:
    """400 for a base model retired for dedicated mode: no dedicated AI cluster work for it.

    "When a model is retired in the dedicated mode, you can no longer create a dedicated AI
    cluster for the retired model ... you can continue to create new dedicated AI clusters
    with a custom model that was created on a retired model" ("About Model Retirement",
    https://docs.oracle.com/iaas/Content/generative-ai/about-retirement.htm). OCI documents
    no status or code for the refusal; 400 InvalidParameter (the model named in the body
    cannot be used) is the strict reading: never retried.
    """
    day = dedicated_retirement(spec, time.time())
    if day is not None:
        raise invalid_parameter(
            f"Base model {spec.name} was retired for dedicated mode on {day}; you can no "
            f"longer {what} on a dedicated AI cluster.")


class ControlPlane:
    """All control-plane operations, persisted in ``state_dir`` (``<state>/genai``)."""

    def __init__(
        self,
        state_dir: Path,
        open_object: ObjectOpener,
        config: GenAiConfig | None = None,
        region: str = "us-chicago-1",
    ) -> None:
        self.store = ResourceStore(Path(state_dir))
        self.config = config or GenAiConfig.from_env()
        self.region = region
        self.workrequests = WorkRequests(self.store, region)
        self.trainer = Trainer(self.store, self.workrequests, open_object, self.config)
        self._base_by_id = {self.base_model_id(spec.name): spec for spec in CATALOGUE}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Resume fine-tuning for every model left CREATING by a previous run."""
        self.trainer.resume()

    def stop(self) -> None:
        """Stop training threads (their models stay CREATING and resume on restart)."""
        self.trainer.stop()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for running trainings to end (test helper); True if all ended."""
        return self.trainer.wait_idle(timeout)

    def index_for(self, model_id: str) -> RetrievalIndex | None:
        """The trained retrieval index of a custom model (cached), or None."""
        return self.trainer.index_for(model_id)

    # ------------------------------------------------------------------ helpers

    def base_model_id(self, name: str) -> str:
        """The stable (per state dir) OCID of a catalogue base model."""
        digest = hashlib.sha256(f"{self.store.salt}:{name}".encode()).hexdigest()[:52]
        return f"ocid1.generativeaimodel.oc1.{self.region}.amaaaaaa{digest}"

    def base_spec(self, model_id: str) -> BaseModelSpec | None:
        """The catalogue entry for a base model OCID, or None."""
        return self._base_by_id.get(model_id)

    def spec_for(self, model_id: str) -> BaseModelSpec:
        """The base model family of a (base or custom) model OCID."""
        spec = self.base_spec(model_id)
        if spec is not None:
            return spec
        return BY_NAME[self._require(self.store.models, model_id).emu.base_name]

    def _idempotent(
        self, operation: str, token: str | None, body: Any, create: Callable[[], tuple[str, str]]
    ) -> tuple[str, str]:
        """Run ``create`` once per retry token, as OCI dedups creates for 24 hours.

        Returns ``(resource_id, work_request_id)``. The same token with another
        body is a 409 Conflict.
        """
        if not token:
            return create()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        key = f"{operation}:{token}"
        now = time.time()
        with self.store.lock:
            seen = self.store.token(key)
            if seen and seen.expires > now:
                if seen.body_hash != digest:
                    raise conflict(
                        "The opc-retry-token was already used with a different request body.")
                return seen.resource_id, seen.work_request_id
            resource_id, wr_id = create()
            self.store.put_token(key, RetryToken(
                body_hash=digest, resource_id=resource_id, work_request_id=wr_id,
                expires=now + self.config.retry_token_ttl_seconds), now)
            return resource_id, wr_id

    def _tick(self) -> None:
        """Apply background transitions whose deadline has passed."""
        now = time.time()
        with self.store.lock:
            tables: tuple[Table[Any], ...] = (
                self.store.clusters, self.store.endpoints, self.store.models)
            for table in tables:
                for rec in table.all():
                    self._settle(table, rec, now)

    def _settle(self, table: Table[Any], rec: Lifecycle, now: float) -> None:
        pending: Pending = rec.emu  # type: ignore[attr-defined]
        state, ready = rec.lifecycle_state, pending.ready_at
        if state not in ("CREATING", "DELETING") or ready is None:
            return
        if isinstance(rec, CustomModel) and state == "CREATING":
            return  # the training job owns it
        if now < ready:
            self.workrequests.progress(pending.wr, now)
            return
        done = "ACTIVE" if state == "CREATING" else "DELETED"
        rec.lifecycle_state = done
        rec.lifecycle_details = None
        rec.time_updated = rfc3339(now)
        pending.ready_at = None
        table.put(rec)
        self.workrequests.finish(pending.wr, ok=True,
                                 action="CREATED" if done == "ACTIVE" else "DELETED")

    @staticmethod
    def _require(table: Table[Any], resource_id: str) -> Any:
        rec = table.get(resource_id)
        if rec is None:
            raise not_found()
        return rec

    def _begin_delete(self, table: Table[Any], rec: Cluster | Endpoint | CustomModel,
                      operation: str, entity: str, collection: str) -> str:
        now = time.time()
        if isinstance(rec, CustomModel) and rec.lifecycle_state == "CREATING":
            self.workrequests.cancel(rec.emu.wr, "The model was deleted during fine-tuning.")
        ready = now + self.config.provisioning_seconds
        wr_id = self.workrequests.new(operation, rec.compartment_id, entity, rec.id,
                                      f"{API}/{collection}/{rec.id}", ready)
        rec.lifecycle_state = "DELETING"
        rec.time_updated = rfc3339(now)
        rec.emu.ready_at, rec.emu.wr = ready, wr_id
        table.put(rec)
        self._tick()
        return wr_id

    # ------------------------------------------------------------------- models

    def _base_record(self, spec: BaseModelSpec) -> Record:
        record: Record = {
            "id": self.base_model_id(spec.name),
            "displayName": spec.name,
            "vendor": spec.vendor,
            "version": spec.version,
            "capabilities": list(spec.capabilities),
            "lifecycleState": "ACTIVE",
            "type": "BASE",
            "timeCreated": spec.time_created,
            "isLongTermSupported": False,
            "freeformTags": {},
            "definedTags": {},
            "systemTags": {},
        }
        for key, value in (("timeDeprecated", spec.time_deprecated),
                           ("timeOnDemandRetired", spec.time_on_demand_retired),
                           ("timeDedicatedRetired", spec.time_dedicated_retired)):
            if value:
                record[key] = value
        return record

    def list_models(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListModels``: base models (any compartment) and this compartment's custom ones."""
        self._tick()
        with self.store.lock:
            items = [self._base_record(spec) for spec in CATALOGUE]
            items += [m.to_api() for m in self.store.models.all()
                      if m.compartment_id == compartment_id]
        capabilities = filters.get("capability") or []
        items = [
            m for m in items
            if (not filters.get("vendor") or m["vendor"] == filters["vendor"])
            and all(c in m["capabilities"] for c in capabilities)
            and matches(m, filters)
        ]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def get_model(self, model_id: str) -> Record:
        """``GetModel`` for a base or custom model."""
        spec = self.base_spec(model_id)
        if spec is not None:
            return self._base_record(spec)
        self._tick()
        model: CustomModel = self._require(self.store.models, model_id)
        return model.to_api()

    def create_model(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateModel``: validate, persist CREATING, start fine-tuning."""
        details = parse(CreateModelDetails, body)
        self._tick()
        model_id, wr_id = self._idempotent("CreateModel", retry_token, body,
                                           lambda: self._create_model(details))
        return self.get_model(model_id), wr_id

    def _create_model(self, details: CreateModelDetails) -> tuple[str, str]:
        spec = self.base_spec(details.base_model_id)
        if spec is None:
            if self.store.models.get(details.base_model_id) is not None:
                raise invalid_parameter(
                    "baseModelId must be a pretrained base model; fine-tuning a custom model "
                    "is not supported.")
            raise not_found()
        if "FINE_TUNE" not in spec.capabilities or spec.fine_tuning is None:
            raise invalid_parameter(f"Base model {spec.name} does not support fine-tuning.")
        _refuse_retired(spec, "fine-tune it")
        ftd = details.fine_tune_details
        if ftd.training_dataset.dataset_type != "OBJECT_STORAGE":
            raise invalid_parameter("trainingDataset.datasetType must be OBJECT_STORAGE.")
        cluster: Cluster = self._require(self.store.clusters, ftd.dedicated_ai_cluster_id)
        if cluster.type != "FINE_TUNING":
            raise invalid_parameter("The dedicated AI cluster is not a FINE_TUNING cluster.")
        if cluster.lifecycle_state != "ACTIVE":
            raise incorrect_state(
                f"The dedicated AI cluster is {cluster.lifecycle_state}, not ACTIVE.")
        need = spec.fine_tuning
        if (cluster.unit_shape, cluster.unit_count) != (need.shape, need.count):
            raise invalid_parameter(
                f"Base model {spec.name} needs a fine-tuning cluster of {need.count} "
                f"{need.shape} units; this cluster has {cluster.unit_count} "
                f"{cluster.unit_shape}.")
        config = hyperparams.complete_config(spec, ftd.training_config)
        now = time.time()
        model_id = new_ocid("generativeaimodel", self.region)
        wr_id = self.workrequests.new("CREATE_MODEL", details.compartment_id,
                                      "GenerativeAiModel", model_id,
                                      f"{API}/models/{model_id}", None)
        fine_tune = ftd.model_dump(by_alias=True, exclude_none=True)
        fine_tune["trainingConfig"] = config
        fail = (details.freeform_tags.get(FAIL_TRAINING_TAG, "").lower() == "true"
                or self.config.fail_training)
        self.store.models.put(CustomModel(
            id=model_id,
            display_name=details.display_name or f"custom-{spec.name}-{int(now)}",
            description=details.description,
            compartment_id=details.compartment_id,
            capabilities=spec.custom_capabilities,
            lifecycle_state="CREATING",
            lifecycle_details="Fine-tuning job accepted.",
            vendor=details.vendor or spec.vendor,
            version=details.version or "1.0",
            time_created=rfc3339(now),
            time_updated=rfc3339(now),
            base_model_id=details.base_model_id,
            fine_tune_details=fine_tune,
            freeform_tags=details.freeform_tags,
            defined_tags=details.defined_tags,
            emu=ModelState(base_name=spec.name, wr=wr_id, fail_training=fail),
        ))
        self.trainer.launch(model_id)
        return model_id, wr_id

    def delete_model(self, model_id: str) -> str:
        """``DeleteModel``: refused while an endpoint still serves the model."""
        if self.base_spec(model_id) is not None:
            raise GenAiError(400, "InvalidParameter", "Base models cannot be deleted.")
        self._tick()
        with self.store.lock:
            model: CustomModel = self._require(self.store.models, model_id)
            if model.lifecycle_state in GONE_STATES:
                raise incorrect_state(f"The model is already {model.lifecycle_state}.")
            users = [e.id for e in self.store.endpoints.all()
                     if e.model_id == model_id and e.lifecycle_state in LIVE_ENDPOINT_STATES]
            if users:
                raise conflict(f"The model is used by endpoint(s): {', '.join(users)}.")
            return self._begin_delete(self.store.models, model, "DELETE_MODEL",
                                      "GenerativeAiModel", "models")

    # ---------------------------------------------------------------- clusters

    def create_cluster(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateDedicatedAiCluster``."""
        details = parse(CreateDedicatedAiClusterDetails, body)
        cluster_id, wr_id = self._idempotent("CreateDedicatedAiCluster", retry_token, body,
                                             lambda: self._create_cluster(details))
        return self.get_cluster(cluster_id), wr_id

    def _create_cluster(self, d: CreateDedicatedAiClusterDetails) -> tuple[str, str]:
        if d.type not in ("HOSTING", "FINE_TUNING"):
            raise invalid_parameter("type must be HOSTING or FINE_TUNING.")
        if d.unit_count < 1:
            raise invalid_parameter("unitCount must be at least 1.")
        if d.type == "FINE_TUNING":
            allowed = {(s.fine_tuning.shape, s.fine_tuning.count)
                       for s in CATALOGUE if s.fine_tuning}
            if (d.unit_shape, d.unit_count) not in allowed:
                options = ", ".join(f"{n}x{shape}" for shape, n in sorted(allowed))
                raise invalid_parameter(
                    f"A FINE_TUNING cluster of {d.unit_count} {d.unit_shape} units matches no "
                    f"fine-tunable base model; valid: {options}.")
        elif d.unit_shape not in {s.hosting.shape for s in CATALOGUE}:
            raise invalid_parameter(f"unitShape {d.unit_shape} cannot host any base model.")
        now = time.time()
        ready = now + self.config.provisioning_seconds
        cluster_id = new_ocid("generativeaidedicatedaicluster", self.region)
        wr_id = self.workrequests.new(
            "CREATE_DEDICATED_AI_CLUSTER", d.compartment_id, "DedicatedAiCluster", cluster_id,
            f"{API}/dedicatedAiClusters/{cluster_id}", ready)
        self.store.clusters.put(Cluster(
            id=cluster_id,
            display_name=d.display_name or f"dedicatedaicluster{time.strftime('%Y%m%d%H%M%S')}",
            description=d.description,
            type=d.type,
            compartment_id=d.compartment_id,
            time_created=rfc3339(now),
            time_updated=rfc3339(now),
            lifecycle_state="CREATING",
            lifecycle_details="Provisioning dedicated AI cluster.",
            unit_count=d.unit_count,
            unit_shape=d.unit_shape,
            freeform_tags=d.freeform_tags,
            defined_tags=d.defined_tags,
            emu=Pending(ready_at=ready, wr=wr_id),
        ))
        return cluster_id, wr_id

    def _render_cluster(self, rec: Cluster) -> Record:
        out = rec.to_api()
        if rec.type == "HOSTING":
            used = sum(1 for e in self.store.endpoints.all()
                       if e.dedicated_ai_cluster_id == rec.id
                       and e.lifecycle_state in LIVE_ENDPOINT_STATES)
            out["capacity"] = {
                "capacityType": "HOSTING_CAPACITY",
                "totalEndpointCapacity": ENDPOINTS_PER_HOSTING_UNIT * rec.unit_count,
                "usedEndpointCapacity": used,
            }
        return out

    def get_cluster(self, cluster_id: str) -> Record:
        """``GetDedicatedAiCluster``."""
        self._tick()
        with self.store.lock:
            return self._render_cluster(self._require(self.store.clusters, cluster_id))

    def list_clusters(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListDedicatedAiClusters``."""
        self._tick()
        with self.store.lock:
            items = [self._render_cluster(c) for c in self.store.clusters.all()
                     if c.compartment_id == compartment_id]
        items = [c for c in items if matches(c, filters)]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def delete_cluster(self, cluster_id: str) -> str:
        """``DeleteDedicatedAiCluster``: 409 while it hosts endpoints or trains models."""
        self._tick()
        with self.store.lock:
            cluster: Cluster = self._require(self.store.clusters, cluster_id)
            if cluster.lifecycle_state in GONE_STATES:
                raise incorrect_state(f"The cluster is already {cluster.lifecycle_state}.")
            users = [e.id for e in self.store.endpoints.all()
                     if e.dedicated_ai_cluster_id == cluster_id
                     and e.lifecycle_state in LIVE_ENDPOINT_STATES]
            users += [m.id for m in self.store.models.all()
                      if m.lifecycle_state == "CREATING" and m.cluster_id == cluster_id]
            if users:
                raise conflict(
                    "The dedicated AI cluster still has endpoints or fine-tuning jobs: "
                    f"{', '.join(users)}. Delete them first.")
            return self._begin_delete(self.store.clusters, cluster,
                                      "DELETE_DEDICATED_AI_CLUSTER", "DedicatedAiCluster",
                                      "dedicatedAiClusters")

    # --------------------------------------------------------------- endpoints

    def create_endpoint(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateEndpoint``."""
        details = parse(CreateEndpointDetails, body)
        self._tick()
        endpoint_id, wr_id = self._idempotent("CreateEndpoint", retry_token, body,
                                              lambda: self._create_endpoint(details))
        return self.get_endpoint(endpoint_id), wr_id

    def _create_endpoint(self, d: CreateEndpointDetails) -> tuple[str, str]:
        model = self.get_model(d.model_id)
        if model["lifecycleState"] != "ACTIVE":
            raise incorrect_state(f"The model is {model['lifecycleState']}, not ACTIVE.")
        spec = self.spec_for(d.model_id)
        if "CHAT" not in model["capabilities"]:
            raise invalid_parameter(f"Model {spec.name} cannot be served by Chat (GenerateText "
                                    "is unavailable from 2026-06-26).")
        if self.base_spec(d.model_id) is not None:
            _refuse_retired(spec, "host it")  # a custom model of a retired base may be hosted
        cluster = self._render_cluster(
            self._require(self.store.clusters, d.dedicated_ai_cluster_id))
        if cluster["type"] != "HOSTING":
            raise invalid_parameter("The dedicated AI cluster is not a HOSTING cluster.")
        if cluster["lifecycleState"] != "ACTIVE":
            raise incorrect_state(
                f"The dedicated AI cluster is {cluster['lifecycleState']}, not ACTIVE.")
        if cluster["unitShape"] != spec.hosting.shape:
            raise invalid_parameter(
                f"Models based on {spec.name} are hosted on {spec.hosting.shape} clusters; "
                f"this cluster is {cluster['unitShape']}.")
        share_key = self._hosting_key(d.model_id, spec)
        for other in self.store.endpoints.all():
            if (other.dedicated_ai_cluster_id == cluster["id"]
                    and other.lifecycle_state in LIVE_ENDPOINT_STATES
                    and other.emu.share_key != share_key):
                raise invalid_parameter(
                    "The endpoints of a hosting cluster must all serve the same base model or "
                    "the same custom model (T-Few cohere.command models may be stacked); this "
                    f"cluster serves {other.model_id}.")
        capacity = cluster["capacity"]
        if capacity["usedEndpointCapacity"] >= capacity["totalEndpointCapacity"]:
            raise conflict("The hosting cluster has no free endpoint capacity.")
        now = time.time()
        ready = now + self.config.provisioning_seconds
        endpoint_id = new_ocid("generativeaiendpoint", self.region)
        wr_id = self.workrequests.new(
            "CREATE_ENDPOINT", d.compartment_id, "GenerativeAiEndpoint", endpoint_id,
            f"{API}/endpoints/{endpoint_id}", ready)
        moderation = (d.content_moderation_config.model_dump(by_alias=True, exclude_none=True)
                      if d.content_moderation_config else {"isEnabled": False})
        self.store.endpoints.put(Endpoint(
            id=endpoint_id,
            display_name=d.display_name or f"endpoint{time.strftime('%Y%m%d%H%M%S')}",
            description=d.description,
            model_id=d.model_id,
            compartment_id=d.compartment_id,
            dedicated_ai_cluster_id=d.dedicated_ai_cluster_id,
            time_created=rfc3339(now),
            time_updated=rfc3339(now),
            lifecycle_state="CREATING",
            lifecycle_details="Creating endpoint.",
            content_moderation_config=moderation,
            freeform_tags=d.freeform_tags,
            defined_tags=d.defined_tags,
            emu=EndpointState(ready_at=ready, wr=wr_id, base_name=spec.name,
                              share_key=share_key),
        ))
        return endpoint_id, wr_id

    def _hosting_key(self, model_id: str, spec: BaseModelSpec) -> str:
        """Endpoints on one hosting cluster must agree on this (OCI's sharing rule)."""
        model = self.store.models.get(model_id)
        if model is None:
            return f"base:{model_id}"
        stackable = ("cohere.command", "cohere.command-light")
        if spec.name in stackable and model.training_method == "TFEW_TRAINING_CONFIG":
            return f"stack:{spec.name}"  # stack serving of T-Few versions
        return f"model:{model_id}"

    def get_endpoint(self, endpoint_id: str) -> Record:
        """``GetEndpoint``."""
        self._tick()
        endpoint: Endpoint = self._require(self.store.endpoints, endpoint_id)
        return endpoint.to_api()

    def list_endpoints(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListEndpoints`` (also filters by ``modelId``, which the REST API accepts)."""
        self._tick()
        with self.store.lock:
            items = [e.to_api() for e in self.store.endpoints.all()
                     if e.compartment_id == compartment_id]
        items = [e for e in items if matches(e, filters)
                 and (not filters.get("model_id") or e["modelId"] == filters["model_id"])]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def delete_endpoint(self, endpoint_id: str) -> str:
        """``DeleteEndpoint``."""
        self._tick()
        with self.store.lock:
            endpoint: Endpoint = self._require(self.store.endpoints, endpoint_id)
            if endpoint.lifecycle_state in GONE_STATES:
                raise incorrect_state(f"The endpoint is already {endpoint.lifecycle_state}.")
            return self._begin_delete(self.store.endpoints, endpoint, "DELETE_ENDPOINT",
                                      "GenerativeAiEndpoint", "endpoints")

    # ----------------------------------------------------------- work requests

    def _work_request(self, wr_id: str) -> WorkRequest:
        self._tick()
        wr: WorkRequest = self._require(self.store.workrequests, wr_id)
        return wr

    def get_work_request(self, wr_id: str) -> Record:
        """``GetWorkRequest``."""
        return self._work_request(wr_id).to_api()

    def list_work_requests(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListWorkRequests`` (newest first unless ``sort_order=ASC``)."""
        self._tick()
        with self.store.lock:
            items = [w.to_api() for w in self.store.workrequests.all()
                     if w.compartment_id == compartment_id]
        items = [
            w for w in items
            if (not filters.get("status") or w["status"] == filters["status"])
            and (not filters.get("work_request_id") or w["id"] == filters["work_request_id"])
            and (not filters.get("resource_id")
                 or any(r["identifier"] == filters["resource_id"] for r in w["resources"]))
        ]
        items.sort(key=lambda w: w["timeAccepted"], reverse=filters.get("sort_order") != "ASC")
        return items

    def work_request_errors(self, wr_id: str) -> list[Record]:
        """``ListWorkRequestErrors``."""
        return [e.model_dump(by_alias=True) for e in self._work_request(wr_id).emu.errors]

    def work_request_logs(self, wr_id: str) -> list[Record]:
        """``ListWorkRequestLogs``."""
        return [e.model_dump(by_alias=True) for e in self._work_request(wr_id).emu.logs]
