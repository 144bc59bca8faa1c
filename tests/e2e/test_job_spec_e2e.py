"""Each dataset its own job (issue 24), through the real event path and fdk runtime.

* ``ocift upload --base-model meta.llama-3.3-70b-instruct --method LORA --epochs 2`` makes a
  model whose fine-tune details (read back with the real SDK) have exactly those;
* metadata set with the plain SDK (no CLI) is honoured, and the same content with another
  spec is a new model version while the same content and spec is a duplicate;
* ``--epochs 0`` is REJECTED naming the key and OCI's range, and no cluster is created.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from shared import jobspec, tags
from shared.cli.main import main as ocift
from tests.e2e.test_pipeline_e2e import (
    _clusters,
    _genai,
    _os,
    _pipeline_models,
    _raw,
    _start,
    _wait_state,
)
from tests.support.targets import RecordingTarget

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _upload(target: RecordingTarget, path: Path, *flags: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ocift(["upload", str(path), "--state-dir", str(target.state_dir), *flags])
    assert code == 0, err.getvalue()
    return out.getvalue()


def _config(target: RecordingTarget, model_id: str) -> Any:
    return _genai(target).get_model(model_id).data.fine_tune_details.training_config


def test_upload_flags_choose_base_model_method_and_epochs(tmp_path: Path) -> None:
    with _start(tmp_path) as target:
        _upload(target, _raw(tmp_path / "llama.json", "llama"), "--base-model",
                "meta.llama-3.3-70b-instruct", "--method", "LORA", "--epochs", "2")
        doc = _wait_state(target, "llama", "ENDPOINT_ACTIVE", "REJECTED", "ENDPOINT_FAILED")
        assert doc["state"] == "ENDPOINT_ACTIVE", doc.get("reason")
        assert doc["base_model"] == "meta.llama-3.3-70b-instruct"
        assert doc["spec"]["epochs"] == 2 and doc["spec"]["training_method"] == "LORA"
        assert sorted(doc["spec"]["from_dataset"]) == ["base_model", "epochs", "training_method"]
        [model] = _pipeline_models(target, "llama")
        config = _config(target, model.id)
        assert config.training_config_type == "LORA_TRAINING_CONFIG"
        assert config.total_training_epochs == 2
        base = _genai(target).get_model(model.base_model_id).data
        assert base.display_name == "meta.llama-3.3-70b-instruct"
        spec = jobspec.EffectiveSpec.model_validate(doc["spec"])
        assert model.freeform_tags[tags.SPEC_SHA256] == spec.digest()
        [ft] = _clusters(target, "FINE_TUNING")
        assert (ft.unit_shape, ft.unit_count) == ("LARGE_GENERIC", 2)  # Llama's, not command-r's


def test_sdk_metadata_is_honoured_and_a_new_spec_is_a_new_version(tmp_path: Path) -> None:
    with _start(tmp_path) as target:
        assert target.info is not None
        client = _os(target)
        raw = _raw(tmp_path / "sdk.json", "sdk")
        body = raw.read_bytes()
        client.put_object(target.info.namespace, target.info.bucket, "raw/sdk.json", body,
                          opc_meta={"ocift-epochs": "3", "ocift-learning-rate": "0.005"})
        first = _wait_state(target, "sdk", "ENDPOINT_ACTIVE", "REJECTED", "ENDPOINT_FAILED")
        assert first["state"] == "ENDPOINT_ACTIVE", first.get("reason")
        [model] = _pipeline_models(target, "sdk")
        config = _config(target, model.id)
        assert (config.total_training_epochs, config.learning_rate) == (3, 0.005)
        assert config.training_config_type == "TFEW_TRAINING_CONFIG"  # the pipeline's default

        # The same bytes with the same spec (the prefix form of the key this time): nothing new.
        client.put_object(target.info.namespace, target.info.bucket, "raw/sdk.json", body,
                          opc_meta={"opc-meta-ocift-epochs": "3",
                                    "ocift-learning-rate": "0.005"})
        _wait_state(target, "sdk", "ENDPOINT_ACTIVE")
        assert target.wait_idle(60)
        assert len(_pipeline_models(target, "sdk")) == 1
        # The same bytes with another spec: a new model version trained with it.
        client.put_object(target.info.namespace, target.info.bucket, "raw/sdk.json", body,
                          opc_meta={"ocift-epochs": "4"})

        def second_version() -> bool:
            return len(_pipeline_models(target, "sdk")) == 2

        from tests.support.wait import wait_until

        wait_until(second_version, "a second model version", timeout=120, interval=0.2)
        newest = max(_pipeline_models(target, "sdk"), key=lambda m: int(m.version))
        assert newest.version == "2" and _config(target, newest.id).total_training_epochs == 4
        assert newest.freeform_tags[tags.CONTENT_SHA256] == model.freeform_tags[
            tags.CONTENT_SHA256]
        assert newest.freeform_tags[tags.SPEC_SHA256] != model.freeform_tags[tags.SPEC_SHA256]


def test_epochs_zero_is_rejected_naming_the_key_and_range_with_no_cluster(
        tmp_path: Path) -> None:
    with _start(tmp_path) as target:
        _upload(target, _raw(tmp_path / "zero.json", "zero"), "--epochs", "0")
        doc = _wait_state(target, "zero", "REJECTED", "PENDING_CLUSTER", "TRAINING")
        assert doc["state"] == "REJECTED", doc
        assert jobspec.header_key("epochs") + "=0 is outside 1 to 10" in doc["reason"]
        assert "fine-tuning-parameters.htm" in doc["reason"]  # the docs page
        assert target.wait_idle(30)
        assert _clusters(target, "FINE_TUNING") == [] and _pipeline_models(target) == []
        assert target.router.status().dead_lettered_count == 0
        assert target.info is not None
        head = _os(target).head_object(target.info.namespace, target.info.bucket,
                                       "training/zero.jsonl")
        assert head.headers["opc-meta-ocift-epochs"] == "0"  # the spec travelled with the data
