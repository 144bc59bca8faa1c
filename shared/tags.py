"""Freeform tags: how the pipeline finds what it created (the cloud is the record)."""

from __future__ import annotations

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

ROLE_FINETUNING_CLUSTER = "finetuning-cluster"
ROLE_HOSTING_CLUSTER = "hosting-cluster"
ROLE_MODEL = "model"
ROLE_ENDPOINT = "endpoint"


def pipeline_tags(pipeline: str, role: str, **extra: str | None) -> dict[str, str]:
    """Tags for a resource of ``role``; ``extra`` keys are tag keys without the prefix."""
    tags = {PIPELINE: pipeline, ROLE: role}
    for key, value in extra.items():
        if value is not None:
            tags[f"ocift-{key.replace('_', '-')}"] = value
    return tags


def matches(tags: Mapping[str, str] | None, **wanted: str) -> bool:
    """True when every ``wanted`` tag (keys without prefix) has the given value."""
    if not tags:
        return False
    return all(tags.get(f"ocift-{k.replace('_', '-')}") == v for k, v in wanted.items())
