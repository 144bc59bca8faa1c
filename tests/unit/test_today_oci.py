"""Today's OCI (issue 23): the family table's documented facts, the base-model lifecycle
decision read from the SDK model's dates (a fixed clock), and per-family hyperparameter
ranges caught before CreateModel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oci.generative_ai import models as gm

from shared import families, genai
from shared.base_model_lifecycle import Age, judge
from shared.families import ApiShape, TrainingMethod
from shared.settings import Settings, SettingsError
from shared.stages.context import read_status
from shared.stages.train import train_dataset
from shared.status import DatasetState
from tests.support.fakes import FakeGenAi, drop_jsonl, make_ctx

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


# -- the family table: each row against its documented facts ----------------------------------


def test_command_r_08_2024_row_matches_model_limitations_and_model_page() -> None:
    row = families.lookup("cohere.command-r-08-2024")
    assert row is not None and row.fine_tunable
    # limitations.htm: fine-tuning Small Cohere V2 x 8, hosting Small Cohere V2 x 1.
    assert (row.finetuning_shape, row.finetuning_units, row.hosting_shape) == (
        "SMALL_COHERE_V2", 8, "SMALL_COHERE_V2")
    assert row.methods == (TrainingMethod.TFEW, TrainingMethod.LORA)  # choose-method.htm
    # cohere-command-r-08-2024.htm: fine-tuned prompt up to 16,000, response 4,000 tokens.
    assert (row.limits.prompt, row.limits.completion) == (16_000, 4_000)
    assert row.api_shape is ApiShape.COHERE_CHAT and not row.stackable_tfew
    assert "not re-found" in row.hyper[TrainingMethod.TFEW].source  # said, not guessed


def test_llama_3_3_row_matches_the_fine_tuning_parameters_table() -> None:
    row = families.lookup("meta.llama-3.3-70b-instruct")
    assert row is not None and row.methods == (TrainingMethod.LORA,)
    lora = row.hyper[TrainingMethod.LORA]
    # fine-tuning-parameters.htm, meta.llama-3.3-70b-instruct: batch "integer from 8 to 16"
    # (default 8), learning rate "0 to 1.0" (default 0.0002), epochs integer >= 1.
    assert (lora.batch_size, lora.batch_size_range.low, lora.batch_size_range.high) == (8, 8, 16)
    assert (lora.learning_rate, lora.learning_rate_range.high) == (0.0002, 1.0)
    assert lora.epochs_range.low == 1 and lora.epochs_range.high is None
    assert (row.finetuning_shape, row.finetuning_units) == ("LARGE_GENERIC", 2)
    assert row.api_shape is ApiShape.GENERIC_CHAT


@pytest.mark.parametrize("name", [
    "cohere.command", "cohere.command-light", "cohere.command-r-16k",  # retired 2025-08-07
    "meta.llama-3.1-70b-instruct",  # "Meta Llama 3.1 (70B) (Retired)"
    "cohere.command-r-plus", "cohere.command-r-plus-08-2024",  # "Not available for fine-tuning"
    "meta.llama-4-maverick-17b-128e-instruct-fp8", "cohere.command-a-03-2025",
    "cohere.command-r-08-2024-extra", "meta.llama-3.3-70b-instruct-fp8-dynamic",
])
def test_no_prefix_admits_a_model_oci_does_not_fine_tune(name: str) -> None:
    assert families.lookup(name) is None
    assert families.token_limits(name)[0] == "default"
    with pytest.raises(genai.PermanentError, match="offers for fine-tuning today"):
        genai.family_of(name)


def test_every_row_cites_its_page_and_offers_only_chat() -> None:
    assert {f.models[0] for f in families.fine_tunable()} == {
        "cohere.command-r-08-2024", "meta.llama-3.3-70b-instruct"}
    for row in families.FAMILIES:
        assert row.source.startswith("https://docs.oracle.com/")
        assert all(h.source.startswith("https://docs.oracle.com/") for h in row.hyper.values())
    assert {s.value for s in ApiShape} == {"cohere_chat", "generic_chat"}


def test_replacement_comes_from_the_table() -> None:
    assert families.replacement_for("cohere.command-r-16k") == "cohere.command-r-08-2024"
    assert families.replacement_for("meta.llama-3.1-70b-instruct") == (
        "meta.llama-3.3-70b-instruct")


# -- lifecycle: decided by the SDK model's own dates -------------------------------------------


def sdk_model(name: str, **dates: Any) -> Any:
    return gm.ModelSummary(display_name=name, lifecycle_state=dates.pop("state", "ACTIVE"),
                           **dates)


def test_retired_for_dedicated_is_refused_with_date_and_replacement() -> None:
    verdict = judge(sdk_model("cohere.command-r-16k",
                              time_deprecated=datetime(2024, 9, 17, tzinfo=UTC),
                              time_dedicated_retired=datetime(2025, 8, 7, tzinfo=UTC)), clock)
    assert verdict.age is Age.RETIRED and verdict.retired and verdict.warning is None
    assert "2025-08-07" in verdict.message and "cohere.command-r-08-2024" in verdict.message


def test_deprecated_proceeds_with_a_warning_naming_the_retirement_date() -> None:
    model = sdk_model("meta.llama-3.3-70b-instruct",
                      time_deprecated=datetime(2026, 11, 1, tzinfo=UTC),
                      time_dedicated_retired=datetime(2027, 5, 1, tzinfo=UTC))
    verdict = judge(model, clock)
    assert verdict.age is Age.DEPRECATED and not verdict.retired
    assert verdict.warning is not None and "2027-05-01" in verdict.warning
    # The same model once the clock passes its retirement date.
    later = judge(model, lambda: datetime(2027, 5, 1, tzinfo=UTC))
    assert later.retired and "2027-05-01" in later.message


def test_deprecated_without_a_date_says_so() -> None:
    verdict = judge(sdk_model("cohere.command-r-08-2024",
                              time_deprecated=datetime(2026, 1, 1, tzinfo=UTC)), clock)
    assert verdict.warning is not None and "not set" in verdict.warning


def test_current_and_future_dates_are_current() -> None:
    assert judge(sdk_model("cohere.command-r-08-2024"), clock).age is Age.CURRENT
    future = sdk_model("cohere.command-r-08-2024",
                       time_deprecated=datetime(2027, 1, 1, tzinfo=UTC),
                       time_dedicated_retired=datetime(2027, 7, 1, tzinfo=UTC))
    assert judge(future, clock).age is Age.CURRENT


def test_a_model_no_longer_active_is_refused() -> None:
    verdict = judge(sdk_model("meta.llama-3.3-70b-instruct", state="FAILED"), clock)
    assert verdict.retired and "FAILED" in verdict.message


def test_on_demand_retirement_alone_does_not_stop_dedicated_use() -> None:
    model = sdk_model("cohere.command-r-08-2024",
                      time_on_demand_retired=datetime(2026, 1, 1, tzinfo=UTC))
    assert judge(model, clock).age is Age.CURRENT


# -- train stage: refusal before any cluster; warning recorded ----------------------------------


def _with_dates(ai: FakeGenAi, name: str, **dates: datetime) -> None:
    model = ai.models[f"ocid1.generativeaimodel.base.{name}"]
    for key, value in dates.items():
        setattr(model, key, value)


def test_train_rejects_a_retired_base_model_and_creates_no_cluster() -> None:
    ctx, _, ai = make_ctx()
    _with_dates(ai, "cohere.command-r-08-2024", time_deprecated=datetime(2025, 1, 1, tzinfo=UTC),
                time_dedicated_retired=datetime(2025, 8, 7, tzinfo=UTC))
    drop_jsonl(ctx, "ds")
    out = train_dataset(ctx, "ds", None)
    got = read_status(ctx, "ds")
    assert got is not None and got[0].state is DatasetState.REJECTED
    assert "2025-08-07" in got[0].reason and "OCIFT_BASE_MODEL" in got[0].reason
    assert out.status.value == "rejected" and ai.creates == []


def test_train_records_the_deprecation_warning_and_goes_on() -> None:
    ctx, _, ai = make_ctx()
    _with_dates(ai, "cohere.command-r-08-2024", time_deprecated=datetime(2025, 1, 1, tzinfo=UTC),
                time_dedicated_retired=datetime(2099, 1, 1, tzinfo=UTC))
    drop_jsonl(ctx, "ds")
    train_dataset(ctx, "ds", None)
    got = read_status(ctx, "ds")
    assert got is not None and got[0].state is DatasetState.PENDING_CLUSTER
    assert got[0].base_model_warning is not None and "2099-01-01" in got[0].base_model_warning
    assert ai.creates == ["cluster"]


# -- hyperparameter ranges per family and method ------------------------------------------------


def test_llama_lora_batch_size_above_16_is_refused_at_load_with_the_range() -> None:
    with pytest.raises(SettingsError, match=r"OCIFT_BATCH_SIZE=17 is outside 8 to 16"):
        Settings.from_env({"OCIFT_BASE_MODEL": "meta.llama-3.3-70b-instruct",
                           "OCIFT_BATCH_SIZE": "17"})
    ok = Settings.from_env({"OCIFT_BASE_MODEL": "meta.llama-3.3-70b-instruct",
                            "OCIFT_BATCH_SIZE": "16"})
    assert ok.batch_size == 16


def test_command_r_ranges_depend_on_the_method() -> None:
    env = {"OCIFT_BASE_MODEL": "cohere.command-r-08-2024", "OCIFT_BATCH_SIZE": "32"}
    assert Settings.from_env({**env, "OCIFT_TRAINING_METHOD": "TFEW"}).batch_size == 32
    with pytest.raises(SettingsError, match=r"LORA on cohere\.command-r-08-2024"):
        Settings.from_env({**env, "OCIFT_TRAINING_METHOD": "LORA"})


def test_an_out_of_range_value_is_caught_before_any_cluster() -> None:
    ctx, _, ai = make_ctx(base_model="meta.llama-3.3-70b-instruct")
    # Settings copied without validation (as a caller could): the train stage checks again.
    ctx.settings = ctx.settings.model_copy(update={"batch_size": 24})
    drop_jsonl(ctx, "ds")
    train_dataset(ctx, "ds", None)
    got = read_status(ctx, "ds")
    assert got is not None and got[0].state is DatasetState.REJECTED
    assert "8 to 16" in got[0].reason and ai.creates == []


def test_models_not_in_the_table_are_left_to_the_train_stage() -> None:
    settings = Settings.from_env({"OCIFT_BASE_MODEL": "cohere.command", "OCIFT_BATCH_SIZE": "32"})
    assert settings.batch_size == 32  # the train stage refuses the model itself, with why
    with pytest.raises(genai.PermanentError, match="offers for fine-tuning today"):
        genai.family_of(settings.base_model)


def test_ocift_status_shows_the_deprecation_warning() -> None:
    from shared.cli.status_view import DatasetRow, apply_status, render
    from shared.status import DatasetStatus

    doc = DatasetStatus(dataset="ds", state=DatasetState.TRAINING,
                        base_model_warning="base model x is deprecated since 2026-01-01 and "
                                           "retires for dedicated AI clusters on 2027-05-01")
    row = DatasetRow(dataset="ds")
    apply_status(row, doc.model_dump(mode="json"))
    assert row.base_model_warning is not None
    assert "ds: warning: base model x is deprecated" in render([row])
    assert "warning" not in render([DatasetRow(dataset="other", state="TRAINING")])
