"""OCI Events rule loading and matching (filter semantics of "Matching Events with Filters")."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from deploy.local.rules import (
    RuleFileError,
    condition_matches,
    default_events_dir,
    load_rules,
    matching_rules,
    parse_rule,
)
from tests.support.events import object_event


def _event(name: str = "raw/Cleaned_date.json", bucket: str = "ocift-datasets",
           kind: str = "createobject") -> dict[str, Any]:
    return object_event(name, bucket=bucket, kind=kind)


def _functions(event: dict[str, Any], bucket: str = "ocift-datasets") -> list[str]:
    rules = load_rules(default_events_dir(), bucket)
    return [r.action.function for r in matching_rules(rules, event)]


def test_repo_rules_route_each_prefix_to_its_stage() -> None:
    assert _functions(_event("raw/a.json")) == ["convert"]
    assert _functions(_event("raw/a.jsonl", kind="updateobject")) == ["convert"]
    assert _functions(_event("training/a.jsonl")) == ["train"]
    # Each hand-off prefix wakes exactly its own stage; the status object wakes nobody.
    assert _functions(_event("handoff/convert/a.json")) == ["convert"]
    assert _functions(_event("handoff/train/team/a.json", kind="updateobject")) == ["train"]
    assert _functions(_event("handoff/endpoint/a.json")) == ["endpoint"]
    assert _functions(_event("status/a.json")) == []
    assert _functions(_event("quarantine/status/a.json.json")) == []
    assert _functions(_event("handoff/watch/a.json")) == []
    # The user's approval wakes the train stage (issue 24).
    assert _functions(_event("approvals/team/a.json", kind="updateobject")) == ["train"]


def test_no_object_prefix_is_routed_to_more_than_one_function() -> None:
    rules = load_rules(default_events_dir(), "ocift-datasets")
    seen: dict[str, str] = {}
    for rule in rules:
        names = rule.condition["data"]["resourceName"]
        for pattern in [names] if isinstance(names, str) else names:
            prefix = pattern.split("*")[0]
            for other, fn in seen.items():
                overlap = prefix.startswith(other) or other.startswith(prefix)
                assert not overlap or fn == rule.action.function, (pattern, other)
            seen[prefix] = rule.action.function
    assert sorted(seen) == ["approvals/", "handoff/convert/", "handoff/endpoint/",
                            "handoff/evaluate/", "handoff/train/", "raw/", "training/"]


def test_repo_rules_ignore_other_objects_buckets_and_types() -> None:
    assert _functions(_event("reports/a.json")) == []
    assert _functions(_event("raw/a.parquet")) == []
    # CSV and TSV are raw datasets since issue 26 (the local router reads the same rule)
    assert _functions(_event("raw/a.csv")) == _functions(_event("raw/a.tsv")) == ["convert"]
    assert _functions(_event("training/a.json")) == []
    assert _functions(_event("raw/a.json", bucket="other-bucket")) == []
    assert _functions(_event("raw/a.json", kind="deleteobject")) == []


def test_bucket_placeholder_is_substituted() -> None:
    rules = load_rules(default_events_dir(), "my-bucket")
    assert all("${bucket_name}" not in json.dumps(r.condition) for r in rules)
    assert _functions(_event("raw/a.json", bucket="my-bucket"), "my-bucket") == ["convert"]
    assert _functions(_event("raw/a.json", bucket="ocift-datasets"), "my-bucket") == []


def test_fields_not_in_condition_are_ignored() -> None:
    event = _event()
    assert condition_matches({"eventType": event["eventType"]}, event)
    assert condition_matches({}, event)


def test_named_field_must_be_present_at_same_nesting() -> None:
    event = _event()
    # bucketName exists only under data.additionalDetails, not directly under data.
    assert not condition_matches({"data": {"bucketName": "ocift-datasets"}}, event)
    assert condition_matches(
        {"data": {"additionalDetails": {"bucketName": "ocift-datasets"}}}, event)
    missing = copy.deepcopy(event)
    del missing["data"]["additionalDetails"]["eTag"]
    assert not condition_matches({"data": {"additionalDetails": {"eTag": "*"}}}, missing)
    # A scalar where the condition expects an object does not match.
    assert not condition_matches({"data": {"resourceName": {"x": "y"}}}, event)


def test_list_is_or_and_event_type_may_be_string_or_list() -> None:
    event = _event(kind="updateobject")
    assert condition_matches({"eventType": "com.oraclecloud.objectstorage.updateobject"}, event)
    assert condition_matches({"eventType": ["com.oraclecloud.objectstorage.createobject",
                                            "com.oraclecloud.objectstorage.updateobject"]}, event)
    assert not condition_matches({"eventType": ["com.oraclecloud.objectstorage.createobject"]},
                                 event)


def test_wildcards() -> None:
    event = _event("raw/sub/dir/data.json")
    assert condition_matches({"data": {"resourceName": "raw/*.json"}}, event)
    assert condition_matches({"data": {"resourceName": "*"}}, event)
    assert condition_matches({"data": {"resourceName": "raw/*/data.*"}}, event)
    assert not condition_matches({"data": {"resourceName": "raw/*.jsonl"}}, event)
    assert not condition_matches({"data": {"resourceName": "Raw/*"}}, event)  # case-sensitive
    # Regex metacharacters in a pattern are literal.
    assert not condition_matches({"data": {"resourceName": "raw/.+"}}, event)
    assert condition_matches({"eventType": "com.oraclecloud.objectstorage.*"}, event)


def test_attribute_filters_on_tags() -> None:
    event = _event()
    event["data"]["freeFormTags"] = {"Department": "Finance"}
    assert condition_matches({"data": {"freeFormTags": {"Department": "Finance"}}}, event)
    assert condition_matches({"data": {"freeFormTags": {"Department": ["HR", "Fin*"]}}}, event)
    assert not condition_matches({"data": {"freeFormTags": {"Department": "HR"}}}, event)
    assert not condition_matches({"data": {"freeFormTags": {"Team": "*"}}}, event)


def test_disabled_rule_never_matches() -> None:
    text = json.dumps({"displayName": "r", "isEnabled": False,
                       "condition": {"eventType": "*"}, "action": {"function": "convert"}})
    assert not parse_rule(text, "b").matches(_event())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "one JSON object"),
        (json.dumps({"displayName": "r", "condition": {}}), "action"),
        (json.dumps({"displayName": "r", "condition": {"eventType": []},
                     "action": {"function": "x"}}), "must not be empty"),
        (json.dumps({"displayName": "r", "condition": {"eventType": None},
                     "action": {"function": "x"}}), "expected a string"),
        (json.dumps({"displayName": "r", "condition": {"eventType": "x"},
                     "action": {"function": "x"}, "extra": 1}), "extra"),
    ],
)
def test_bad_rule_files_give_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rule(text, "b", source="events/bad.json")
    assert "events/bad.json" in str(info.value)
    assert fragment in str(info.value)


def test_load_rules_rejects_duplicate_names_and_missing_dir(tmp_path: Path) -> None:
    rule = {"displayName": "same", "condition": {"eventType": "x"}, "action": {"function": "f"}}
    (tmp_path / "a.json").write_text(json.dumps(rule))
    (tmp_path / "b.json").write_text(json.dumps(rule))
    with pytest.raises(RuleFileError, match="duplicate"):
        load_rules(tmp_path, "b")
    with pytest.raises(RuleFileError, match="no such"):
        load_rules(tmp_path / "nope", "b")
