import pytest

from shared import naming, tags
from shared.settings import Settings
from shared.status import TERMINAL_STATES, DatasetState, DatasetStatus


@pytest.mark.parametrize(("name", "expected"), [
    ("raw/Cleaned_date.json", "Cleaned_date"),
    ("raw/team/a.b.jsonl", "team/a.b"),
    ("raw/.json", None),
    ("raw/x.csv", "x"),  # CSV and TSV are raw datasets since issue 26
    ("raw/t.tsv", "t"),
    ("raw/x.parquet", None),
    ("training/x.json", None),
    ("rawx/a.json", None),
])
def test_raw_dataset_names(name: str, expected: str | None) -> None:
    assert naming.raw_dataset(Settings(), name) == expected


def test_layout_follows_settings() -> None:
    s = Settings(training_prefix="t/", reports_prefix="r/", status_prefix="s/")
    assert naming.training_object(s, "team/a") == "t/team/a.jsonl"
    assert naming.report_object(s, "a") == "r/a.json"
    assert naming.status_object(s, "a") == "s/a.json"
    assert naming.training_dataset(s, "t/team/a.jsonl") == "team/a"
    assert naming.status_dataset(s, "s/a.json") == "a"
    assert naming.status_dataset(s, "t/a.json") is None


def test_display_name_is_safe_for_oci() -> None:
    assert naming.display_name("team/Cleaned date!") == "team-Cleaned-date"
    assert naming.display_name("///") == "dataset"
    assert len(naming.display_name("x" * 400)) == 255


def test_idempotency_key_is_deterministic_bounded_and_input_sensitive() -> None:
    a = naming.idempotency_key("ocift", "train", "training/a.jsonl", "etag-1")
    assert a == naming.idempotency_key("ocift", "train", "training/a.jsonl", "etag-1")
    assert a != naming.idempotency_key("ocift", "train", "training/a.jsonl", "etag-2")
    # the stage is part of the key: the same work in another stage is another create
    assert a != naming.idempotency_key("ocift", "endpoint", "training/a.jsonl", "etag-1")
    assert a != naming.idempotency_key("other", "train", "training/a.jsonl", "etag-1")
    # parts are separated: ("ab", "c") must differ from ("a", "bc")
    assert (naming.idempotency_key("p", "s", "ab", "c")
            != naming.idempotency_key("p", "s", "a", "bc"))
    assert len(a) <= 64


def test_tags_round_trip_and_match() -> None:
    t = tags.pipeline_tags("ocift", tags.ROLE_MODEL, dataset="a", source_etag="e1",
                           base_model=None)
    assert t == {tags.PIPELINE: "ocift", tags.ROLE: "model", tags.DATASET: "a",
                 tags.SOURCE_ETAG: "e1"}
    assert tags.matches(t, pipeline="ocift", dataset="a")
    assert not tags.matches(t, pipeline="other")
    assert not tags.matches(None, pipeline="ocift")


def test_status_transitions_keep_history_and_terminality() -> None:
    s = DatasetStatus(dataset="a", state=DatasetState.TRAINING, model_id="m1")
    assert not s.terminal
    s2 = s.moved_to(DatasetState.MODEL_ACTIVE, "training finished", model_state="ACTIVE")
    assert s2.state is DatasetState.MODEL_ACTIVE and s2.model_id == "m1"
    assert [h.state for h in s2.history] == [DatasetState.MODEL_ACTIVE]
    assert s.state is DatasetState.TRAINING  # the original is untouched
    s3 = s2.moved_to(DatasetState.ENDPOINT_CREATING, endpoint_id="e1").moved_to(
        DatasetState.ENDPOINT_ACTIVE, "serving")
    assert s3.terminal
    assert DatasetStatus.model_validate_json(s3.model_dump_json()) == s3
    assert DatasetState.MODEL_ACTIVE not in TERMINAL_STATES


def test_outcome_of_keeps_only_set_details() -> None:
    from shared.outcome import Outcome, OutcomeStatus

    out = Outcome.of("train", OutcomeStatus.DONE, "ok", "training/a.jsonl", model_id="m", wr=None)
    assert out.details == {"model_id": "m"}
    assert out.stage == "train" and out.object_name == "training/a.jsonl"
