"""Every event stage refuses objects outside its layout or its bucket before any OCI call."""

from __future__ import annotations

import pytest

from shared.events import ObjectEvent, parse_object_event
from shared.outcome import Outcome, OutcomeStatus
from shared.runtime import EventWork, handle_object_event
from shared.settings import AuthMode, Settings, Stage
from shared.stages.convert import convert_dataset
from shared.stages.endpoint import endpoint_for_status
from shared.stages.guard import claim_object, is_status_object
from shared.stages.train import train_object
from tests.support.events import object_event

# No endpoints and no config file: any OCI call would fail, so a pass proves none was made.
SETTINGS = Settings(bucket="ocift-datasets", auth=AuthMode.CONFIG_FILE,
                    oci_config_file="/nonexistent/config")

STAGES: list[tuple[Stage, EventWork, str]] = [
    (Stage.CONVERT, convert_dataset, "raw/a.json"),
    (Stage.TRAIN, train_object, "training/a.jsonl"),
    (Stage.ENDPOINT, endpoint_for_status, "status/a.json"),
]


def event(name: str, bucket: str = "ocift-datasets") -> ObjectEvent:
    return parse_object_event(object_event(name, bucket=bucket))


@pytest.mark.parametrize(("stage", "work", "own"), STAGES)
def test_objects_of_other_stages_are_skipped(stage: Stage, work: EventWork, own: str) -> None:
    for _, _, other in STAGES:
        if other == own or other.startswith("status/"):
            continue  # every event stage reads status objects (the watcher's hand-over)
        outcome = handle_object_event(stage, work, event(other), SETTINGS)
        assert outcome.status is OutcomeStatus.SKIPPED
        assert "expected" in outcome.reason


@pytest.mark.parametrize("stage", [Stage.CONVERT, Stage.TRAIN, Stage.ENDPOINT])
def test_every_event_stage_claims_status_objects_as_hand_overs(stage: Stage) -> None:
    assert claim_object(event("status/team/a.json"), SETTINGS, stage) == "team/a"
    assert is_status_object(SETTINGS, "status/team/a.json")
    assert not is_status_object(SETTINGS, "raw/team/a.json")


@pytest.mark.parametrize(("stage", "work", "own"), STAGES)
def test_own_objects_in_another_bucket_are_skipped(stage: Stage, work: EventWork,
                                                   own: str) -> None:
    outcome = handle_object_event(stage, work, event(own, bucket="other-team"), SETTINGS)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert "other-team" in outcome.reason


@pytest.mark.parametrize("stage", [Stage.WATCH, Stage.INFER])
def test_stages_without_object_events_cannot_claim_objects(stage: Stage) -> None:
    with pytest.raises(ValueError, match="not triggered by object events"):
        claim_object(event("raw/a.json"), SETTINGS, stage)


def _in_namespace(name: str, namespace: str) -> ObjectEvent:
    return parse_object_event(object_event(name, bucket="ocift-datasets", namespace=namespace))


@pytest.mark.parametrize(("stage", "work", "own"), STAGES)
def test_own_objects_in_another_namespace_are_skipped(stage: Stage, work: EventWork,
                                                      own: str) -> None:
    # The configured namespace decides, like the bucket: no OCI call, no work.
    configured = SETTINGS.model_copy(update={"namespace": "ours"})
    outcome = handle_object_event(stage, work, _in_namespace(own, "theirs"), configured)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert "'theirs'" in outcome.reason and "'ours'" in outcome.reason
    assert claim_object(_in_namespace(own, "ours"), configured, stage) == "a"


@pytest.mark.parametrize(("stage", "work", "own"), STAGES)
def test_an_unconfigured_namespace_is_the_tenancys_never_the_events(
        monkeypatch: pytest.MonkeyPatch, stage: Stage, work: EventWork, own: str) -> None:
    from shared import runtime
    from shared.stages.context import StageContext

    built: list[Settings] = []

    def context_for(settings: Settings) -> StageContext:  # as if GetNamespace said "tenancy"
        built.append(settings)
        resolved = settings.model_copy(update={"namespace": "tenancy"})
        return StageContext(settings=resolved, store=None)  # type: ignore[arg-type]

    ran: list[str] = []

    def recorded(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
        ran.append(ctx.settings.namespace or "")
        return Outcome(status=OutcomeStatus.DONE, stage=stage.value)

    monkeypatch.setattr(runtime, "context_for", context_for)
    outcome = handle_object_event(stage, work, _in_namespace(own, "elsewhere"), SETTINGS)
    assert outcome.status is OutcomeStatus.SKIPPED and "'elsewhere'" in outcome.reason
    assert len(built) == 1 and ran == []
    done = handle_object_event(stage, recorded, _in_namespace(own, "tenancy"), SETTINGS)
    assert done.status is OutcomeStatus.DONE and ran == ["tenancy"]
