"""The bucket's documents read and written as strict typed records, and quarantine.

The bucket is the pipeline's database: status objects, reports and hand-offs are
pydantic models (:data:`shared.status.RECORD`: unknown keys refused, types strict on
read). :func:`read_record` raises :class:`MalformedRecord` for a document that does not
parse as its model; whoever isolates the work (the runtime for one event, the watcher
for one dataset) hands it to :func:`quarantine`, which records it once under
``quarantine/`` with the parse error and an exact copy of its bytes, and carries on.
A malformed document is never retried, never dead-lettered and never stops another
dataset; ``ocift status`` and the web page list the quarantine (:func:`quarantined`).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from shared import logs, naming
from shared.settings import Settings
from shared.status import RECORD, utcnow
from shared.storage import ObjectStore, PreconditionFailed

log = logs.get_logger("ocift.records")

M = TypeVar("M", bound=BaseModel)

#: A quarantine record keeps at most this many bytes of the document (status objects,
#: reports and hand-offs are a few KiB; anything larger is summarised by size and hash).
MAX_COPY_BYTES = 256 * 1024


class MalformedRecord(Exception):
    """A bucket document that does not parse as its record type."""

    def __init__(self, name: str, etag: str, error: str, content: bytes) -> None:
        super().__init__(f"{name} is not a valid record: {error}")
        self.name = name
        self.etag = etag
        self.error = error
        self.content = content


def _first_error(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}"
                 for e in errors[:3]]
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return "; ".join(parts) + more
    return str(exc)


def parse_record(model: type[M], name: str, etag: str, content: bytes) -> M:
    """``content`` as ``model`` (strict JSON), or :class:`MalformedRecord` naming the problem."""
    try:
        return model.model_validate_json(content, strict=True)
    except ValidationError as exc:
        raise MalformedRecord(name, etag, _first_error(exc), content) from None


def read_record(store: ObjectStore, name: str, model: type[M]) -> tuple[M, str] | None:
    """The record at ``name`` and its ETag, ``None`` when absent, :class:`MalformedRecord`
    when it does not parse."""
    got = store.read_bytes(name)
    if got is None:
        return None
    content, etag = got
    return parse_record(model, name, etag, content), etag


def write_record(store: ObjectStore, name: str, record: BaseModel, **conditions: Any) -> str:
    """Write ``record`` as JSON at ``name`` (``conditions``: ``if_match`` / ``if_none_match``)."""
    return store.put_json(name, record.model_dump(mode="json"), **conditions)


class QuarantineRecord(BaseModel):
    """A document that did not parse: where it is, why, and an exact copy of it."""

    model_config = RECORD

    object: str
    etag: str
    error: str
    seen_by: str
    time: datetime = Field(default_factory=utcnow)
    size: int
    sha256: str
    content_base64: str | None = None  # the document's bytes, up to MAX_COPY_BYTES

    @property
    def content(self) -> bytes | None:
        return base64.b64decode(self.content_base64) if self.content_base64 else None


def quarantine_object(settings: Settings, name: str) -> str:
    return f"{settings.quarantine_prefix}{name}.json"


def quarantine(store: ObjectStore, settings: Settings, bad: MalformedRecord,
               seen_by: str) -> bool:
    """Record ``bad`` once per version (True when this call wrote the record).

    The document itself is left as it is; the record keeps a copy, so a stage that later
    rewrites the document (reconcile rebuilding a status) loses nothing.
    """
    name = quarantine_object(settings, bad.name)
    try:
        existing = read_record(store, name, QuarantineRecord)
    except MalformedRecord:
        existing = None  # a broken quarantine record is simply replaced
    if existing is not None and existing[0].etag == bad.etag:
        return False
    record = QuarantineRecord(
        object=bad.name, etag=bad.etag, error=bad.error[:2000], seen_by=seen_by,
        size=len(bad.content), sha256=hashlib.sha256(bad.content).hexdigest(),
        content_base64=(base64.b64encode(bad.content).decode("ascii")
                        if len(bad.content) <= MAX_COPY_BYTES else None))
    try:
        write_record(store, name, record,
                     **({"if_match": existing[1]} if existing else {"if_none_match": "*"}))
    except PreconditionFailed:
        return False  # another stage recorded it at the same moment
    log.warning("malformed record quarantined", extra={"object": bad.name, "etag": bad.etag,
                                                       "error": bad.error[:300]})
    return True


def document_dataset(settings: Settings, name: str) -> str | None:
    """The dataset a status, report or hand-off document belongs to (None for others)."""
    if name.startswith(settings.handoff_prefix):
        stage, _, rest = name[len(settings.handoff_prefix):].partition("/")
        return naming.handoff_dataset(settings, stage, name) if rest else None
    return (naming.dataset_of(settings, name)
            or naming.evaluation_report_dataset(settings, name)
            or naming.dataset_from_object(name, settings.reports_prefix, (".json",)))


def quarantined(store: ObjectStore, settings: Settings) -> list[QuarantineRecord]:
    """Every quarantine record whose document is still in the bucket at the same version."""
    records: list[QuarantineRecord] = []
    for name in store.list_names(settings.quarantine_prefix):
        try:
            got = read_record(store, name, QuarantineRecord)
        except MalformedRecord:
            continue
        if got is None:
            continue
        record = got[0]
        info = store.head(record.object)
        if info is not None and info.etag == record.etag:
            records.append(record)
    return records
