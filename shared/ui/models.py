"""JSON bodies the page reads and sends (pydantic; what the page sees is exactly these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from shared.billing import Resource as Resource  # re-exported: the page's models
from shared.billing import format_unit_hours
from shared.cli.status_view import DatasetRow
from shared.evaluation.report import EvaluationReport
from shared.reports import DatasetReport
from shared.status import DatasetStatus


class DatasetSummary(DatasetRow):
    """One row of the datasets view."""

    raw: bool = False  # the uploaded object is in the bucket
    stage: str = "uploaded"  # uploaded | converted | training | model | endpoint | failed
    failed_at: str | None = None  # the stage that failed
    resources: list[Resource] = Field(default_factory=list)
    unit_hours: float = 0.0


class Overview(BaseModel):
    """What the datasets view polls."""

    target: str  # "local target" or "tenancy (profile ...)"
    local: bool
    poll_seconds: float
    datasets: list[DatasetSummary]
    resources: list[Resource]  # what exists now (billable)
    unit_hours: float
    history: list[Resource] = Field(default_factory=list)  # deleted, with final unit-hours

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit_hours_text(self) -> str:
        """The total as every view prints it (``billing.format_unit_hours``)."""
        return format_unit_hours(self.unit_hours)
    dead_letters: int | None = None  # local target only
    resources_error: str | None = None  # Generative AI could not be read (what and why)
    quarantined: list[str] = Field(default_factory=list)  # "<object>: <parse error>"


class ModelVersion(BaseModel):
    id: str
    version: str | None = None
    state: str = ""
    details: str = ""
    created: datetime | None = None
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] = Field(default_factory=dict)  # method and hyperparameters


class DeadLetter(BaseModel):
    delivery_id: str
    function: str
    rule: str
    object: str | None = None
    dataset: str | None = None
    attempts: int
    last_error: str | None = None
    finished_at: str


class DatasetDetail(BaseModel):
    """Everything the dataset view shows."""

    summary: DatasetSummary
    local: bool
    report: DatasetReport | None = None
    report_error: str | None = None  # the report exists but cannot be read
    status: DatasetStatus | None = None
    models: list[ModelVersion] = Field(default_factory=list)
    endpoints: list[Resource] = Field(default_factory=list)
    dead_letters: list[DeadLetter] = Field(default_factory=list)
    metric_notes: dict[str, str] = Field(default_factory=dict)
    #: Each evaluated version against its base, oldest first (issue 25).
    evaluations: list[EvaluationReport] = Field(default_factory=list)


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]],
                            Field(min_length=1, max_length=1000)]


class RedriveResult(BaseModel):
    requeued: list[str]
    missing: list[str]


class UploadResult(BaseModel):
    object: str
    etag: str
    dataset: str


class Match(BaseModel):
    """How close the question was to what the stand-in was trained on (local target)."""

    training_prompt: str | None = None
    overlap: float | None = None  # token F1 between the question and that prompt
    similarity: float | None = None  # exp(token likelihood) when the model returns them


class AskResult(BaseModel):
    status: int
    answer: dict[str, Any]
    match: Match | None = None


class SpecField(BaseModel):
    """One job-spec key of the upload form, pre-filled with the pipeline's value (issue 24)."""

    field: str
    flag: str  # the ocift upload flag
    key: str  # the object metadata key (opc-meta-ocift-...)
    default: str  # the pipeline's value ("" = OCI's per-method default)
    choices: list[str] | None = None
    help: str = ""


class JobDefaults(BaseModel):
    fields: list[SpecField]


class DecisionRequest(BaseModel):
    """POST /api/decision: approve or reject a dataset waiting with its plan."""

    model_config = ConfigDict(extra="forbid")

    dataset: Annotated[str, Field(min_length=1, max_length=1024)]
    decision: Literal["approve", "reject"]


class DecisionResult(BaseModel):
    dataset: str
    decision: str
    content_sha256: str | None
    spec_sha256: str
