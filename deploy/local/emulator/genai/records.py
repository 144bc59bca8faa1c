"""Typed records the Generative AI emulation stores: clusters, models, endpoints, work requests.

Each record is what OCI returns for the resource (camelCase on disk and on the
wire) plus an ``_emu`` part the API never shows: deadlines of background
transitions and the work request that tracks them. :meth:`Resource.to_api`
is the API view.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Record = dict[str, Any]
"""An API view (JSON object) of a resource."""


def _hidden() -> Any:
    """The ``_emu`` field: stored under that name, never shown by :meth:`Resource.to_api`."""
    return Field(serialization_alias="_emu", validation_alias=AliasChoices("_emu", "emu"))


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="forbid")


class Resource(_Camel):
    """Fields shared by every stored resource."""

    OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset()
    """API fields that OCI leaves out (rather than null) until they have a value."""

    id: str
    compartment_id: str

    def to_api(self) -> Record:
        """The API view: every field but ``_emu``; unset optional ones left out."""
        view = self.model_dump(by_alias=True, mode="json", exclude={"emu"})
        return {k: v for k, v in view.items() if not (v is None and k in self.OMIT_IF_NONE)}

    def to_disk(self) -> Record:
        """The stored JSON (API view and ``_emu``)."""
        return self.model_dump(by_alias=True, mode="json")


class Lifecycle(Resource):
    """A resource with a lifecycle state and tags (everything but work requests)."""

    display_name: str
    description: str | None = None
    time_created: str
    time_updated: str
    lifecycle_state: str
    lifecycle_details: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = Field(default_factory=dict)
    system_tags: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Pending(_Camel):
    """When a background transition ends (``ready_at``) and which work request tracks it."""

    ready_at: float | None = None
    wr: str


class Cluster(Lifecycle):
    """A dedicated AI cluster (``capacity`` is computed when rendered)."""

    type: str
    unit_count: int
    unit_shape: str
    emu: Pending = _hidden()


class EndpointState(Pending):
    """An endpoint's hidden state: its base family and the hosting-share key."""

    base_name: str
    share_key: str


class Endpoint(Lifecycle):
    """A hosting endpoint of a model."""

    model_id: str
    dedicated_ai_cluster_id: str
    content_moderation_config: dict[str, Any]
    emu: EndpointState = _hidden()


class ModelState(Pending):
    """A custom model's hidden state: its base family and the fault-injection switch."""

    base_name: str
    fail_training: bool = False


class CustomModel(Lifecycle):
    """A fine-tuned model (``type`` CUSTOM); base models are rendered from the catalogue."""

    OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset({"modelMetrics"})

    capabilities: list[str]
    vendor: str
    version: str
    base_model_id: str
    type: str = "CUSTOM"
    fine_tune_details: dict[str, Any]
    model_metrics: dict[str, Any] | None = None
    emu: ModelState = _hidden()

    @property
    def cluster_id(self) -> str:
        """The fine-tuning cluster this model trains on."""
        return str(self.fine_tune_details["dedicatedAiClusterId"])

    @property
    def training_method(self) -> str:
        """``trainingConfigType`` of the (completed) training config."""
        return str(self.fine_tune_details["trainingConfig"]["trainingConfigType"])


class WorkRequestError(_Camel):
    """One entry of ``ListWorkRequestErrors``."""

    code: str
    message: str
    timestamp: str


class WorkRequestLog(_Camel):
    """One entry of ``ListWorkRequestLogs``."""

    message: str
    timestamp: str


class WorkRequestResource(_Camel):
    """The resource a work request acts on."""

    entity_type: str
    action_type: str
    identifier: str
    entity_uri: str


class WorkRequestState(_Camel):
    """A work request's hidden state: its timeline, errors and logs."""

    accepted_at: float
    done_at: float | None = None
    errors: list[WorkRequestError] = Field(default_factory=list)
    logs: list[WorkRequestLog] = Field(default_factory=list)


class WorkRequest(Resource):
    """An asynchronous operation (create or delete) and its progress."""

    OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset({"timeStarted", "timeFinished"})

    operation_type: str
    status: str
    resources: list[WorkRequestResource]
    percent_complete: float = 0.0
    time_accepted: str
    time_started: str | None = None
    time_finished: str | None = None
    emu: WorkRequestState = _hidden()

    @property
    def open(self) -> bool:
        """True while the operation has not ended."""
        return self.status in ("ACCEPTED", "IN_PROGRESS")


class RetryToken(_Camel):
    """What a create with an ``opc-retry-token`` returned, remembered until ``expires``."""

    body_hash: str
    resource_id: str
    work_request_id: str
    expires: float
