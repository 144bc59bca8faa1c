"""OCI Events rules read from ``events/*.json`` and matched with OCI's filter semantics.

Matching follows Oracle's "Matching Events with Filters":

* fields the condition does not name are ignored;
* every field the condition names must be present in the event, at the same
  nesting (``data.additionalDetails.bucketName``);
* a list of values is an OR; ``eventType`` may be a string or a list;
* ``*`` in a string value matches any run of characters (``raw/*.json``);
* attribute filters live under ``data`` like any other nested field.

Values compare case-sensitively, as resource names do in OCI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

BUCKET_PLACEHOLDER = "${bucket_name}"

Scalar = str | int | float | bool


class RuleFileError(ValueError):
    """A rule file is not valid JSON or not a valid rule; the message names the file."""


class RuleAction(BaseModel):
    """Where a matching event goes: the pipeline stage's function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str = Field(min_length=1)


def _check_condition(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(f"{where}: an empty object matches nothing useful; remove it")
        for key, sub in value.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"{where}: field names must be non-empty strings")
            _check_condition(sub, f"{where}.{key}")
    elif isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: a list of values must not be empty")
        for i, item in enumerate(value):
            if not isinstance(item, Scalar):
                raise ValueError(f"{where}[{i}]: list items must be strings or numbers")
    elif not isinstance(value, Scalar):
        raise ValueError(f"{where}: expected a string, number, list or object")


class Rule(BaseModel):
    """One OCI Events rule (the JSON shape documented in ``events/README.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    display_name: str = Field(alias="displayName", min_length=1)
    description: str = ""
    is_enabled: bool = Field(default=True, alias="isEnabled")
    condition: dict[str, Any]
    action: RuleAction

    @field_validator("condition")
    @classmethod
    def _valid_condition(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_condition(value, "condition")
        return value

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when the rule is enabled and ``event`` satisfies its condition."""
        return self.is_enabled and condition_matches(self.condition, event)


@lru_cache(maxsize=256)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _value_matches(expected: Scalar, actual: Any) -> bool:
    if isinstance(actual, list):  # an event list matches when any element does
        return any(_value_matches(expected, item) for item in actual)
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        if "*" in expected:
            return _wildcard(expected).fullmatch(actual) is not None
        return expected == actual
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return bool(expected == actual)


def condition_matches(condition: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Match ``event`` against an OCI Events ``condition`` (see the module docstring)."""
    for key, expected in condition.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not condition_matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_value_matches(option, actual) for option in expected):
                return False
        elif not _value_matches(expected, actual):
            return False
    return True


def _substitute(value: Any, bucket_name: str) -> Any:
    if isinstance(value, str):
        return value.replace(BUCKET_PLACEHOLDER, bucket_name)
    if isinstance(value, list):
        return [_substitute(v, bucket_name) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, bucket_name) for k, v in value.items()}
    return value


def parse_rule(text: str, bucket_name: str, source: str = "<rule>") -> Rule:
    """Parse one rule file's text, substituting ``${bucket_name}``."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleFileError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise RuleFileError(f"{source}: a rule file must hold one JSON object")
    try:
        return Rule.model_validate(_substitute(raw, bucket_name))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RuleFileError(f"{source}: bad rule: {problems}") from None


def load_rules(events_dir: str | Path, bucket_name: str) -> list[Rule]:
    """Load every ``*.json`` rule under ``events_dir`` (sorted by file name)."""
    directory = Path(events_dir)
    if not directory.is_dir():
        raise RuleFileError(f"{directory}: no such rules directory")
    rules = [
        parse_rule(path.read_text(encoding="utf-8"), bucket_name, str(path))
        for path in sorted(directory.glob("*.json"))
    ]
    names = [r.display_name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuleFileError(f"{directory}: duplicate rule displayName(s): {', '.join(duplicates)}")
    return rules


def matching_rules(rules: Sequence[Rule], event: Mapping[str, Any]) -> list[Rule]:
    """The enabled rules whose condition ``event`` satisfies."""
    return [rule for rule in rules if rule.matches(event)]


def default_events_dir() -> Path:
    """The repository's ``events/`` folder (the single source of truth for rules)."""
    return Path(__file__).resolve().parents[2] / "events"
