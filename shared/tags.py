"""Freeform tags: how the pipeline finds what it created (the cloud is the record)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

PIPELINE = "ocift-pipeline"  # settings.pipeline_name: several pipelines may share a compartment
ROLE = "ocift-role"  # one of the ROLE_* values below
DATASET = "ocift-dataset"  # dataset name (see shared.naming)
SOURCE_OBJECT = "ocift-source-object"  # training JSONL object name
SOURCE_ETAG = "ocift-source-etag"  # ETag of that JSONL when training started
BASE_MODEL = "ocift-base-model"  # base model name (clusters, models)
MODEL_ID = "ocift-model-id"  # on endpoints (and per-model hosting clusters): the custom model
MODEL_FAMILY = "ocift-model-family"  # on clusters: base model family they fit (shared.genai)
CONTENT_SHA256 = "ocift-content-sha256"  # on models: SHA-256 of the JSONL bytes trained on
SPEC_SHA256 = "ocift-spec-sha256"  # on models: digest of the job spec trained with (issue 24)
CONTENT_MODERATION = "ocift-content-moderation"  # on models: the job's "true"/"false"

ROLE_FINETUNING_CLUSTER = "finetuning-cluster"
ROLE_HOSTING_CLUSTER = "hosting-cluster"
ROLE_MODEL = "model"
ROLE_ENDPOINT = "endpoint"


#: Free-form tag values are at most 256 characters ("Tag limits",
#: https://docs.oracle.com/iaas/Content/Tagging/Concepts/taggingoverview.htm); object and
#: dataset names may be up to 1024 bytes.
MAX_VALUE_CHARS = 256
_DIGEST_CHARS = 16


def tag_value(value: str) -> str:
    """``value`` as a tag can hold it: longer values keep a prefix and a digest of the whole."""
    if len(value) <= MAX_VALUE_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    return f"{value[:MAX_VALUE_CHARS - _DIGEST_CHARS - 1]}~{digest}"


def is_shortened(value: str) -> bool:
    """True when a tag value is a :func:`tag_value` digest form (the full value is not in it)."""
    return len(value) == MAX_VALUE_CHARS and value[-_DIGEST_CHARS - 1] == "~"


def pipeline_tags(pipeline: str, role: str, **extra: str | None) -> dict[str, str]:
    """Tags for a resource of ``role``; ``extra`` keys are tag keys without the prefix."""
    tags = {PIPELINE: tag_value(pipeline), ROLE: role}
    for key, value in extra.items():
        if value is not None:
            tags[f"ocift-{key.replace('_', '-')}"] = tag_value(value)
    return tags


def matches(tags: Mapping[str, str] | None, **wanted: str) -> bool:
    """True when every ``wanted`` tag (keys without prefix) has the given value."""
    if not tags:
        return False
    return all(tags.get(f"ocift-{k.replace('_', '-')}") == tag_value(v)
               for k, v in wanted.items())
