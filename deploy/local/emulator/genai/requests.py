"""Pydantic models of the create-request bodies (camelCase on the wire)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from deploy.local.emulator.genai.errors import GenAiError, invalid_parameter

T = TypeVar("T", bound=BaseModel)


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class CreateDedicatedAiClusterDetails(_Wire):
    """``CreateDedicatedAiClusterDetails``."""

    compartment_id: str = Field(min_length=1)
    type: str
    unit_count: int
    unit_shape: str
    display_name: str | None = None
    description: str | None = None
    capacity_reservation_id: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ObjectStorageDataset(_Wire):
    """``ObjectStorageDataset`` (the only ``Dataset`` subtype)."""

    dataset_type: str = "OBJECT_STORAGE"
    namespace_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    object_name: str = Field(min_length=1)


class FineTuneDetails(_Wire):
    """``FineTuneDetails``; the training config stays a raw dict (validated per family)."""

    training_dataset: ObjectStorageDataset
    dedicated_ai_cluster_id: str = Field(min_length=1)
    training_config: dict[str, Any] | None = None


class CreateModelDetails(_Wire):
    """``CreateModelDetails``."""

    compartment_id: str = Field(min_length=1)
    base_model_id: str = Field(min_length=1)
    fine_tune_details: FineTuneDetails
    display_name: str | None = None
    description: str | None = None
    vendor: str | None = None
    version: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ContentModerationConfig(_Wire):
    """``ContentModerationConfig``."""

    is_enabled: bool = False
    mode: str | None = None
    model_id: str | None = None


class CreateEndpointDetails(_Wire):
    """``CreateEndpointDetails``."""

    compartment_id: str = Field(min_length=1)
    model_id: str = Field(min_length=1)
    dedicated_ai_cluster_id: str = Field(min_length=1)
    display_name: str | None = None
    description: str | None = None
    content_moderation_config: ContentModerationConfig | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = Field(default_factory=dict)


def parse(model: type[T], body: Any) -> T:
    """Validate ``body`` into ``model`` or raise 400 InvalidParameter naming the field."""
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise GenAiError(400, "InvalidParameter", f"{where}: {first['msg']}") from None
