"""Naming rules: object layout in the bucket and names of OCI resources.

A dataset is named after its raw object: ``raw/team/Cleaned_date.json`` is
dataset ``team/Cleaned_date``, converted to ``training/team/Cleaned_date.jsonl``
with report ``reports/team/Cleaned_date.json``, status
``status/team/Cleaned_date.json`` and, when the watcher hands the next step to a
stage, ``handoff/<stage>/team/Cleaned_date.json``.
"""

from __future__ import annotations

import hashlib
import re

from shared.settings import Settings

_DISPLAY_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def dataset_from_object(name: str, prefix: str, suffixes: tuple[str, ...]) -> str | None:
    """Dataset name of ``name`` if it sits under ``prefix`` with one of ``suffixes``."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    for suffix in sorted(suffixes, key=len, reverse=True):
        if rest.endswith(suffix) and len(rest) > len(suffix):
            return rest[: -len(suffix)]
    return None


def raw_dataset(settings: Settings, object_name: str) -> str | None:
    return dataset_from_object(object_name, settings.raw_prefix, settings.raw_suffixes)


def training_dataset(settings: Settings, object_name: str) -> str | None:
    return dataset_from_object(object_name, settings.training_prefix, (".jsonl",))


def status_dataset(settings: Settings, object_name: str) -> str | None:
    return dataset_from_object(object_name, settings.status_prefix, (".json",))


def handoff_dataset(settings: Settings, stage: str, object_name: str) -> str | None:
    """Dataset of ``handoff/<stage>/<dataset>.json`` (None for any other object)."""
    return dataset_from_object(object_name, f"{settings.handoff_prefix}{stage}/", (".json",))


def approval_dataset(settings: Settings, object_name: str) -> str | None:
    """Dataset of ``approvals/<dataset>.json`` (None for any other object)."""
    return dataset_from_object(object_name, settings.approvals_prefix, (".json",))


def approval_object(settings: Settings, dataset: str) -> str:
    return f"{settings.approvals_prefix}{dataset}.json"


def handoff_object(settings: Settings, stage: str, dataset: str) -> str:
    return f"{settings.handoff_prefix}{stage}/{dataset}.json"


def training_object(settings: Settings, dataset: str) -> str:
    return f"{settings.training_prefix}{dataset}.jsonl"


def report_object(settings: Settings, dataset: str) -> str:
    return f"{settings.reports_prefix}{dataset}.json"


def status_object(settings: Settings, dataset: str) -> str:
    return f"{settings.status_prefix}{dataset}.json"


def eval_object(settings: Settings, dataset: str) -> str:
    """``eval/<dataset>.jsonl``: the held-out evaluation split (never trained on)."""
    return f"{settings.eval_prefix}{dataset}.jsonl"


EVAL_REPORT_SUFFIX = ".eval.json"


def evaluation_report_object(settings: Settings, dataset: str, version: str) -> str:
    """``reports/<dataset>.v<version>.eval.json``: one model version's evaluation."""
    return f"{settings.reports_prefix}{dataset}.v{version}{EVAL_REPORT_SUFFIX}"


_EVAL_REPORT = re.compile(r"\.v([0-9]+)" + re.escape(EVAL_REPORT_SUFFIX) + "$")


def evaluation_report_dataset(settings: Settings, object_name: str) -> str | None:
    """The dataset of ``reports/<dataset>.v<N>.eval.json`` (None for any other object)."""
    if not object_name.startswith(settings.reports_prefix):
        return None
    found = _EVAL_REPORT.search(object_name)
    if found is None or found.start() == len(settings.reports_prefix):
        return None
    return object_name[len(settings.reports_prefix):found.start()]


def evaluation_reports_prefix(settings: Settings, dataset: str) -> str:
    """What every evaluation report of ``dataset`` starts with (list, then check the suffix)."""
    return f"{settings.reports_prefix}{dataset}.v"


def display_name(dataset: str, max_len: int = 255) -> str:
    """An OCI display name for a dataset (slashes and odd characters become ``-``)."""
    cleaned = _DISPLAY_NAME_BAD.sub("-", dataset).strip("-") or "dataset"
    return cleaned[:max_len]


def idempotency_key(pipeline: str, stage: str, *parts: str) -> str:
    """The deterministic ``opc-retry-token`` (<= 64 chars) of one create call.

    Every create the pipeline makes derives its token here, from the pipeline,
    the stage (or resource kind) making it and what identifies the work (the
    source object and its ETag, a model id...). OCI dedups create calls that
    carry the same token for 24 hours, so a re-delivered event is harmless:
    https://docs.oracle.com/iaas/Content/API/Concepts/usingapi.htm#Retry_Token
    """
    digest = hashlib.sha256("\x1f".join((pipeline, stage, *parts)).encode("utf-8")).hexdigest()
    return f"ocift-{digest[:58]}"


#: OCI object names are at most 1024 bytes of UTF-8 (Object Storage, "Object Naming"
#: https://docs.oracle.com/iaas/Content/Object/Tasks/managingobjects.htm#namerequirements).
MAX_OBJECT_NAME_BYTES = 1024


def too_long(name: str) -> bool:
    """True when ``name`` is over OCI's object-name limit."""
    return len(name.encode("utf-8")) > MAX_OBJECT_NAME_BYTES


def derived_name_problem(settings: Settings, dataset: str) -> str | None:
    """Why ``dataset``'s training, report or status object cannot exist in OCI (or None)."""
    for name in (training_object(settings, dataset), report_object(settings, dataset),
                 status_object(settings, dataset)):
        if too_long(name):
            size = len(name.encode("utf-8"))
            return (f"the derived object name {name[:60]!r}... would be {size} bytes; OCI "
                    f"allows at most {MAX_OBJECT_NAME_BYTES}. Rename the raw object so its "
                    f"name is at most {MAX_OBJECT_NAME_BYTES - size + len(dataset.encode())} "
                    "bytes long (without prefix and suffix)")
    return None


def dataset_of(settings: Settings, object_name: str | None) -> str | None:
    """The dataset a raw, training or status object belongs to (None when it is none)."""
    if not object_name:
        return None
    return (raw_dataset(settings, object_name) or training_dataset(settings, object_name)
            or status_dataset(settings, object_name))
