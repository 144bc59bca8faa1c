"""OCI Generative AI operations of the pipeline: base model, clusters, method, model, endpoint.

Rules (from the OCI Generative AI documentation, "Dedicated AI Cluster for
the Model" and "Fine-Tuning Hyperparameters"):

* the base model is resolved by name (``list_models`` with capability
  ``FINE_TUNE``), never by a hard-coded OCID;
* each base model family needs a fine-tuning cluster of a fixed shape and unit
  count, and is hosted on its own shape; custom models of one hosting cluster
  must be the same model (no fine-tunable family of today stacks versions);
* every create carries a deterministic ``opc-retry-token`` and freeform tags,
  so a re-delivered event finds (by tags) or dedups (by token) earlier work.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared import families, naming, tags
from shared.errors import PermanentError as PermanentError  # re-exported: the stages raise it
from shared.families import Family
from shared.jobspec import EffectiveSpec
from shared.lifecycle import LIVE, REMOVED, Lifecycle
from shared.settings import Settings, TrainingMethod

FINE_TUNING = "FINE_TUNING"
HOSTING = "HOSTING"


# -- call counting --------------------------------------------------------------------------


@dataclass
class CallCounter:
    """Counts API calls per operation (thread-safe)."""

    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)


class CountingClient:
    """Wraps an ``oci`` client; every public method call is counted in ``counter``."""

    def __init__(self, client: Any, counter: CallCounter, prefix: str = "") -> None:
        self._client = client
        self._counter = counter
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counter.add(f"{self._prefix}{name}")
            return attr(*args, **kwargs)

        return counted


# -- base model families (the table is shared.families) ----------------------------------------


def family_of(base_model: str, key: str = "OCIFT_BASE_MODEL") -> Family:
    """The fine-tunable family of ``base_model``; PermanentError (naming ``key``) if none."""
    found = families.lookup(base_model)
    if found is None or not found.fine_tunable:
        known = ", ".join(f.models[0] for f in families.fine_tunable())
        raise PermanentError(f"{key}={base_model}: base model {base_model!r} is not a model "
                             "OCI offers for "
                             f"fine-tuning today ({known}; see {families.FAMILIES[0].source})")
    return found


def choose_method(job: EffectiveSpec, family: Family, examples: int,
                  vanilla_threshold: int) -> TrainingMethod:
    """The job's method, or ``auto``: T-Few below the threshold, Vanilla at or above
    where the family allows it, LoRA where it is the family's only method."""
    wanted = job.training_method
    if wanted is not TrainingMethod.AUTO:
        if wanted not in family.methods:
            raise PermanentError(
                f"{job.key('training_method')}={wanted.value}: training method {wanted.value} "
                f"is not supported for {family.models[0]}; supported: "
                f"{', '.join(m.value for m in family.methods)} ({families.METHOD_URL})")
        return wanted
    if family.methods == (TrainingMethod.LORA,):
        return TrainingMethod.LORA
    if examples >= vanilla_threshold and TrainingMethod.VANILLA in family.methods:
        return TrainingMethod.VANILLA
    return TrainingMethod.TFEW


def check_hyperparameters(job: EffectiveSpec, family: Family, method: TrainingMethod) -> None:
    """PermanentError (key, value, OCI's documented range and page) for a value CreateModel
    would refuse."""
    try:
        families.check_hyperparameters(family, method, job.hyperparameters(), key=job.key)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None


def training_config(job: EffectiveSpec, family: Family, method: TrainingMethod) -> Any:
    """The SDK training config for ``method`` with the job's hyperparameters (OCI's per-method
    defaults where the job sets none)."""
    from oci.generative_ai import models as m

    check_hyperparameters(job, family, method)
    common: dict[str, Any] = {
        "total_training_epochs": job.epochs,
        "learning_rate": job.learning_rate or family.learning_rate[method],
        "training_batch_size": job.batch_size or family.batch_size[method],
        "early_stopping_patience": job.early_stopping_patience,
    }
    if job.early_stopping_threshold is not None:
        common["early_stopping_threshold"] = job.early_stopping_threshold
    if method is TrainingMethod.TFEW:
        return m.TFewTrainingConfig(**common)
    if method is TrainingMethod.VANILLA:
        return m.VanillaTrainingConfig(**common)
    lora = {"lora_r": job.lora_r, "lora_alpha": job.lora_alpha, "lora_dropout": job.lora_dropout}
    return m.LoraTrainingConfig(**common, **{k: v for k, v in lora.items() if v is not None})


# -- listing helpers ---------------------------------------------------------------------------


def list_all(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Every item of a paged GenAI list call (``.data.items`` + ``opc-next-page``)."""
    page: str | None = None
    while True:
        if page:
            kwargs["page"] = page
        resp = call(*args, **kwargs)
        data = resp.data
        yield from (data.items if hasattr(data, "items") else data)
        page = resp.headers.get("opc-next-page") if resp.headers else None
        if not page:
            return


@dataclass(frozen=True)
class BaseModelRef:
    id: str
    name: str
    model: Any = None  # the SDK ModelSummary: its retirement dates decide (base_model_lifecycle)


def resolve_base_model(client: Any, settings: Settings,
                       job: EffectiveSpec | None = None) -> BaseModelRef:
    """The fine-tunable base model the job names (``OCIFT_BASE_MODEL`` by default; ACTIVE
    preferred).

    A listed model that is no longer ACTIVE is returned too: ``shared.base_model_lifecycle``
    turns it into a refusal that names its retirement date and replacement.
    """
    settings.require("compartment_id")
    name = job.base_model if job is not None else settings.base_model
    key = job.key("base_model") if job is not None else "OCIFT_BASE_MODEL"
    found: list[Any] = []
    for item in list_all(client.list_models, settings.compartment_id, capability=["FINE_TUNE"],
                         display_name=name):
        if (item.display_name == name and "FINE_TUNE" in (item.capabilities or [])
                and item.lifecycle_state not in REMOVED
                and getattr(item, "type", "BASE") in ("BASE", None)):
            found.append(item)
    if found:
        best = next((i for i in found if i.lifecycle_state == Lifecycle.ACTIVE), found[0])
        return BaseModelRef(id=best.id, name=name, model=best)
    raise PermanentError(f"{key}={name}: base model {name!r} not found (FINE_TUNE) in this "
                         f"region; set {key} to a fine-tunable model "
                         f"({', '.join(f.models[0] for f in families.fine_tunable())})")


def base_model(client: Any, settings: Settings, model_id: str | None, name: str) -> Any:
    """The base model's SDK summary, for its lifecycle dates: found by ListModels in the
    pipeline's compartment, as the train stage finds it (the same grant covers both)."""
    settings.require("compartment_id")
    found = [item for item in list_all(client.list_models, settings.compartment_id,
                                       display_name=name)
             if item.display_name == name and getattr(item, "type", "BASE") in ("BASE", None)]
    if found:
        return next((i for i in found if i.id == model_id), found[0])
    raise PermanentError(f"base model {name!r} is no longer listed by OCI in this region; "
                         f"models of today: {', '.join(f.models[0] for f in families.FAMILIES)}")


# -- clusters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterRef:
    id: str
    state: str

    @property
    def active(self) -> bool:
        return self.state == Lifecycle.ACTIVE


def cluster_tags(settings: Settings, kind: str, family: Family,
                 model_id: str | None = None) -> dict[str, str]:
    role = tags.ROLE_FINETUNING_CLUSTER if kind == FINE_TUNING else tags.ROLE_HOSTING_CLUSTER
    return tags.pipeline_tags(settings.pipeline_name, role, model_family=family.key,
                              model_id=model_id)


def cluster_shape(settings: Settings, kind: str, family: Family) -> tuple[str, int]:
    """``(unit shape, units)`` of a cluster of ``kind`` the pipeline would create for
    ``family`` (a fine-tuning cluster's count is fixed by OCI; there is no setting for it)."""
    if kind == FINE_TUNING:
        return family.finetuning_shape, family.finetuning_units
    return family.hosting_shape, settings.hosting_cluster_units


def find_cluster(client: Any, settings: Settings, kind: str, family: Family,
                 model_id: str | None = None) -> tuple[ClusterRef | None, int]:
    """The configured or tagged cluster of ``kind`` that ``ensure_cluster`` would use, and how
    many failed/deleted ones of ours were seen. Reads only: ``ocift plan`` and the approval
    plan ask this same question before anything is created."""
    settings.require("compartment_id")
    configured = settings.finetuning_cluster_id if kind == FINE_TUNING \
        else settings.hosting_cluster_id
    if configured:
        cluster = client.get_dedicated_ai_cluster(configured).data
        if cluster.type != kind:
            raise PermanentError(f"configured cluster {configured} is {cluster.type}, not {kind}")
        return ClusterRef(cluster.id, cluster.lifecycle_state), 0
    shape, units = cluster_shape(settings, kind, family)
    wanted = cluster_tags(settings, kind, family, model_id)
    best: ClusterRef | None = None
    dead = 0  # failed/deleted clusters of ours: a fresh retry token makes a new one
    for item in list_all(client.list_dedicated_ai_clusters, settings.compartment_id):
        if not (item.type == kind and item.unit_shape == shape and item.unit_count == units
                and all((item.freeform_tags or {}).get(k) == v for k, v in wanted.items())):
            continue
        if item.lifecycle_state not in LIVE:
            dead += 1
            continue
        ref = ClusterRef(item.id, item.lifecycle_state)
        if ref.active:
            return ref, dead
        best = best or ref
    return best, dead


def ensure_cluster(client: Any, settings: Settings, kind: str, family: Family,
                   model_id: str | None = None) -> ClusterRef:
    """Reuse the configured or tagged cluster of ``kind`` for ``family``, else create one.

    Never waits: the returned cluster may still be CREATING. Hosting clusters are
    per custom model (``model_id``) unless the family stacks T-Few versions.
    """
    found, dead = find_cluster(client, settings, kind, family, model_id)
    if found is not None:
        return found
    from oci.generative_ai import models as m

    shape, units = cluster_shape(settings, kind, family)
    wanted = cluster_tags(settings, kind, family, model_id)
    day = datetime.now(UTC).strftime("%Y-%m-%d")  # a deleted cluster is recreated next day
    token = naming.idempotency_key(settings.pipeline_name, kind, family.key, model_id or "",
                               settings.compartment_id or "", day, str(dead))
    name = f"{settings.pipeline_name}-{kind.lower().replace('_', '-')}-{family.key}"
    details = m.CreateDedicatedAiClusterDetails(
        compartment_id=settings.compartment_id, type=kind, unit_shape=shape, unit_count=units,
        display_name=naming.display_name(name), freeform_tags=wanted)
    cluster = client.create_dedicated_ai_cluster(details, opc_retry_token=token).data
    return ClusterRef(cluster.id, cluster.lifecycle_state)


def cluster_listed(client: Any, settings: Settings, cluster_id: str) -> bool:
    """True when the compartment's cluster listing shows ``cluster_id`` not yet deleted.

    The confirmation a 404 on GetDedicatedAiCluster needs before it means "gone"
    (shared/errors.py): a listing this function may make that lacks it (or shows it
    DELETED) is proof; the 404 alone may be a missing grant.
    """
    return any(item.id == cluster_id and item.lifecycle_state != Lifecycle.DELETED
               for item in list_all(client.list_dedicated_ai_clusters, settings.compartment_id))


def shares_hosting(family: Family, method: str | None) -> bool:
    """True when versions of a custom model may share one hosting cluster.

    OCI ("Model Limitations", https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm):
    a hosting cluster holds up to 50 endpoints, and they must all serve the same base
    model or the same version of one custom model ("endpoint aliases"), except "stack
    serving": several versions of a custom model on one cluster, documented only for
    ``cohere.command`` and ``cohere.command-light`` fine-tuned with T-Few. Every other
    family (command-r, Llama) gets a hosting cluster per custom model version.
    """
    return family.stackable_tfew and method == TrainingMethod.TFEW.value


# -- models ------------------------------------------------------------------------------------


def dataset_models(client: Any, settings: Settings, dataset: str) -> list[Any]:
    """Custom models this pipeline created for ``dataset`` (any version, not deleted)."""
    found = []
    for item in list_all(client.list_models, settings.compartment_id,
                         display_name=naming.display_name(dataset)):
        if (tags.matches(item.freeform_tags, pipeline=settings.pipeline_name,
                         role=tags.ROLE_MODEL, dataset=dataset)
                and item.lifecycle_state not in REMOVED):
            found.append(item)
    return found


def version_of(model: Any) -> int:
    try:
        return int(str(model.version))
    except (TypeError, ValueError):
        return 0


def create_model(client: Any, settings: Settings, *, dataset: str, source_object: str,
                 source_etag: str, base: BaseModelRef, cluster_id: str, method: TrainingMethod,
                 version: int, job: EffectiveSpec,
                 content_sha256: str | None = None) -> tuple[Any, str]:
    """CreateModel with tags and a retry token from the source object + ETag.

    Returns ``(model, work_request_id)``.
    """
    from oci.generative_ai import models as m

    family = family_of(base.name)
    details = m.CreateModelDetails(
        compartment_id=settings.compartment_id,
        base_model_id=base.id,
        display_name=naming.display_name(dataset),
        description=f"Fine-tuned by {settings.pipeline_name} from {source_object}",
        version=str(version),
        fine_tune_details=m.FineTuneDetails(
            training_dataset=m.ObjectStorageDataset(
                namespace_name=settings.namespace, bucket_name=settings.bucket,
                object_name=source_object),
            dedicated_ai_cluster_id=cluster_id,
            training_config=training_config(job, family, method)),
        freeform_tags=tags.pipeline_tags(
            settings.pipeline_name, tags.ROLE_MODEL, dataset=dataset,
            source_object=source_object, source_etag=source_etag, base_model=base.name,
            content_sha256=content_sha256, spec_sha256=job.digest(),
            content_moderation="true" if job.content_moderation else "false"),
    )
    resp = client.create_model(details, opc_retry_token=naming.idempotency_key(
        settings.pipeline_name, "train", source_object, source_etag))
    return resp.data, str(resp.headers.get("opc-work-request-id", ""))


# -- endpoints ---------------------------------------------------------------------------------


def model_endpoint(client: Any, settings: Settings, dataset: str, model_id: str) -> Any | None:
    """The live endpoint this pipeline created for ``model_id``, if any."""
    return model_endpoints(client, settings, dataset, model_id)[0]


def model_endpoints(client: Any, settings: Settings, dataset: str,
                    model_id: str) -> tuple[Any | None, int]:
    """``(the live endpoint for model_id or None, how many of its endpoints are gone)``.

    The count goes into the next create's retry token: "Retry tokens expire after 24
    hours, but can be invalidated before then due to conflicting operations. For example,
    if a resource has been deleted and purged from the system, then a retry of the
    original creation request might be rejected" (opc-retry-token of the OCI SDK's create
    requests, e.g. https://docs.oracle.com/en-us/iaas/tools/dotnet/90.4.0/api/
    Oci.OpaService.Requests.CreateOpaInstanceRequest.html): after ``ocift down`` the
    model's first token answers with (or is refused for) the deleted endpoint.
    """
    gone = 0
    for item in list_all(client.list_endpoints, settings.compartment_id,
                         display_name=naming.display_name(dataset)):
        if not tags.matches(item.freeform_tags, pipeline=settings.pipeline_name,
                            role=tags.ROLE_ENDPOINT, model_id=model_id):
            continue
        if item.lifecycle_state in LIVE:
            return item, gone
        gone += 1
    return None, gone


def create_endpoint(client: Any, settings: Settings, *, dataset: str, model: Any,
                    cluster_id: str, content_moderation: bool | None = None,
                    gone: int = 0) -> Any:
    """CreateEndpoint for ``model`` with moderation from the job (the status's, else the
    model's tag, else settings) and a token from its id and ``gone`` (its deleted
    endpoints)."""
    from oci.generative_ai import models as m

    model_tags = dict(model.freeform_tags or {})
    if content_moderation is None:
        tagged = model_tags.get(tags.CONTENT_MODERATION)
        content_moderation = (tagged == "true" if tagged in ("true", "false")
                              else settings.content_moderation)
    endpoint_tags = {k: v for k, v in model_tags.items() if k.startswith("ocift-")}
    endpoint_tags.update(tags.pipeline_tags(settings.pipeline_name, tags.ROLE_ENDPOINT,
                                            model_id=model.id))
    details = m.CreateEndpointDetails(
        compartment_id=settings.compartment_id, model_id=model.id,
        dedicated_ai_cluster_id=cluster_id, display_name=naming.display_name(dataset),
        description=f"Serves {settings.pipeline_name} model for {dataset}",
        content_moderation_config=m.ContentModerationConfig(
            is_enabled=content_moderation),
        freeform_tags=endpoint_tags)
    token = naming.idempotency_key(settings.pipeline_name, "endpoint", model.id,
                                   *((str(gone),) if gone else ()))
    return client.create_endpoint(details, opc_retry_token=token).data
