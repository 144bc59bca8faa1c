"""The invocation wrapper with a real fdk context: log line, request id, prompts, config errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from shared import caches, logs
from shared.runtime import invoke
from shared.settings import Stage
from shared.stages import infer
from tests.support.fakes import COMPARTMENT, infer_backend
from tests.support.fdk import invoke_context

SECRET = "my account number is 12345678"


@pytest.fixture(autouse=True)
def _infer_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in [k for k in os.environ if k.startswith("OCIFT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCIFT_STAGE", "infer")
    monkeypatch.setenv("OCIFT_COMPARTMENT_ID", COMPARTMENT)
    caches.reset_all()
    yield
    caches.reset_all()


def _formatted(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The log lines exactly as the JSON formatter writes them."""
    fmt = logs.JsonFormatter()
    return [json.loads(fmt.format(r)) for r in caplog.records if r.name.startswith("ocift")]


def _ask(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
         call_id: str = "01CALL") -> tuple[Any, list[dict[str, Any]]]:
    be, _, _ = infer_backend()
    monkeypatch.setattr(infer, "backend", lambda settings: be)
    caplog.clear()
    with caplog.at_level("INFO"):
        resp = invoke(invoke_context(call_id, fn_name="ocift-infer"),
                      json.dumps({"prompt": SECRET, "model": "fin"}), Stage.INFER, infer.handle)
    return resp, _formatted(caplog)


def test_one_line_per_request_with_the_fdk_call_id_and_no_prompt(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    resp, lines = _ask(monkeypatch, caplog, call_id="01REQUEST")
    assert resp.status() == 200
    (line,) = [entry for entry in lines if entry["msg"] == "request answered"]
    assert line["request_id"] == "01REQUEST" and line["stage"] == "infer"
    assert line["status"] == 200 and line["model"] == "fin" and "elapsed_ms" in line
    assert "12345678" not in json.dumps(lines)


def test_log_prompts_true_really_logs_the_prompt(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OCIFT_LOG_PROMPTS", "true")
    _, lines = _ask(monkeypatch, caplog)
    (line,) = [entry for entry in lines if entry["msg"] == "request answered"]
    assert line["prompt"] == SECRET


def test_sensitive_keys_stay_redacted_without_the_opt_in(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO"):
        logs.get_logger("ocift.test").info("x", extra={"prompt": SECRET, "completion": SECRET})
    (line,) = _formatted(caplog)
    assert line["prompt"] == line["completion"] == "[redacted]"


def test_a_function_asked_to_run_another_stage_refuses_with_502(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    resp = invoke(invoke_context(fn_name="ocift-infer"), b"{}", Stage.INFER, infer.handle)
    assert resp.status() == 502
    assert "OCIFT_STAGE is convert" in json.loads(resp.body())["reason"]
