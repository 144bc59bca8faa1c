"""Typed pipeline settings read from the function configuration.

On OCI Functions the function configuration arrives as environment variables;
locally the runner sets the same variables. Every key is ``OCIFT_<FIELD>`` in
upper case (``bucket`` is ``OCIFT_BUCKET``). Errors name the offending key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared import caches, families
from shared.families import TrainingMethod as TrainingMethod  # defined there, pydantic-free

ENV_PREFIX = "OCIFT_"


class Stage(StrEnum):
    """The pipeline stages; each deployed function is told its stage by config."""

    CONVERT = "convert"
    TRAIN = "train"
    ENDPOINT = "endpoint"
    WATCH = "watch"
    INFER = "infer"
    EVALUATE = "evaluate"


class AuthMode(StrEnum):
    """How clients authenticate: ``auto`` picks resource principals on OCI Functions."""

    AUTO = "auto"
    RESOURCE_PRINCIPAL = "resource_principal"
    CONFIG_FILE = "config_file"


class ApprovalMode(StrEnum):
    """``required``: a valid dataset waits (AWAITING_APPROVAL) until the user approves it."""

    NONE = "none"
    REQUIRED = "required"


class SettingsError(ValueError):
    """A configuration key is missing or has a bad value."""


def _env_key(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


class Settings(BaseModel):
    """Every knob of the pipeline, with defaults that work on the local target."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    stage: Stage | None = None

    # Where the data lives.
    bucket: str = "ocift-datasets"
    namespace: str | None = None
    compartment_id: str | None = None
    region: str | None = None

    # Object layout inside the bucket.
    raw_prefix: str = "raw/"
    raw_suffixes: tuple[str, ...] = (".json", ".jsonl", ".csv", ".tsv")
    training_prefix: str = "training/"
    reports_prefix: str = "reports/"
    status_prefix: str = "status/"
    handoff_prefix: str = "handoff/"  # handoff/<stage>/<dataset>.json: wakes that one stage
    quarantine_prefix: str = "quarantine/"  # records of documents that did not parse
    approvals_prefix: str = "approvals/"  # approvals/<dataset>.json: the user's decision
    eval_prefix: str = "eval/"  # eval/<dataset>.jsonl: the held-out split (issue 25)

    # Authentication and endpoints.
    auth: AuthMode = AuthMode.AUTO
    oci_config_file: str | None = None
    oci_profile: str = "DEFAULT"
    objectstorage_endpoint: str | None = None
    genai_endpoint: str | None = None
    genai_inference_endpoint: str | None = None
    retry_max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    retry_max_seconds: Annotated[int, Field(ge=1, le=600)] = 120
    # Reconcile leaves raw and training objects younger than this to their own event.
    reconcile_grace_seconds: Annotated[int, Field(ge=0, le=86_400)] = 120

    # Training.
    base_model: str = "cohere.command-r-08-2024"
    training_method: TrainingMethod = TrainingMethod.AUTO
    epochs: Annotated[int, Field(ge=1, le=10)] = 5
    learning_rate: Annotated[float | None, Field(gt=0, le=1.0)] = None
    # The widest of OCI's ranges; the base model's family and method narrow it (below).
    batch_size: Annotated[int | None, Field(ge=8, le=32)] = None
    early_stopping_patience: Annotated[int, Field(ge=0, le=16)] = 15
    vanilla_threshold: Annotated[int, Field(ge=1)] = 100_000
    finetuning_cluster_id: str | None = None
    hosting_cluster_id: str | None = None
    hosting_cluster_units: Annotated[int, Field(ge=1, le=50)] = 1

    # Cost (issue 13): how many of a dataset's endpoints keep serving (newest first, the
    # current one included); idle pipeline clusters are reported after this many hours and
    # deleted only when ``delete_idle_clusters`` is true.
    keep_endpoints: Annotated[int, Field(ge=1, le=50)] = 1
    idle_cluster_hours: Annotated[float, Field(ge=0)] = 24.0
    delete_idle_clusters: bool = False
    # Issue 24: approval before anything bills, and the user's own unit prices for the plan
    # ("SHAPE=price per unit-hour,..."; no price is ever assumed).
    approval: ApprovalMode = ApprovalMode.NONE
    unit_prices: str = ""

    # Serving.
    content_moderation: bool = True
    notification_topic_id: str | None = None
    default_model: str | None = None
    endpoint_cache_seconds: Annotated[float, Field(ge=0)] = 30.0
    max_request_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024

    # Conversion.
    max_examples: Annotated[int, Field(ge=1)] = 10_000_000
    multipart_part_size: Annotated[int, Field(ge=1024 * 1024)] = 8 * 1024 * 1024

    # Evaluation (issue 25): the held-out split convert sets aside ("auto": 2 %, 20 to 200;
    # 0: none) and how the evaluate stage scores each model version against its base.
    eval_size: int | Literal["auto"] = "auto"
    eval_max_prompts: Annotated[int | None, Field(ge=0)] = None  # caps billed base calls
    eval_base_endpoint_id: str | None = None  # compare with this endpoint, not on demand
    eval_on_demand_base: bool = True  # false: no base comparison unless an endpoint is named
    eval_concurrency: Annotated[int, Field(ge=1, le=16)] = 4
    eval_max_tokens: Annotated[int, Field(ge=1, le=4000)] = 512
    # At most this many examples per invocation (None: as many as the time limit allows).
    eval_prompts_per_invocation: Annotated[int | None, Field(ge=1)] = None
    eval_time_budget_seconds: Annotated[float | None, Field(gt=0)] = None

    # Observability.
    log_level: str = "INFO"
    log_prompts: bool = False

    # Identifies this deployment in freeform tags (several pipelines may share a compartment).
    pipeline_name: str = "ocift"

    @field_validator("raw_suffixes", mode="before")
    @classmethod
    def _split_suffixes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("eval_size")
    @classmethod
    def _eval_size_in_range(cls, value: int | str) -> int | str:
        from shared.convert.holdout import check_size

        return check_size(value)

    @field_validator("raw_prefix", "training_prefix", "reports_prefix", "status_prefix",
                     "handoff_prefix", "quarantine_prefix", "approvals_prefix",
                     "eval_prefix")
    @classmethod
    def _prefix_ends_with_slash(cls, value: str) -> str:
        if value and not value.endswith("/"):
            raise ValueError("a prefix must end with '/'")
        return value

    @field_validator("unit_prices")
    @classmethod
    def _prices_parse(cls, value: str) -> str:
        parse_unit_prices(value)
        return value

    def prices(self) -> dict[str, float]:
        """``OCIFT_UNIT_PRICES`` as shape -> price per unit-hour (empty: none set)."""
        return parse_unit_prices(self.unit_prices)

    @model_validator(mode="after")
    def _hyperparameters_in_family_range(self) -> Settings:
        """OCI's documented range for the base model's family and method (``shared.families``).

        ``auto`` is checked against every method it can pick for the family. Unknown base
        models and unsupported methods are left to the train stage, which says why.
        """
        family = families.lookup(self.base_model)
        if family is None or not family.fine_tunable:
            return self
        if self.training_method is not TrainingMethod.AUTO:
            methods = [self.training_method] if self.training_method in family.methods else []
        elif family.methods == (TrainingMethod.LORA,):
            methods = [TrainingMethod.LORA]
        else:
            methods = [m for m in family.methods
                       if m in (TrainingMethod.TFEW, TrainingMethod.VANILLA)]
        for method in methods:
            families.check_hyperparameters(family, method, {
                "epochs": self.epochs, "learning_rate": self.learning_rate,
                "batch_size": self.batch_size,
                "early_stopping_patience": self.early_stopping_patience})
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``OCIFT_*`` variables; errors name the variable and the fix."""
        source = os.environ if env is None else env
        known = set(cls.model_fields)
        values: dict[str, str] = {}
        unknown: list[str] = []
        for key, value in source.items():
            if not key.startswith(ENV_PREFIX):
                continue
            field = key[len(ENV_PREFIX) :].lower()
            if field in known:
                if value != "":
                    values[field] = value
            else:
                unknown.append(key)
        if unknown:
            raise SettingsError(
                f"unknown configuration key(s) {', '.join(sorted(unknown))}; "
                f"known keys are {', '.join(sorted(_env_key(f) for f in known))}"
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                if not err["loc"]:  # a check across fields: its message names the keys
                    problems.append(str(err["msg"]).removeprefix("Value error, "))
                    continue
                field = str(err["loc"][0])
                given = values.get(field)
                shown = f" (got {given!r})" if given is not None else ""
                problems.append(f"{_env_key(field)}: {err['msg']}{shown}")
            raise SettingsError("bad pipeline configuration: " + "; ".join(problems)) from None

    def require(self, *fields: str) -> None:
        """Raise :class:`SettingsError` naming every listed field that is unset."""
        missing = [_env_key(f) for f in fields if getattr(self, f) in (None, "")]
        if missing:
            raise SettingsError(
                f"missing configuration key(s): {', '.join(missing)}; "
                "set them in the function configuration (or the environment locally)"
            )

    def env(self) -> dict[str, str]:
        """Render these settings back into ``OCIFT_*`` variables (for the local runner)."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, tuple):
                out[_env_key(name)] = ",".join(value)
            elif isinstance(value, bool):
                out[_env_key(name)] = "true" if value else "false"
            else:
                out[_env_key(name)] = str(value.value if isinstance(value, StrEnum) else value)
        return out


def parse_unit_prices(text: str) -> dict[str, float]:
    """``"SMALL_COHERE_V2=12.5,LARGE_GENERIC=30"`` -> ``{shape: price}``; ValueError says why."""
    prices: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        shape, sep, price = part.partition("=")
        try:
            value = float(price)
        except ValueError:
            value = -1.0
        if not sep or not shape.strip() or not value >= 0 or value == float("inf"):
            raise ValueError(f"{part!r} is not SHAPE=PRICE (a unit shape and its price per "
                             "unit-hour, e.g. SMALL_COHERE_V2=12.5)")
        prices[shape.strip().upper()] = value
    return prices


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once (function config does not change while warm)."""
    return Settings.from_env()


caches.register("settings", get_settings.cache_clear)
