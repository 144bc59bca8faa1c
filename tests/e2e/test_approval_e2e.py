"""Approval before anything bills (issue 24), through the real event path and fdk runtime.

With ``OCIFT_APPROVAL=required`` a valid dataset waits (AWAITING_APPROVAL) with its plan and
nothing is created until ``ocift approve``; it then reaches ENDPOINT_ACTIVE. A changed file
after the approval waits again (the approval was bound to v1's content), and ``ocift
reject`` ends it. A stage principal cannot write an approval.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import oci
import pytest

from shared.cli.main import main as ocift
from tests.e2e.test_pipeline_e2e import _clusters, _pipeline_models, _raw, _start, _wait_state
from tests.support.targets import RecordingTarget

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _cli(target: RecordingTarget, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ocift([*argv, "--state-dir", str(target.state_dir)])
    return code, out.getvalue(), err.getvalue()


def test_nothing_is_created_until_approved_and_a_changed_file_waits_again(
        tmp_path: Path) -> None:
    with _start(tmp_path, settings_overrides={"OCIFT_APPROVAL": "required"}) as target:
        raw = _raw(tmp_path / "gated.json", "gated")
        assert _cli(target, "upload", str(raw))[0] == 0
        waiting = _wait_state(target, "gated", "AWAITING_APPROVAL", "REJECTED", "TRAINING")
        assert waiting["state"] == "AWAITING_APPROVAL", waiting
        plan = waiting["plan"]
        # 60 usable records: 20 held out for the evaluation (OCIFT_EVAL_SIZE auto), 40 train
        assert plan["examples"] == 40 and plan["training_method"] == "TFEW"
        assert plan["evaluation"] == {"examples": 20, "fine_tuned_calls": 20, "base_calls": 20,
                                      "base": "on_demand", "billed_per_call": 20}
        assert plan["finetuning_cluster"] == {**plan["finetuning_cluster"], "action": "create",
                                              "shape": "SMALL_COHERE_V2", "units": 8}
        assert plan["hosting_cluster"]["minimum_unit_hours"] == 744
        assert plan["unit_hours"] == 752 and plan["cost"] is None  # no prices were set
        assert target.wait_idle(30)
        assert _clusters(target, "FINE_TUNING") == [] and _pipeline_models(target) == []
        code, out, _ = _cli(target, "status")
        assert code == 0 and "AWAITING_APPROVAL" in out and "ocift approve gated" in out

        code, out, err = _cli(target, "approve", "gated")
        assert code == 0, err
        done = _wait_state(target, "gated", "ENDPOINT_ACTIVE", "REJECTED", "ENDPOINT_FAILED")
        assert done["state"] == "ENDPOINT_ACTIVE", done.get("reason")
        assert len(_pipeline_models(target, "gated")) == 1

        # v2: other content. The approval of v1 does not approve it.
        rows = json.loads(raw.read_text(encoding="utf-8"))
        rows.append({"instruction": "What is new in v2?", "input": "", "output": "One row.",
                     "text": ""})
        raw.write_text(json.dumps(rows), encoding="utf-8")
        assert _cli(target, "upload", str(raw))[0] == 0
        again = _wait_state(target, "gated", "AWAITING_APPROVAL", "TRAINING")
        assert again["state"] == "AWAITING_APPROVAL"
        assert again["plan"]["content_sha256"] != plan["content_sha256"]
        assert again["plan"]["examples"] == 41
        assert target.wait_idle(30)
        assert len(_pipeline_models(target, "gated")) == 1  # nothing new was created

        code, out, err = _cli(target, "reject", "gated")
        assert code == 0, err
        ended = _wait_state(target, "gated", "REJECTED", "TRAINING")
        assert ended["state"] == "REJECTED" and ended["reason"] == "rejected by the user"
        assert len(_pipeline_models(target, "gated")) == 1
        code, _, err = _cli(target, "approve", "gated")  # nothing waits any more
        assert code == 2 and "not waiting for approval" in err
        assert target.router.status().dead_lettered_count == 0


def test_a_stage_principal_cannot_write_an_approval(tmp_path: Path) -> None:
    with _start(tmp_path, settings_overrides={"OCIFT_APPROVAL": "required"}) as target:
        assert target.runner is not None and target.info is not None
        for stage in ("train", "watch", "endpoint"):
            config = oci.config.from_file(
                target.runner.functions[stage].config["OCIFT_OCI_CONFIG_FILE"], "DEFAULT")
            client = oci.object_storage.ObjectStorageClient(
                config, service_endpoint=target.info.emulator_endpoint,
                retry_strategy=oci.retry.NoneRetryStrategy())
            with pytest.raises(oci.exceptions.ServiceError) as denied:
                client.put_object(target.info.namespace, target.info.bucket,
                                  "approvals/forged.json", b"{}")
            assert denied.value.status == 404
        assert target.emulator.objectstorage.list_objects(
            target.info.namespace, target.info.bucket, prefix="approvals/")[0] == []
