"""Every event stage refuses objects outside its layout or its bucket before any OCI call."""


import pytest

from shared.events import parse_object_event
from shared.outcome import OutcomeStatus
from shared.runtime import handle_object_event
from shared.settings import Settings, Stage
from shared.stages.convert import convert_dataset
from shared.stages.endpoint import endpoint_for_status
from shared.stages.train import train_object
from tests.support.events import object_event

# No endpoints and no config file: any OCI call would fail, so a pass proves none was made.
SETTINGS = Settings(bucket="ocift-datasets", auth="config_file",
                    oci_config_file="/nonexistent/config")

STAGES = [((Stage.CONVERT, convert_dataset), "raw/a.json"),
          ((Stage.TRAIN, train_object), "training/a.jsonl"),
          ((Stage.ENDPOINT, endpoint_for_status), "status/a.json")]


def event(name: str, bucket: str = "ocift-datasets"):
    return parse_object_event(object_event(name, bucket=bucket))


@pytest.mark.parametrize(("work", "own"), STAGES)
def test_objects_of_other_stages_are_skipped(work, own):
    for _, other in STAGES:
        if other == own:
            continue
        outcome = handle_object_event(*work, event(other), SETTINGS)
        assert outcome.status is OutcomeStatus.SKIPPED
        assert "expected" in outcome.reason


@pytest.mark.parametrize(("work", "own"), STAGES)
def test_own_objects_in_another_bucket_are_skipped(work, own):
    outcome = handle_object_event(*work, event(own, bucket="other-team"), SETTINGS)
    assert outcome.status is OutcomeStatus.SKIPPED
    assert "other-team" in outcome.reason


@pytest.mark.parametrize("stage", ["watch", "infer"])
def test_stages_without_object_events_cannot_claim_objects(stage):
    from shared.settings import Stage
    from shared.stages.guard import claim_object

    with pytest.raises(ValueError, match="not triggered by object events"):
        claim_object(event("raw/a.json"), SETTINGS, Stage(stage))
