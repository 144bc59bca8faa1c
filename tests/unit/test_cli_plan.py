"""``ocift plan`` offline (issue 24): the file converted in memory, nothing uploaded."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from shared.cli.main import main as ocift
from shared.plan import Plan


def _rows(n: int) -> list[dict[str, str]]:
    return [{"instruction": f"What does clause {i} say?", "input": "",
             "output": f"Clause {i} says payment is due in {i % 30 + 1} days."} for i in range(n)]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ocift(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no local target and an environment naming no tenancy."""
    monkeypatch.chdir(tmp_path)
    for name in ("OCIFT_OCI_PROFILE", "OCIFT_OCI_CONFIG_FILE", "OCIFT_AUTH",
                 "OCIFT_COMPARTMENT_ID", "OCIFT_UNIT_PRICES", "OCIFT_EPOCHS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "contracts.json"
    path.write_text(json.dumps(_rows(40)), encoding="utf-8")
    return path


def test_plan_shows_the_job_examples_clusters_and_commitments(offline: Path) -> None:
    code, out, err = _run("plan", str(offline), "--method", "LORA", "--epochs", "2")
    assert code == 0, err
    assert "nothing uploaded, nothing created" in out
    assert "method          LORA" in out and "epochs 2" in out
    assert "examples        40 after conversion" in out
    assert "8 x SMALL_COHERE_V2" in out and "744 unit-hours" in out
    assert "set OCIFT_UNIT_PRICES" in out and "cluster reuse not checked" in out
    assert not (offline.parent / ".ocift").exists()


def test_plan_json_is_the_record_and_prices_come_only_from_the_user(
        offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIFT_UNIT_PRICES", "SMALL_COHERE_V2=2")
    code, out, err = _run("plan", str(offline), "--json")
    assert code == 0, err
    plan = Plan.model_validate_json(out)
    assert (plan.training_method, plan.examples, plan.unit_hours) == ("TFEW", 40, 752.0)
    assert plan.cost == 1504.0 and plan.hosting_cluster.price_per_unit_hour == 2.0


@pytest.mark.parametrize(("flags", "expected"), [
    (["--epochs", "0"], "would be REJECTED: --epochs=0 is outside 1 to 10"),
    (["--base-model", "meta.llama-3.3-70b-instruct", "--batch-size", "32"],
     "--batch-size=32 is outside 8 to 16"),
    (["--method", "VANILLA"], "--method=VANILLA: training method VANILLA is not supported"),
    (["--base-model", "cohere.command-r-16k"], "--base-model=cohere.command-r-16k"),
    (["--epochs", "two"], "--epochs='two' is not a whole number"),
])
def test_plan_refuses_what_the_pipeline_would_reject(offline: Path, flags: list[str],
                                                     expected: str) -> None:
    code, out, err = _run("plan", str(offline), *flags)
    assert code == 2 and out == ""
    assert expected in err


def test_plan_of_a_dataset_that_would_not_convert(offline: Path) -> None:
    offline.write_text(json.dumps(_rows(3)), encoding="utf-8")
    code, _, err = _run("plan", str(offline))
    assert code == 2 and "would be rejected" in err and "32" in err


def test_plan_counts_the_held_out_split_and_the_evaluation_calls(offline: Path) -> None:
    offline.write_text(json.dumps(_rows(100)), encoding="utf-8")
    code, out, err = _run("plan", str(offline))
    assert code == 0, err
    # auto: 2 % of 100, at least 20 -> 20 held out, 80 train
    assert "examples        80 after conversion" in out
    assert ("evaluation      evaluation: 20 prompts, 20 to the endpoint and 20 to the base "
            "(on demand, billed per call)") in out
    code, out, err = _run("plan", str(offline), "--eval-size", "0", "--json")
    assert code == 0, err
    plan = Plan.model_validate_json(out)
    assert plan.examples == 100 and plan.evaluation is not None
    assert plan.evaluation.examples == 0 and plan.evaluation.billed_per_call == 0
