"""Where an uploaded file goes in the bucket: one rule for ``ocift upload`` and the web page."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from shared.naming import MAX_OBJECT_NAME_BYTES
from shared.settings import Settings

__all__ = ["MAX_OBJECT_NAME_BYTES", "BadUpload", "max_dataset_name_bytes", "object_name"]


class BadUpload(ValueError):
    """The file or name cannot be uploaded; the message says why and how to fix it."""


def object_name(settings: Settings, filename: str, name: str | None = None,
                training: bool = False) -> str:
    """The object name for ``filename``: ``raw/<name><suffix>`` or ``training/<name>.jsonl``.

    ``name`` defaults to the file's stem; a suffix outside ``OCIFT_RAW_SUFFIXES``
    becomes ``.json`` (the convert stage sniffs the format).
    """
    path = PurePosixPath(filename.replace("\\", "/"))
    dataset = name if name is not None else path.stem
    if not dataset or not dataset.strip():
        raise BadUpload("the dataset name is empty: give a file with a name or a name of its own")
    if any(unicodedata.category(ch) == "Cc" for ch in dataset):
        raise BadUpload(f"the dataset name {dataset!r} contains control characters; "
                        "use printable characters only")
    if dataset.startswith("/") or ".." in dataset.split("/"):
        raise BadUpload(f"the dataset name {dataset!r} must be relative and contain no '..'")
    if training:
        if path.suffix != ".jsonl":
            raise BadUpload(f"{filename!r}: a training upload needs a .jsonl file "
                            "(prompt/completion lines)")
        result = f"{settings.training_prefix}{dataset}.jsonl"
    else:
        suffix = path.suffix.lower() if path.suffix.lower() in settings.raw_suffixes else ".json"
        result = f"{settings.raw_prefix}{dataset}{suffix}"
    size = len(dataset.encode("utf-8"))
    longest = max_dataset_name_bytes(settings, len(result.encode("utf-8")) - size)
    if size > longest:
        raise BadUpload(f"the dataset name is {size} bytes long; at most {longest} fit, because "
                        f"OCI object names are at most {MAX_OBJECT_NAME_BYTES} bytes and the "
                        f"pipeline names its objects like {settings.training_prefix}<name>.jsonl:"
                        " choose a shorter name (--name)")
    return result


def max_dataset_name_bytes(settings: Settings, upload_overhead: int) -> int:
    """Longest dataset name (UTF-8 bytes) whose every object (the upload, the JSONL, the
    report, the status) stays within OCI's object name limit."""
    overhead = max(upload_overhead, len(settings.training_prefix) + len(".jsonl"),
                   len(settings.reports_prefix) + len(".json"),
                   len(settings.status_prefix) + len(".json"))
    return MAX_OBJECT_NAME_BYTES - overhead
