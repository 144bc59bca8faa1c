"""What a dataset *is*: the SHA-256 of its training JSONL, and who owns its name.

Content identity (issue 13): the converter hashes the JSONL bytes while it writes them
and records the digest in the report (``output_sha256``); the train stage hashes a
directly dropped JSONL while it validates it. The model is tagged with the digest it
was trained on (``ocift-content-sha256``), so an upload whose JSONL is byte-identical
to the one the dataset's current model was trained on is recorded as a duplicate of
that model instead of being trained again. (Object metadata cannot carry the digest of
a multipart upload: OCI fixes ``opc-meta-*`` at CreateMultipartUpload, before the bytes
are known, so the report and the model tag are where it lives.)

Name collisions: ``raw/coll.json`` and ``raw/coll.jsonl`` both name dataset ``coll``.
The raw object the dataset's report names owns the name while it exists; a different
raw object that maps to the same name is rejected, with a report of its own
(:func:`collision_report_object`) that names the owner. Nothing of the owner's
(report, JSONL, model) is touched. Deleting the owner hands the name over.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from shared import naming, tags
from shared.reports import DatasetReport
from shared.settings import Settings

COLLISION_SUFFIX = ".collision.json"


class HashingWriter:
    """Forwards ``write`` to ``inner`` and hashes every byte written."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._sha = hashlib.sha256()

    def write(self, data: Any) -> int:
        self._sha.update(data)
        return int(self.inner.write(data))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class HashingReader(io.RawIOBase):
    """A raw stream that hashes every byte read from ``inner``."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self._sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._sha.update(data)
        return n

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def same_job(model_tags: dict[str, str] | None, content_sha256: str, spec_sha256: str) -> bool:
    """True when a model (by its tags) was trained on this content with this job spec.

    The spec is part of the identity (issue 24): the same content with another spec is a
    new model version. A model tagged before specs existed has no spec tag and is not the
    same job.
    """
    found = model_tags or {}
    return (found.get(tags.CONTENT_SHA256) == content_sha256
            and found.get(tags.SPEC_SHA256) == spec_sha256)


def collision_report_object(settings: Settings, raw_name: str) -> str:
    """Where the rejection of ``raw_name`` (a name collision) is reported.

    ``reports/<raw name without the raw prefix>.collision.json``: unique per raw object
    and never a dataset's own report.
    """
    return f"{settings.reports_prefix}{raw_name[len(settings.raw_prefix):]}{COLLISION_SUFFIX}"


def name_owner(settings: Settings, dataset: str, raw_name: str,
               report: DatasetReport | None) -> str | None:
    """The other raw object that owns ``dataset`` per its report, if any (not yet checked
    for existence)."""
    if report is None or report.collision:
        return None
    owner = report.source_object
    if owner == raw_name:
        return None
    return owner if naming.raw_dataset(settings, owner) == dataset else None


def collision_report(dataset: str, raw_name: str, etag: str, owner: str) -> DatasetReport:
    message = (f"{raw_name} maps to dataset {dataset!r}, which {owner} already owns; "
               f"nothing was converted or overwritten. Rename the file, or delete {owner} "
               "first to replace the dataset.")
    return DatasetReport.refusal(dataset, raw_name, etag, "name_collision", message,
                                 collision=True, owner=owner)
