"""Every event stage refuses objects outside its layout, bucket or namespace before any OCI
call, and each object prefix wakes exactly one stage."""

from __future__ import annotations

import pytest

from shared.dispatch import STAGES
from shared.events import ObjectEvent, parse_object_event
from shared.outcome import Outcome, OutcomeStatus
from shared.runtime import handle_object_event
from shared.settings import AuthMode, Settings, Stage
from shared.stages.guard import STAGE_INPUTS, ObjectKind, claim_object
from tests.support.events import object_event

# No endpoints and no config file: any OCI call would fail, so a pass proves none was made.
SETTINGS = Settings(bucket="ocift-datasets", namespace="ns", auth=AuthMode.CONFIG_FILE,
                    oci_config_file="/nonexistent/config")

OWN = {
    Stage.CONVERT: ["raw/a.json", "raw/a.jsonl", "handoff/convert/a.json"],
    Stage.TRAIN: ["training/a.jsonl", "handoff/train/a.json"],
    Stage.ENDPOINT: ["handoff/endpoint/a.json"],
}
OTHERS = ["status/a.json", "reports/a.json", "quarantine/status/a.json.json",
          "handoff/watch/a.json", "handoff/infer/a.json", "eval/a.jsonl"]


def event(name: str, bucket: str = "ocift-datasets", namespace: str = "ns") -> ObjectEvent:
    return parse_object_event(object_event(name, bucket=bucket, namespace=namespace))


def _never(*_: object) -> Outcome:
    raise AssertionError("a skipped event must not reach the stage's work")


ROUTES = {kind: _never for kind in ObjectKind}


@pytest.mark.parametrize("stage", list(OWN))
def test_objects_of_other_stages_and_records_are_skipped(stage: Stage) -> None:
    foreign = [n for s, names in OWN.items() if s is not stage for n in names] + OTHERS
    for name in foreign:
        outcome = handle_object_event(stage, ROUTES, event(name), SETTINGS)
        assert outcome.status is OutcomeStatus.SKIPPED, name
        assert outcome.reason.startswith(f"not a {stage.value} object: expected "), name


def test_each_object_is_claimed_by_exactly_one_stage_and_kind() -> None:
    claims = {name: [(stage, claim_object(event(name), SETTINGS, stage)) for stage in OWN]
              for names in OWN.values() for name in names}
    for name, results in claims.items():
        owners = [(stage, c) for stage, c in results if not isinstance(c, Outcome)]
        assert len(owners) == 1, (name, owners)
    assert claim_object(event("handoff/train/team/a.json"), SETTINGS, Stage.TRAIN) == (
        ObjectKind.HANDOFF, "team/a")
    assert claim_object(event("raw/team/a.jsonl"), SETTINGS, Stage.CONVERT) == (
        ObjectKind.RAW, "team/a")


@pytest.mark.parametrize("stage", list(OWN))
def test_own_objects_in_another_bucket_are_skipped(stage: Stage) -> None:
    outcome = handle_object_event(stage, ROUTES, event(OWN[stage][0], bucket="other-team"),
                                  SETTINGS)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert outcome.reason == ("event for bucket 'other-team', this pipeline watches "
                              "'ocift-datasets'")


@pytest.mark.parametrize("stage", list(OWN))
def test_own_objects_in_another_namespace_are_skipped(stage: Stage) -> None:
    outcome = handle_object_event(stage, ROUTES, event(OWN[stage][0], namespace="evil"),
                                  SETTINGS)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert outcome.reason == "event for namespace 'evil', this pipeline's bucket is in 'ns'"


@pytest.mark.parametrize("stage", [Stage.WATCH, Stage.INFER])
def test_stages_without_object_events_cannot_claim_objects(stage: Stage) -> None:
    with pytest.raises(ValueError, match="not triggered by object events"):
        claim_object(event("raw/a.json"), SETTINGS, stage)


def test_the_dispatch_table_covers_every_stage_and_routes_every_input_kind() -> None:
    assert set(STAGES) == set(Stage)
    assert set(STAGE_INPUTS) == {Stage.CONVERT, Stage.TRAIN, Stage.ENDPOINT, Stage.EVALUATE}
