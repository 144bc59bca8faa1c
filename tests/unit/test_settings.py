import pytest

from shared.settings import AuthMode, Settings, SettingsError, Stage, TrainingMethod


def test_defaults_work_without_any_configuration() -> None:
    s = Settings.from_env({})
    assert s.stage is None
    assert s.raw_prefix == "raw/"
    assert s.raw_suffixes == (".json", ".jsonl", ".csv", ".tsv")
    assert s.epochs == 5
    assert s.content_moderation is True
    assert s.log_prompts is False


def test_values_are_parsed_and_typed() -> None:
    s = Settings.from_env({
        "OCIFT_STAGE": "train", "OCIFT_EPOCHS": "3", "OCIFT_CONTENT_MODERATION": "false",
        "OCIFT_RAW_SUFFIXES": ".json, .ndjson", "OCIFT_TRAINING_METHOD": "LORA",
        "OCIFT_AUTH": "resource_principal", "PATH": "/usr/bin",
    })
    assert s.stage is Stage.TRAIN
    assert s.epochs == 3
    assert s.content_moderation is False
    assert s.raw_suffixes == (".json", ".ndjson")
    assert s.training_method is TrainingMethod.LORA
    assert s.auth is AuthMode.RESOURCE_PRINCIPAL


def test_bad_value_error_names_the_key_and_the_value() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"OCIFT_EPOCHS": "11"})
    assert "OCIFT_EPOCHS" in str(err.value)
    assert "'11'" in str(err.value)


def test_bad_stage_is_rejected_with_the_key() -> None:
    with pytest.raises(SettingsError, match="OCIFT_STAGE"):
        Settings.from_env({"OCIFT_STAGE": "deploy"})


def test_unknown_key_is_reported_with_the_known_ones() -> None:
    with pytest.raises(SettingsError, match="OCIFT_BUCKETT") as err:
        Settings.from_env({"OCIFT_BUCKETT": "x"})
    assert "OCIFT_BUCKET" in str(err.value)


def test_prefix_must_end_with_slash() -> None:
    with pytest.raises(SettingsError, match="OCIFT_RAW_PREFIX"):
        Settings.from_env({"OCIFT_RAW_PREFIX": "raw"})


def test_require_lists_every_missing_key() -> None:
    s = Settings.from_env({})
    with pytest.raises(SettingsError) as err:
        s.require("compartment_id", "namespace", "bucket")
    assert "OCIFT_COMPARTMENT_ID" in str(err.value)
    assert "OCIFT_NAMESPACE" in str(err.value)
    assert "OCIFT_BUCKET" not in str(err.value)


def test_env_round_trips() -> None:
    s = Settings.from_env({"OCIFT_STAGE": "infer", "OCIFT_RAW_SUFFIXES": ".a,.b",
                           "OCIFT_CONTENT_MODERATION": "false", "OCIFT_EPOCHS": "2"})
    assert Settings.from_env(s.env()) == s


def test_empty_value_means_default() -> None:
    assert Settings.from_env({"OCIFT_BUCKET": ""}).bucket == "ocift-datasets"
