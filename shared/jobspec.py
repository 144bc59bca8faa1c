"""The job a dataset carries: base model, method, hyperparameters, field mapping, eval size.

A dataset's job spec travels as user metadata on the uploaded object,
``opc-meta-ocift-<key>`` (what the console's upload dialog, ``oci os object put
--metadata`` and every SDK's ``opc_meta`` set; the SDK and the CLI add the
``opc-meta-`` prefix to a key without it). :class:`shared.storage.ObjectInfo` exposes
metadata keys without the prefix; :func:`from_metadata` accepts both forms. A key not
set falls back to the pipeline's configuration (``OCIFT_*``, :func:`effective`); an
unknown ``ocift-*`` key is an error naming the known ones.

Types are checked here (a value that is not a number is refused with its key);
ranges are the family table's (``shared.families``), checked by
``genai.check_hyperparameters`` once the base model and method are known. The effective
spec's :meth:`EffectiveSpec.digest` is part of the dataset's identity: the same
content with another spec is a new model version (``shared.identity``).

Keys read here but used elsewhere: ``prompt-field`` / ``completion-field`` /
``context-field`` (the converter's field mapping) and ``eval-size`` (the evaluation
split; 0 disables it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import families
from shared.convert.holdout import MAX_EVAL_SIZE
from shared.convert.shapes import FieldMapping, mapping_of
from shared.errors import PermanentError
from shared.families import TrainingMethod

OPC_META = "opc-meta-"
KEY_PREFIX = "ocift-"

_STRICT = ConfigDict(extra="forbid", frozen=True)


class JobSpecError(PermanentError):
    """A job spec that can never train; the message names the key, the value and the fix."""


class JobSpec(BaseModel):
    """What one dataset asks for; ``None`` means "the pipeline's configuration"."""

    model_config = _STRICT

    base_model: str | None = None
    training_method: TrainingMethod | None = None
    epochs: int | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    early_stopping_patience: int | None = None
    early_stopping_threshold: float | None = None
    lora_r: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    content_moderation: bool | None = None
    prompt_field: str | None = None
    completion_field: str | None = None
    context_field: str | None = None
    eval_size: Annotated[int | None, Field(ge=0, le=MAX_EVAL_SIZE)] = None

    def given(self) -> dict[str, Any]:
        """The keys this spec sets (field -> value)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


FIELDS: tuple[str, ...] = tuple(JobSpec.model_fields)

_INT = frozenset({"epochs", "batch_size", "early_stopping_patience", "lora_r", "lora_alpha",
                  "eval_size"})
_FLOAT = frozenset({"learning_rate", "early_stopping_threshold", "lora_dropout"})
_TEXT = frozenset({"prompt_field", "completion_field", "context_field"})
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_TRUE, _FALSE = frozenset({"true", "yes", "1", "on"}), frozenset({"false", "no", "0", "off"})

#: The CLI flag of each field (``training_method`` is ``--method``, as the issue names it).
FLAGS: dict[str, str] = {f: "--" + ("method" if f == "training_method" else f.replace("_", "-"))
                         for f in FIELDS}


def meta_key(field: str) -> str:
    """The metadata key of ``field`` without the ``opc-meta-`` prefix (``ocift-epochs``)."""
    return KEY_PREFIX + field.replace("_", "-")


def header_key(field: str) -> str:
    """The metadata key as OCI shows it: ``opc-meta-ocift-epochs``."""
    return OPC_META + meta_key(field)


_BY_KEY = {meta_key(f): f for f in FIELDS}


def known_keys() -> str:
    return ", ".join(header_key(f) for f in FIELDS)


def _value(field: str, text: str) -> Any:
    if field in _INT:
        if not _INT_TEXT.fullmatch(text):
            raise ValueError("not a whole number")
        return int(text)
    if field in _FLOAT:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number
    if field == "content_moderation":
        low = text.lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise ValueError("not true or false")
    if field == "training_method":
        for method in TrainingMethod:
            if text.upper() == method.value.upper():
                return method
        raise ValueError(f"not one of {', '.join(m.value for m in TrainingMethod)}")
    if field == "base_model":
        return text.lower()
    return text


def parse(values: Mapping[str, str | None], key: Callable[[str], str] = header_key) -> JobSpec:
    """A :class:`JobSpec` from text values by field name; empty values are unset.

    Every bad value is named (``key(field)``, the value, what it must be) in one
    :class:`JobSpecError`.
    """
    typed: dict[str, Any] = {}
    problems: list[str] = []
    for field, raw in values.items():
        text = (raw or "").strip()
        if not text:
            continue
        try:
            typed[field] = _value(field, text)
        except ValueError as exc:
            problems.append(f"{key(field)}={text!r} is {exc}")
    if not 0 <= typed.get("eval_size", 0) <= MAX_EVAL_SIZE:
        problems.append(f"{key('eval_size')}={typed.pop('eval_size')} must be 0 (no evaluation) "
                        f"to {MAX_EVAL_SIZE}")
    if problems:
        raise JobSpecError("bad job spec: " + "; ".join(problems))
    return JobSpec(**typed)


def from_metadata(metadata: Mapping[str, str]) -> JobSpec:
    """The spec in an object's user metadata (keys with or without ``opc-meta-``).

    Other metadata (``source-etag``, anything not ``ocift-*``) is not the spec's and is
    ignored; an unknown ``ocift-*`` key is an error naming the known ones.
    """
    values: dict[str, str] = {}
    unknown: list[str] = []
    for raw_key, value in metadata.items():
        key = raw_key.lower().removeprefix(OPC_META)
        if not key.startswith(KEY_PREFIX):
            continue
        field = _BY_KEY.get(key)
        if field is None:
            unknown.append(OPC_META + key)
        else:
            values[field] = value
    if unknown:
        raise JobSpecError(f"unknown job spec key(s) {', '.join(sorted(unknown))}; the known "
                           f"keys are {known_keys()}")
    return parse(values)


def to_metadata(spec: JobSpec) -> dict[str, str]:
    """User metadata carrying ``spec`` (keys without ``opc-meta-``, which the SDK adds)."""
    out: dict[str, str] = {}
    for field, value in spec.given().items():
        if isinstance(value, bool):
            out[meta_key(field)] = "true" if value else "false"
        elif isinstance(value, TrainingMethod):
            out[meta_key(field)] = value.value
        else:
            out[meta_key(field)] = str(value)
    return out


def from_flags(values: Mapping[str, str | None]) -> JobSpec:
    """The spec from CLI flag values by field name (errors name the flag)."""
    return parse(values, key=FLAGS.__getitem__)


def merged(base: JobSpec, over: JobSpec) -> JobSpec:
    """``base`` with every key ``over`` sets replaced (flags over a file's metadata)."""
    return JobSpec(**{**base.given(), **over.given()})


class EffectiveSpec(BaseModel):
    """The job as it will run: the dataset's keys over the pipeline's configuration.

    ``None`` hyperparameters take OCI's per-method default (``shared.families``).
    ``from_dataset`` lists the fields the dataset itself set, so a refusal names the
    key the user wrote (``opc-meta-ocift-epochs``) or the configuration key
    (``OCIFT_EPOCHS``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    base_model: str
    training_method: TrainingMethod
    epochs: int
    learning_rate: float | None = None
    batch_size: int | None = None
    early_stopping_patience: int
    early_stopping_threshold: float | None = None
    lora_r: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    content_moderation: bool
    prompt_field: str | None = None
    completion_field: str | None = None
    context_field: str | None = None
    eval_size: int | Literal["auto"] | None = None  # "auto": OCIFT_EVAL_SIZE's default rule
    from_dataset: list[str] = Field(default_factory=list)

    def key(self, field: str) -> str:
        """Where ``field``'s value came from, as the user would write it."""
        return header_key(field) if field in self.from_dataset else families.env_key(field)

    def hyperparameters(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in families.HYPERPARAMETERS}

    def digest(self) -> str:
        """SHA-256 of the job's values (not of where they came from): its identity."""
        values = self.model_dump(mode="json", exclude={"from_dataset"})
        text = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def effective(spec: JobSpec, settings: Any) -> EffectiveSpec:
    """``spec`` over ``settings`` (``shared.settings.Settings``: any key it lacks stays None)."""
    given = spec.given()
    values = {f: given[f] if f in given else getattr(settings, f, None) for f in FIELDS}
    return EffectiveSpec(**{k: v for k, v in values.items() if v is not None},
                         from_dataset=sorted(given))


def field_mapping(job: EffectiveSpec) -> FieldMapping | None:
    """The field mapping the job names (``opc-meta-ocift-prompt-field``,
    ``-completion-field``, optional ``-context-field``: the dataset's own, no pipeline
    default), None when it names none. Raises ``ValueError`` for half a mapping."""
    return mapping_of(job.prompt_field, job.completion_field, job.context_field,
                      lambda part: header_key(f"{part}_field"))


def ranges_help(field: str) -> str:
    """OCI's documented range of hyperparameter ``field`` per family and method (for --help)."""
    parts = []
    for family in families.fine_tunable():
        for method in family.methods:
            rng = families.ranges(family, method).get(field)
            if rng is not None:
                parts.append(f"{family.models[0]} {method.value}: {rng.text()}")
    return "; ".join(parts)
