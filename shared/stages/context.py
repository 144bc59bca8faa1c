"""What every stage step works with: settings, the bucket, the GenAI client, the status object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared import clients, genai, logs, naming, tags
from shared.handoff import hand_off
from shared.records import read_record, write_record
from shared.reports import DatasetReport
from shared.settings import Settings, Stage
from shared.status import MODEL_STATE_TO_DATASET, DatasetState, DatasetStatus
from shared.storage import ObjectStore, PreconditionFailed, namespace_of

log = logs.get_logger("ocift.stages")

#: A status object as read: the document and the ETag to write it back with.
StatusRead = tuple[DatasetStatus, str]


@dataclass
class StageContext:
    """Settings, the pipeline bucket and a (lazily built) GenAI client, every call counted."""

    settings: Settings
    store: ObjectStore
    counter: genai.CallCounter = field(default_factory=genai.CallCounter)
    genai_client: Any = None  # built on first use of :attr:`genai` unless given

    @property
    def genai(self) -> Any:
        """The Generative AI client; built on first use (convert never pays for it)."""
        if self.genai_client is None:
            self.genai_client = genai.CountingClient(clients.generative_ai(self.settings),
                                                     self.counter, "genai.")
        return self.genai_client


def context_for(settings: Settings, counter: genai.CallCounter | None = None) -> StageContext:
    """Clients for ``settings``; the namespace is the configured one (or the tenancy's),
    never an event's."""
    counter = counter or genai.CallCounter()
    os_client = genai.CountingClient(clients.object_storage(settings), counter, "objectstorage.")
    ns = namespace_of(os_client, settings.namespace)
    if settings.namespace != ns:
        settings = settings.model_copy(update={"namespace": ns})
    return StageContext(settings=settings, store=ObjectStore(os_client, ns, settings.bucket),
                        counter=counter)


def read_status(ctx: StageContext, dataset: str) -> StatusRead | None:
    """``status/<dataset>.json`` and its ETag, or None when there is none.

    A document that is not a valid status raises :class:`~shared.records.MalformedRecord`
    (the runtime or the watcher quarantines it).
    """
    return read_record(ctx.store, naming.status_object(ctx.settings, dataset), DatasetStatus)


def read_report(ctx: StageContext, dataset: str) -> tuple[DatasetReport, str] | None:
    """``reports/<dataset>.json`` typed, or None; MalformedRecord when it does not parse."""
    return read_record(ctx.store, naming.report_object(ctx.settings, dataset), DatasetReport)


def write_status(ctx: StageContext, status: DatasetStatus, etag: str | None) -> str | None:
    """Write conditionally on ``etag`` (create-only when None); None if someone else won."""
    name = naming.status_object(ctx.settings, status.dataset)
    try:
        return write_record(ctx.store, name, status,
                            **({"if_match": etag} if etag else {"if_none_match": "*"}))
    except PreconditionFailed:
        log.info("status object changed under us; leaving it", extra={"status": name})
        return None


def next_status(current: StatusRead | None, dataset: str, state: DatasetState, detail: str = "",
                **changes: Any) -> tuple[DatasetStatus, str | None]:
    """The status moved to ``state`` (a fresh one when there is none) and the ETag to write on."""
    if current is None:
        return DatasetStatus.started(dataset, state, detail, **changes), None
    status, etag = current
    return status.moved_to(state, detail, **changes), etag


def rebuild_from_model(ctx: StageContext, dataset: str, model: Any,
                       current: StatusRead | None, *, overwrite_etag: str | None = None,
                       detail: str = "rebuilt from the model's tags") -> str | None:
    """Make the status object describe ``model`` (from its tags) if it does not.

    ``overwrite_etag`` replaces a quarantined (unparseable) status at that version.
    """
    if current is not None and current[0].model_id == model.id:
        return current[1]
    model_tags = model.freeform_tags or {}
    state = MODEL_STATE_TO_DATASET.get(str(model.lifecycle_state), DatasetState.TRAINING)
    changes: dict[str, Any] = {
        "model_id": model.id, "model_version": str(model.version),
        "model_state": str(model.lifecycle_state),
        "source_object": model_tags.get(tags.SOURCE_OBJECT),
        "source_etag": model_tags.get(tags.SOURCE_ETAG),
        "base_model": model_tags.get(tags.BASE_MODEL),
        "base_model_id": getattr(model, "base_model_id", None) or None,
        "content_sha256": model_tags.get(tags.CONTENT_SHA256) or None,
        "finetuning_cluster_id": getattr(getattr(model, "fine_tune_details", None),
                                         "dedicated_ai_cluster_id", None),
    }
    if state is DatasetState.MODEL_FAILED:
        changes["reason"] = model.lifecycle_details or "training failed"
    new, etag = next_status(current, dataset, state, detail, **changes)
    return write_status(ctx, new, etag or overwrite_etag)


def hand_to(ctx: StageContext, stage: Stage, status: DatasetStatus, status_etag: str | None,
            reason: str) -> str:
    """Wake ``stage`` for ``status``'s dataset with one hand-off object (see shared.handoff)."""
    return hand_off(ctx.store, ctx.settings, stage, status.dataset, status.state, reason,
                    status_etag)
