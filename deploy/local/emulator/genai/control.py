"""Generative AI control plane: dedicated AI clusters, models, endpoints, work requests.

Plain Python (no HTTP): :mod:`routes` binds it to the REST paths. State
changes that OCI makes in the background (CREATING -> ACTIVE, DELETING ->
DELETED) are applied lazily against stored deadlines, so they survive a
restart; fine-tuning runs in a background thread per model and is resumed
(from scratch) for models still CREATING when the emulator starts.

OCI Generative AI emits no OCI Events, and neither does this emulation: state
is visible only through the API (lifecycle states and work requests).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from deploy.local.emulator.genai import hyperparams
from deploy.local.emulator.genai.catalog import (
    BY_NAME,
    CATALOGUE,
    ENDPOINTS_PER_HOSTING_UNIT,
    BaseModelSpec,
)
from deploy.local.emulator.genai.config import FAIL_TRAINING_TAG, GenAiConfig
from deploy.local.emulator.genai.dataset import DatasetRejected, Pair, parse_training_jsonl
from deploy.local.emulator.genai.errors import (
    GenAiError,
    conflict,
    incorrect_state,
    invalid_parameter,
    not_found,
)
from deploy.local.emulator.genai.requests import (
    CreateDedicatedAiClusterDetails,
    CreateEndpointDetails,
    CreateModelDetails,
    parse,
)
from deploy.local.emulator.genai.retrieval import RetrievalIndex
from deploy.local.emulator.genai.store import ResourceStore, write_json_atomic
from deploy.local.emulator.genai.timefmt import rfc3339
from deploy.local.emulator.genai.training import EpochResult, TrainingCancelled, fit

ObjectOpener = Callable[[str, str, str], BinaryIO]
"""Opens ``(namespace, bucket, object)`` from the emulated Object Storage; raises if absent."""

Record = dict[str, Any]

LIVE_ENDPOINT_STATES = ("CREATING", "ACTIVE", "UPDATING", "DELETING")


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
        self._open_object = open_object
        self._stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._indexes: dict[str, RetrievalIndex] = {}
        self._base_by_id = {self.base_model_id(spec.name): spec for spec in CATALOGUE}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Resume fine-tuning for every model left CREATING by a previous run."""
        self._stopping.clear()
        with self.store.lock:
            pending = [m["id"] for m in self.store.all("models")
                       if m["lifecycleState"] == "CREATING"]
        for model_id in pending:
            self._launch_training(model_id)

    def stop(self) -> None:
        """Stop training threads (their models stay CREATING and resume on restart)."""
        self._stopping.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=10)
        self._threads.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for running trainings to end (test helper); True if all ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads.values())

    # ------------------------------------------------------------------ helpers

    def _ocid(self, kind: str) -> str:
        return f"ocid1.{kind}.oc1.{self.region}.amaaaaaa{secrets.token_hex(26)}"

    def base_model_id(self, name: str) -> str:
        """The stable (per state dir) OCID of a catalogue base model."""
        digest = hashlib.sha256(f"{self.store.salt}:{name}".encode()).hexdigest()[:52]
        return f"ocid1.generativeaimodel.oc1.{self.region}.amaaaaaa{digest}"

    def base_spec(self, model_id: str) -> BaseModelSpec | None:
        """The catalogue entry for a base model OCID, or None."""
        return self._base_by_id.get(model_id)

    def spec_of(self, model: Record) -> BaseModelSpec:
        """The base model family of a (base or custom) model record."""
        if model.get("type") == "BASE":
            return BY_NAME[model["displayName"]]
        return BY_NAME[model["_emu"]["baseName"]]

    @staticmethod
    def render(record: Record) -> Record:
        """The API view of a stored record (internal fields removed)."""
        return {k: copy.deepcopy(v) for k, v in record.items() if k != "_emu"}

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
            if seen and seen["expires"] > now:
                if seen["bodyHash"] != digest:
                    raise conflict(
                        "The opc-retry-token was already used with a different request body.")
                return seen["resourceId"], seen["workRequestId"]
            resource_id, wr_id = create()
            self.store.put_token(key, {
                "bodyHash": digest, "resourceId": resource_id, "workRequestId": wr_id,
                "expires": now + self.config.retry_token_ttl_seconds,
            }, now)
            return resource_id, wr_id

    def _new_work_request(
        self, operation: str, compartment_id: str, entity_type: str, resource_id: str,
        entity_uri: str, done_at: float | None,
    ) -> str:
        wr_id = self._ocid("generativeaiworkrequest")
        now = time.time()
        self.store.put("workrequests", {
            "id": wr_id,
            "operationType": operation,
            "status": "ACCEPTED",
            "compartmentId": compartment_id,
            "resources": [{
                "entityType": entity_type, "actionType": "IN_PROGRESS",
                "identifier": resource_id, "entityUri": entity_uri,
            }],
            "percentComplete": 0.0,
            "timeAccepted": rfc3339(now),
            "_emu": {"acceptedAt": now, "doneAt": done_at, "errors": [], "logs": []},
        })
        return wr_id

    def _log(self, wr: Record, message: str) -> None:
        wr["_emu"]["logs"].append({"message": message, "timestamp": rfc3339()})

    def _finish_wr(self, wr_id: str, *, ok: bool, action: str, error: str | None = None,
                   code: str = "InternalError") -> None:
        wr = self.store.get("workrequests", wr_id)
        if wr is None:
            return
        now = rfc3339()
        wr["status"] = "SUCCEEDED" if ok else "FAILED"
        if ok:
            wr["percentComplete"] = 100.0
        wr.setdefault("timeStarted", now)
        wr["timeFinished"] = now
        for resource in wr["resources"]:
            resource["actionType"] = action
        if error:
            wr["_emu"]["errors"].append({"code": code, "message": error, "timestamp": now})
        self.store.put("workrequests", wr)

    def _cancel_wr(self, wr_id: str, reason: str) -> None:
        wr = self.store.get("workrequests", wr_id)
        if wr is None or wr["status"] not in ("ACCEPTED", "IN_PROGRESS"):
            return
        wr["status"] = "CANCELED"
        wr["timeFinished"] = rfc3339()
        self._log(wr, reason)
        self.store.put("workrequests", wr)

    def _tick(self) -> None:
        """Apply background transitions whose deadline has passed."""
        now = time.time()
        with self.store.lock:
            for kind in ("clusters", "endpoints", "models"):
                for rec in self.store.all(kind):
                    state, ready = rec["lifecycleState"], rec["_emu"].get("readyAt")
                    if state not in ("CREATING", "DELETING") or ready is None:
                        continue
                    if kind == "models" and state == "CREATING":
                        continue  # the training thread owns it
                    wr_id = rec["_emu"]["wr"]
                    if now >= ready:
                        done = "ACTIVE" if state == "CREATING" else "DELETED"
                        rec["lifecycleState"] = done
                        rec["lifecycleDetails"] = None
                        rec["timeUpdated"] = rfc3339(now)
                        rec["_emu"]["readyAt"] = None
                        self.store.put(kind, rec)
                        action = "CREATED" if done == "ACTIVE" else "DELETED"
                        self._finish_wr(wr_id, ok=True, action=action)
                    else:
                        self._progress_wr(wr_id, now)

    def _progress_wr(self, wr_id: str, now: float) -> None:
        wr = self.store.get("workrequests", wr_id)
        if wr is None or wr["status"] not in ("ACCEPTED", "IN_PROGRESS"):
            return
        emu = wr["_emu"]
        span = max(1e-9, (emu["doneAt"] or now) - emu["acceptedAt"])
        pct = round(min(99.0, 100.0 * (now - emu["acceptedAt"]) / span), 1)
        if wr["status"] == "ACCEPTED":
            wr["status"], wr["timeStarted"] = "IN_PROGRESS", rfc3339(now)
        wr["percentComplete"] = pct
        self.store.put("workrequests", wr)

    def _require(self, kind: str, resource_id: str) -> Record:
        rec = self.store.get(kind, resource_id)
        if rec is None:
            raise not_found()
        return rec

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
            items += [self.render(m) for m in self.store.all("models")
                      if m["compartmentId"] == compartment_id]
        capabilities = filters.get("capability") or []
        items = [
            m for m in items
            if (not filters.get("vendor") or m["vendor"] == filters["vendor"])
            and all(c in m["capabilities"] for c in capabilities)
            and (not filters.get("lifecycle_state")
                 or m["lifecycleState"] == filters["lifecycle_state"])
            and (not filters.get("display_name") or m["displayName"] == filters["display_name"])
            and (not filters.get("id") or m["id"] == filters["id"])
        ]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def get_model(self, model_id: str) -> Record:
        """``GetModel`` for a base or custom model."""
        spec = self.base_spec(model_id)
        if spec is not None:
            return self._base_record(spec)
        self._tick()
        return self.render(self._require("models", model_id))

    def create_model(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateModel``: validate, persist CREATING, start fine-tuning."""
        details = parse(CreateModelDetails, body)
        self._tick()

        def create() -> tuple[str, str]:
            return self._create_model(details)

        model_id, wr_id = self._idempotent("CreateModel", retry_token, body, create)
        return self.get_model(model_id), wr_id

    def _create_model(self, details: CreateModelDetails) -> tuple[str, str]:
        spec = self.base_spec(details.base_model_id)
        if spec is None:
            if self.store.get("models", details.base_model_id) is not None:
                raise invalid_parameter(
                    "baseModelId must be a pretrained base model; fine-tuning a custom model "
                    "is not supported.")
            raise not_found()
        if "FINE_TUNE" not in spec.capabilities or spec.fine_tuning is None:
            raise invalid_parameter(f"Base model {spec.name} does not support fine-tuning.")
        ftd = details.fine_tune_details
        if ftd.training_dataset.dataset_type != "OBJECT_STORAGE":
            raise invalid_parameter("trainingDataset.datasetType must be OBJECT_STORAGE.")
        cluster = self._require("clusters", ftd.dedicated_ai_cluster_id)
        if cluster["type"] != "FINE_TUNING":
            raise invalid_parameter("The dedicated AI cluster is not a FINE_TUNING cluster.")
        if cluster["lifecycleState"] != "ACTIVE":
            raise incorrect_state(
                f"The dedicated AI cluster is {cluster['lifecycleState']}, not ACTIVE.")
        need = spec.fine_tuning
        if (cluster["unitShape"], cluster["unitCount"]) != (need.shape, need.count):
            raise invalid_parameter(
                f"Base model {spec.name} needs a fine-tuning cluster of {need.count} "
                f"{need.shape} units; this cluster has {cluster['unitCount']} "
                f"{cluster['unitShape']}.")
        config = hyperparams.complete_config(spec, ftd.training_config)
        now = time.time()
        model_id = self._ocid("generativeaimodel")
        wr_id = self._new_work_request(
            "CREATE_MODEL", details.compartment_id, "GenerativeAiModel", model_id,
            f"/20231130/models/{model_id}", None)
        fine_tune = ftd.model_dump(by_alias=True, exclude_none=True)
        fine_tune["trainingConfig"] = config
        fail = (details.freeform_tags.get(FAIL_TRAINING_TAG, "").lower() == "true"
                or self.config.fail_training)
        self.store.put("models", {
            "id": model_id,
            "displayName": details.display_name or f"custom-{spec.name}-{int(now)}",
            "description": details.description,
            "compartmentId": details.compartment_id,
            "capabilities": spec.custom_capabilities,
            "lifecycleState": "CREATING",
            "lifecycleDetails": "Fine-tuning job accepted.",
            "vendor": details.vendor or spec.vendor,
            "version": details.version or "1.0",
            "timeCreated": rfc3339(now),
            "timeUpdated": rfc3339(now),
            "baseModelId": details.base_model_id,
            "type": "CUSTOM",
            "fineTuneDetails": fine_tune,
            "freeformTags": details.freeform_tags,
            "definedTags": details.defined_tags,
            "systemTags": {},
            "_emu": {"baseName": spec.name, "wr": wr_id, "failTraining": fail, "readyAt": None},
        })
        self._launch_training(model_id)
        return model_id, wr_id

    def delete_model(self, model_id: str) -> str:
        """``DeleteModel``: refused while an endpoint still serves the model."""
        if self.base_spec(model_id) is not None:
            raise GenAiError(400, "InvalidParameter", "Base models cannot be deleted.")
        self._tick()
        with self.store.lock:
            model = self._require("models", model_id)
            if model["lifecycleState"] in ("DELETING", "DELETED"):
                raise incorrect_state(f"The model is already {model['lifecycleState']}.")
            users = [e["id"] for e in self.store.all("endpoints")
                     if e["modelId"] == model_id and e["lifecycleState"] in LIVE_ENDPOINT_STATES]
            if users:
                raise conflict(f"The model is used by endpoint(s): {', '.join(users)}.")
            return self._begin_delete("models", model, "DELETE_MODEL", "GenerativeAiModel")

    def _begin_delete(self, kind: str, rec: Record, operation: str, entity: str) -> str:
        now = time.time()
        if kind == "models" and rec["lifecycleState"] == "CREATING":
            self._cancel_wr(rec["_emu"]["wr"], "The model was deleted during fine-tuning.")
        ready = now + self.config.provisioning_seconds
        wr_id = self._new_work_request(
            operation, rec["compartmentId"], entity, rec["id"],
            f"/20231130/{kind_path(kind)}/{rec['id']}", ready)
        rec["lifecycleState"] = "DELETING"
        rec["timeUpdated"] = rfc3339(now)
        rec["_emu"].update({"readyAt": ready, "wr": wr_id})
        self.store.put(kind, rec)
        self._tick()
        return wr_id

    # ---------------------------------------------------------------- training

    def _launch_training(self, model_id: str) -> None:
        thread = threading.Thread(
            target=self._train, args=(model_id,), name=f"genai-train-{model_id[-8:]}",
            daemon=True)
        self._threads[model_id] = thread
        thread.start()

    def _update(self, model_id: str, change: Callable[[Record, Record], None]) -> bool:
        """Apply ``change(model, work_request)`` if the model is still training."""
        with self.store.lock:
            model = self.store.get("models", model_id)
            if model is None or model["lifecycleState"] != "CREATING":
                return False
            wr = self.store.get("workrequests", model["_emu"]["wr"])
            assert wr is not None
            change(model, wr)
            model["timeUpdated"] = rfc3339()
            self.store.put("models", model)
            self.store.put("workrequests", wr)
            return True

    def _fail_training(self, model_id: str, reason: str, code: str) -> None:
        def change(model: Record, wr: Record) -> None:
            model["lifecycleState"] = "FAILED"
            model["lifecycleDetails"] = reason
            self._log(wr, reason)

        if self._update(model_id, change):
            wr_id = self.store.get("models", model_id)["_emu"]["wr"]  # type: ignore[index]
            self._finish_wr(wr_id, ok=False, action="FAILED", error=reason, code=code)

    def _train(self, model_id: str) -> None:
        model = self.store.get("models", model_id)
        if model is None:
            return
        dataset = model["fineTuneDetails"]["trainingDataset"]
        config = model["fineTuneDetails"]["trainingConfig"]
        where = f"{dataset['namespaceName']}/{dataset['bucketName']}/{dataset['objectName']}"

        def started(model: Record, wr: Record) -> None:
            wr["status"] = "IN_PROGRESS"
            wr["timeStarted"] = rfc3339()
            wr["percentComplete"] = 0.0
            self._log(wr, "Validating the training dataset.")
            model["lifecycleDetails"] = "Validating the training dataset."

        if not self._update(model_id, started):
            return
        try:
            pairs = self._read_dataset(dataset)
        except DatasetRejected as exc:
            self._fail_training(model_id, f"Training dataset {where} is invalid: {exc}",
                                "InvalidTrainingData")
            return
        except Exception:  # any read failure means the object is unusable
            self._fail_training(
                model_id, f"Training dataset {where} was not found or cannot be read.",
                "TrainingDatasetNotFound")
            return
        epochs = int(config["totalTrainingEpochs"])

        def validated(model: Record, wr: Record) -> None:
            wr["percentComplete"] = 10.0
            self._log(wr, f"Dataset valid: {len(pairs)} examples. Training for up to "
                          f"{epochs} epoch(s).")
            model["lifecycleDetails"] = "Fine-tuning in progress."

        if not self._update(model_id, validated):
            return
        if model["_emu"].get("failTraining"):
            if not self._stopping.wait(self.config.seconds_per_epoch):
                self._fail_training(
                    model_id,
                    f"Fine-tuning failed: fault injected (freeform tag {FAIL_TRAINING_TAG} "
                    "or the emulator's fail_training switch).", "TrainingFailed")
            return

        def on_epoch(result: EpochResult) -> bool:
            if self._stopping.wait(self.config.seconds_per_epoch):
                return False

            def progress(model: Record, wr: Record) -> None:
                wr["percentComplete"] = round(10.0 + 85.0 * result.epoch / epochs, 1)
                self._log(wr, f"Epoch {result.epoch}/{epochs}: validation accuracy "
                              f"{result.accuracy:.4f}, loss {result.loss:.4f}.")

            return self._update(model_id, progress)

        try:
            outcome, index = fit(
                pairs, seed=model_id, epochs=epochs,
                patience=int(config["earlyStoppingPatience"]),
                threshold=float(config["earlyStoppingThreshold"]),
                validation_share=self.config.validation_share,
                max_validation=self.config.max_validation_queries, on_epoch=on_epoch)
        except TrainingCancelled:
            return
        write_json_atomic(self.store.artifact_path(model_id), {
            "modelId": model_id,
            "kind": "tfidf-retrieval",
            "completionWeight": index.completion_weight,
            "pairs": [[p.prompt, p.completion] for p in index.pairs],
        })
        self._indexes[model_id] = index  # warm: the first chat needs no rebuild
        metrics_type = ("CHAT_MODEL_METRICS" if "CHAT" in model["capabilities"]
                        else "TEXT_GENERATION_MODEL_METRICS")

        def finished(model: Record, wr: Record) -> None:
            model["lifecycleState"] = "ACTIVE"
            model["lifecycleDetails"] = (
                f"Fine-tuning completed after {outcome.epochs_run} epoch(s)"
                + (" (early stopping)" if outcome.stopped_early else "")
                + f"; {outcome.train_size} training / {outcome.validation_size} validation "
                "examples.")
            model["modelMetrics"] = {
                "modelMetricsType": metrics_type,
                "finalAccuracy": round(outcome.final_accuracy, 6),
                "finalLoss": round(outcome.final_loss, 6),
            }
            self._log(wr, model["lifecycleDetails"])

        if self._update(model_id, finished):
            self._finish_wr(model["_emu"]["wr"], ok=True, action="CREATED")

    def _read_dataset(self, dataset: Record) -> list[Pair]:
        stream = self._open_object(
            dataset["namespaceName"], dataset["bucketName"], dataset["objectName"])
        try:
            return parse_training_jsonl(
                _lines(stream), min_examples=self.config.min_examples,
                max_bytes=self.config.max_dataset_bytes)
        finally:
            stream.close()

    def index_for(self, model_id: str) -> RetrievalIndex | None:
        """The trained retrieval index of a custom model (cached), or None."""
        cached = self._indexes.get(model_id)
        if cached is not None:
            return cached
        path = self.store.artifact_path(model_id)
        if not path.exists():
            return None
        artifact = json.loads(path.read_text(encoding="utf-8"))
        index = RetrievalIndex([Pair(p, c) for p, c in artifact["pairs"]],
                               float(artifact["completionWeight"]))
        self._indexes[model_id] = index
        return index

    # ---------------------------------------------------------------- clusters

    def create_cluster(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateDedicatedAiCluster``."""
        details = parse(CreateDedicatedAiClusterDetails, body)

        def create() -> tuple[str, str]:
            return self._create_cluster(details)

        cluster_id, wr_id = self._idempotent("CreateDedicatedAiCluster", retry_token, body,
                                             create)
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
        cluster_id = self._ocid("generativeaidedicatedaicluster")
        wr_id = self._new_work_request(
            "CREATE_DEDICATED_AI_CLUSTER", d.compartment_id, "DedicatedAiCluster", cluster_id,
            f"/20231130/dedicatedAiClusters/{cluster_id}", ready)
        self.store.put("clusters", {
            "id": cluster_id,
            "displayName": d.display_name or f"dedicatedaicluster{time.strftime('%Y%m%d%H%M%S')}",
            "description": d.description,
            "type": d.type,
            "compartmentId": d.compartment_id,
            "timeCreated": rfc3339(now),
            "timeUpdated": rfc3339(now),
            "lifecycleState": "CREATING",
            "lifecycleDetails": "Provisioning dedicated AI cluster.",
            "unitCount": d.unit_count,
            "unitShape": d.unit_shape,
            "freeformTags": d.freeform_tags,
            "definedTags": d.defined_tags,
            "systemTags": {},
            "_emu": {"readyAt": ready, "wr": wr_id},
        })
        return cluster_id, wr_id

    def _render_cluster(self, rec: Record) -> Record:
        out = self.render(rec)
        if rec["type"] == "HOSTING":
            used = sum(1 for e in self.store.all("endpoints")
                       if e["dedicatedAiClusterId"] == rec["id"]
                       and e["lifecycleState"] in LIVE_ENDPOINT_STATES)
            out["capacity"] = {
                "capacityType": "HOSTING_CAPACITY",
                "totalEndpointCapacity": ENDPOINTS_PER_HOSTING_UNIT * rec["unitCount"],
                "usedEndpointCapacity": used,
            }
        return out

    def get_cluster(self, cluster_id: str) -> Record:
        """``GetDedicatedAiCluster``."""
        self._tick()
        with self.store.lock:
            return self._render_cluster(self._require("clusters", cluster_id))

    def list_clusters(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListDedicatedAiClusters``."""
        self._tick()
        with self.store.lock:
            items = [self._render_cluster(c) for c in self.store.all("clusters")
                     if c["compartmentId"] == compartment_id]
        items = [c for c in items if _matches(c, filters)]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def delete_cluster(self, cluster_id: str) -> str:
        """``DeleteDedicatedAiCluster``: 409 while it hosts endpoints or trains models."""
        self._tick()
        with self.store.lock:
            cluster = self._require("clusters", cluster_id)
            if cluster["lifecycleState"] in ("DELETING", "DELETED"):
                raise incorrect_state(f"The cluster is already {cluster['lifecycleState']}.")
            users = [e["id"] for e in self.store.all("endpoints")
                     if e["dedicatedAiClusterId"] == cluster_id
                     and e["lifecycleState"] in LIVE_ENDPOINT_STATES]
            users += [m["id"] for m in self.store.all("models")
                      if m["lifecycleState"] == "CREATING"
                      and m["fineTuneDetails"]["dedicatedAiClusterId"] == cluster_id]
            if users:
                raise conflict(
                    "The dedicated AI cluster still has endpoints or fine-tuning jobs: "
                    f"{', '.join(users)}. Delete them first.")
            return self._begin_delete("clusters", cluster, "DELETE_DEDICATED_AI_CLUSTER",
                                      "DedicatedAiCluster")

    # --------------------------------------------------------------- endpoints

    def create_endpoint(self, body: Any, retry_token: str | None) -> tuple[Record, str]:
        """``CreateEndpoint``."""
        details = parse(CreateEndpointDetails, body)
        self._tick()

        def create() -> tuple[str, str]:
            return self._create_endpoint(details)

        endpoint_id, wr_id = self._idempotent("CreateEndpoint", retry_token, body, create)
        return self.get_endpoint(endpoint_id), wr_id

    def _create_endpoint(self, d: CreateEndpointDetails) -> tuple[str, str]:
        model = self.get_model(d.model_id)
        if model["lifecycleState"] != "ACTIVE":
            raise incorrect_state(f"The model is {model['lifecycleState']}, not ACTIVE.")
        spec = self.spec_of(model if model["type"] == "BASE"
                            else self._require("models", d.model_id))
        if not {"CHAT", "TEXT_GENERATION"} & set(model["capabilities"]):
            raise invalid_parameter(f"Model {spec.name} cannot be served by chat or generateText.")
        cluster = self._render_cluster(self._require("clusters", d.dedicated_ai_cluster_id))
        if cluster["type"] != "HOSTING":
            raise invalid_parameter("The dedicated AI cluster is not a HOSTING cluster.")
        if cluster["lifecycleState"] != "ACTIVE":
            raise incorrect_state(
                f"The dedicated AI cluster is {cluster['lifecycleState']}, not ACTIVE.")
        if cluster["unitShape"] != spec.hosting.shape:
            raise invalid_parameter(
                f"Models based on {spec.name} are hosted on {spec.hosting.shape} clusters; "
                f"this cluster is {cluster['unitShape']}.")
        share_key = self._hosting_key(model, spec)
        for other in self.store.all("endpoints"):
            if (other["dedicatedAiClusterId"] == cluster["id"]
                    and other["lifecycleState"] in LIVE_ENDPOINT_STATES
                    and other["_emu"].get("shareKey") != share_key):
                raise invalid_parameter(
                    "The endpoints of a hosting cluster must all serve the same base model or "
                    "the same custom model (T-Few cohere.command models may be stacked); this "
                    f"cluster serves {other['modelId']}.")
        capacity = cluster["capacity"]
        if capacity["usedEndpointCapacity"] >= capacity["totalEndpointCapacity"]:
            raise conflict("The hosting cluster has no free endpoint capacity.")
        now = time.time()
        ready = now + self.config.provisioning_seconds
        endpoint_id = self._ocid("generativeaiendpoint")
        wr_id = self._new_work_request(
            "CREATE_ENDPOINT", d.compartment_id, "GenerativeAiEndpoint", endpoint_id,
            f"/20231130/endpoints/{endpoint_id}", ready)
        moderation = (d.content_moderation_config.model_dump(by_alias=True, exclude_none=True)
                      if d.content_moderation_config else {"isEnabled": False})
        self.store.put("endpoints", {
            "id": endpoint_id,
            "displayName": d.display_name or f"endpoint{time.strftime('%Y%m%d%H%M%S')}",
            "description": d.description,
            "modelId": d.model_id,
            "compartmentId": d.compartment_id,
            "dedicatedAiClusterId": d.dedicated_ai_cluster_id,
            "timeCreated": rfc3339(now),
            "timeUpdated": rfc3339(now),
            "lifecycleState": "CREATING",
            "lifecycleDetails": "Creating endpoint.",
            "contentModerationConfig": moderation,
            "freeformTags": d.freeform_tags,
            "definedTags": d.defined_tags,
            "systemTags": {},
            "_emu": {"readyAt": ready, "wr": wr_id, "baseName": spec.name,
                     "shareKey": share_key},
        })
        return endpoint_id, wr_id

    @staticmethod
    def _hosting_key(model: Record, spec: BaseModelSpec) -> str:
        """Endpoints on one hosting cluster must agree on this (OCI's sharing rule)."""
        if model["type"] == "BASE":
            return f"base:{model['id']}"
        method = model["fineTuneDetails"]["trainingConfig"]["trainingConfigType"]
        stackable = ("cohere.command", "cohere.command-light")
        if spec.name in stackable and method == "TFEW_TRAINING_CONFIG":
            return f"stack:{spec.name}"  # stack serving of T-Few versions
        return f"model:{model['id']}"

    def get_endpoint(self, endpoint_id: str) -> Record:
        """``GetEndpoint``."""
        self._tick()
        return self.render(self._require("endpoints", endpoint_id))

    def list_endpoints(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListEndpoints`` (also filters by ``modelId``, which the REST API accepts)."""
        self._tick()
        with self.store.lock:
            items = [self.render(e) for e in self.store.all("endpoints")
                     if e["compartmentId"] == compartment_id]
        items = [e for e in items if _matches(e, filters)
                 and (not filters.get("model_id") or e["modelId"] == filters["model_id"])]
        return sort_items(items, filters.get("sort_by"), filters.get("sort_order"))

    def delete_endpoint(self, endpoint_id: str) -> str:
        """``DeleteEndpoint``."""
        self._tick()
        with self.store.lock:
            endpoint = self._require("endpoints", endpoint_id)
            if endpoint["lifecycleState"] in ("DELETING", "DELETED"):
                raise incorrect_state(f"The endpoint is already {endpoint['lifecycleState']}.")
            return self._begin_delete("endpoints", endpoint, "DELETE_ENDPOINT",
                                      "GenerativeAiEndpoint")

    # ----------------------------------------------------------- work requests

    def get_work_request(self, wr_id: str) -> Record:
        """``GetWorkRequest``."""
        self._tick()
        return self.render(self._require("workrequests", wr_id))

    def list_work_requests(self, compartment_id: str, **filters: Any) -> list[Record]:
        """``ListWorkRequests`` (newest first unless ``sort_order=ASC``)."""
        self._tick()
        with self.store.lock:
            items = [self.render(w) for w in self.store.all("workrequests")
                     if w["compartmentId"] == compartment_id]
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
        self._tick()
        return copy.deepcopy(self._require("workrequests", wr_id)["_emu"]["errors"])

    def work_request_logs(self, wr_id: str) -> list[Record]:
        """``ListWorkRequestLogs``."""
        self._tick()
        return copy.deepcopy(self._require("workrequests", wr_id)["_emu"]["logs"])


def kind_path(kind: str) -> str:
    """REST collection name of a store kind."""
    return {"clusters": "dedicatedAiClusters", "models": "models",
            "endpoints": "endpoints"}[kind]


def _matches(item: Record, filters: dict[str, Any]) -> bool:
    return ((not filters.get("lifecycle_state")
             or item["lifecycleState"] == filters["lifecycle_state"])
            and (not filters.get("display_name")
                 or item["displayName"] == filters["display_name"])
            and (not filters.get("id") or item["id"] == filters["id"]))


def sort_items(items: list[Record], sort_by: str | None, sort_order: str | None) -> list[Record]:
    """OCI list ordering: timeCreated defaults to DESC, other keys to ASC."""
    key = sort_by or "timeCreated"
    if key not in ("timeCreated", "displayName", "lifecycleState"):
        raise invalid_parameter(f"Unsupported sortBy {key}.")
    order = sort_order or ("DESC" if key == "timeCreated" else "ASC")
    if order not in ("ASC", "DESC"):
        raise invalid_parameter(f"Unsupported sortOrder {order}.")
    return sorted(items, key=lambda item: (str(item.get(key) or ""), item["id"]),
                  reverse=order == "DESC")


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    yield from stream
