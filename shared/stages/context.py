"""What every stage step works with: settings, the bucket, the GenAI client, the status object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared import clients, genai, logs, naming
from shared.settings import Settings
from shared.status import DatasetState, DatasetStatus
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
    """``status/<dataset>.json`` and its ETag, or None when there is none."""
    got = ctx.store.read_json(naming.status_object(ctx.settings, dataset))
    if got is None:
        return None
    doc, etag = got
    return DatasetStatus.model_validate(doc), etag


def write_status(ctx: StageContext, status: DatasetStatus, etag: str | None) -> str | None:
    """Write conditionally on ``etag`` (create-only when None); None if someone else won."""
    name = naming.status_object(ctx.settings, status.dataset)
    try:
        return ctx.store.put_json(name, status.model_dump(mode="json"),
                                  if_match=etag or None, if_none_match=None if etag else "*")
    except PreconditionFailed:
        log.info("status object changed under us; leaving it", extra={"status": name})
        return None


def next_status(current: StatusRead | None, dataset: str, state: DatasetState, detail: str = "",
                **changes: Any) -> tuple[DatasetStatus, str | None]:
    """The status moved to ``state`` (a fresh one when there is none) and the ETag to write on."""
    if current is None:
        fresh = DatasetStatus(dataset=dataset, state=state)
        return fresh.moved_to(state, detail or "created", **changes), None
    status, etag = current
    return status.moved_to(state, detail, **changes), etag
