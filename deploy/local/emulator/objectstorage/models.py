"""Request bodies of the Object Storage REST subset (camelCase on the wire)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class CreateBucketDetails(_Wire):
    name: str = Field(min_length=1)
    compartment_id: str = Field(alias="compartmentId", min_length=1)
    metadata: dict[str, str] | None = None
    public_access_type: str = Field(default="NoPublicAccess", alias="publicAccessType")
    storage_tier: str = Field(default="Standard", alias="storageTier")
    object_events_enabled: bool = Field(default=False, alias="objectEventsEnabled")
    freeform_tags: dict[str, str] | None = Field(default=None, alias="freeformTags")
    defined_tags: dict[str, dict[str, Any]] | None = Field(default=None, alias="definedTags")


class UpdateBucketDetails(_Wire):
    compartment_id: str | None = Field(default=None, alias="compartmentId")
    metadata: dict[str, str] | None = None
    public_access_type: str | None = Field(default=None, alias="publicAccessType")
    object_events_enabled: bool | None = Field(default=None, alias="objectEventsEnabled")
    freeform_tags: dict[str, str] | None = Field(default=None, alias="freeformTags")
    defined_tags: dict[str, dict[str, Any]] | None = Field(default=None, alias="definedTags")


class CreateMultipartUploadDetails(_Wire):
    object: str = Field(min_length=1)
    content_type: str | None = Field(default=None, alias="contentType")
    content_language: str | None = Field(default=None, alias="contentLanguage")
    content_encoding: str | None = Field(default=None, alias="contentEncoding")
    content_disposition: str | None = Field(default=None, alias="contentDisposition")
    cache_control: str | None = Field(default=None, alias="cacheControl")
    storage_tier: str | None = Field(default=None, alias="storageTier")
    metadata: dict[str, str] | None = None


class CommitPart(_Wire):
    part_num: int = Field(alias="partNum", ge=1)
    etag: str


class CommitMultipartUploadDetails(_Wire):
    parts_to_commit: list[CommitPart] = Field(alias="partsToCommit")
    parts_to_exclude: list[int] | None = Field(default=None, alias="partsToExclude")
