"""Unit tests of the ``ocift`` CLI pieces: status table, connection choice, demo helpers,
ask client against a tiny local HTTP server."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from deploy.local.lock import TargetLock
from shared.cli import connection
from shared.cli.ask import describe_error, post_infer
from shared.cli.demo import DemoFailed, Progress, pick_question
from shared.cli.main import _parser, main
from shared.cli.status_view import DatasetRow, collect, render
from shared.settings import AuthMode, Settings
from shared.status import DatasetState, DatasetStatus
from tests.support.http import reply_json, serving


class FakeStore:
    def __init__(self, docs: dict[str, Any]) -> None:
        self.docs = docs

    def list_names(self, prefix: str) -> Iterator[str]:
        return iter(sorted(n for n in self.docs if n.startswith(prefix)))

    def read_json(self, name: str) -> tuple[Any, str] | None:
        return (self.docs[name], "etag") if name in self.docs else None

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        doc = self.docs.get(name)
        return None if doc is None else (json.dumps(doc).encode(), "etag")


def test_collect_joins_report_jsonl_and_status() -> None:
    status = DatasetStatus(dataset="fin", state=DatasetState.TRAINING, model_version="2",
                           percent_complete=40.0, model_metrics={"final_loss": 0.51234})
    store = FakeStore({
        "reports/fin.json": {"records_written": 120, "records_skipped": 5, "valid": True},
        "reports/bad.json": {"records_written": 2, "records_skipped": 0, "valid": False,
                             "fatal": {"message": "too few examples"}},
        "training/fin.jsonl": None,
        "status/fin.json": json.loads(status.model_dump_json()),
        "status/junk.json": {"nope": 1},
    })
    rows = collect(store, Settings())
    assert [r.dataset for r in rows] == ["bad", "fin"]
    bad, fin = rows
    assert (bad.valid, bad.reason, bad.finished) == (False, "too few examples", True)
    assert (fin.written, fin.skipped, fin.jsonl, fin.state, fin.percent) == (
        120, 5, True, "TRAINING", 40.0)
    assert not fin.finished
    table = render(rows)
    lines = table.splitlines()
    assert lines[0].split() == ["DATASET", "REPORT", "JSONL", "STATE", "MODEL", "METRICS",
                                "ENDPOINT", "EVAL"]
    fin_line = next(line for line in lines if line.startswith("fin"))
    assert "120 ok/5 skipped" in fin_line and "training 40% v2" in fin_line
    assert fin_line.count("TRAINING") == 1  # the MODEL column does not repeat the state
    assert "loss 0.51" in fin_line  # metrics in words (shared.metrics), not raw keys
    bad_line = next(line for line in lines if line.startswith("bad"))
    assert "INVALID" in bad_line and " ok" not in bad_line  # nothing was written
    assert "bad: too few examples" in table


def test_render_empty() -> None:
    assert "ocift upload" in render([])


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["status", *argv])


def test_connection_reads_local_target_info(tmp_path: Path) -> None:
    from deploy.local.target import TargetInfo

    info = TargetInfo(state_dir=str(tmp_path), emulator_endpoint="http://127.0.0.1:1",
                      gateway_url="http://127.0.0.1:2", config_file="/x/config",
                      namespace="ns", compartment_id="ocid1.compartment.oc1..c",
                      bucket="b", pid=os.getpid(),  # the lock's holder (this process)
                      started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    (tmp_path / "target.json").write_text(info.model_dump_json())
    lock = TargetLock(tmp_path)
    lock.acquire()  # as the running target holds it
    try:
        conn = connection.connect(_args("--state-dir", str(tmp_path)))
    finally:
        lock.release()
    assert conn.local and conn.infer_url == "http://127.0.0.1:2/infer"
    s = conn.settings
    assert (s.bucket, s.namespace, s.auth, s.genai_inference_endpoint) == (
        "b", "ns", AuthMode.CONFIG_FILE, "http://127.0.0.1:1")


def test_connection_without_local_target_explains(tmp_path: Path) -> None:
    with pytest.raises(connection.TargetNotFound, match="ocift up"):
        connection.connect(_args("--local", "--state-dir", str(tmp_path)))


def test_connection_for_a_tenancy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCIFT_BUCKET", "from-env")
    # `ui` (like `ask`) calls the inference route, so it takes --url; status does not.
    conn = connection.connect(_parser().parse_args([
        "ui", "--profile", "PROD", "--config-file", "/c",
        "--compartment-id", "ocid1.compartment.oc1..x", "--url", "https://gw.example/infer"]))
    assert not conn.local and conn.infer_url == "https://gw.example/infer"
    s = conn.settings
    assert (s.bucket, s.oci_profile, s.oci_config_file, s.auth) == (
        "from-env", "PROD", "/c", AuthMode.CONFIG_FILE)


def test_pick_question(tmp_path: Path) -> None:
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([{"instruction": "", "output": "x"},
                                  {"instruction": "Q?", "input": "ctx", "output": "A."}]))
    assert pick_question(sample) == ("Q?\nctx", "A.")
    sample.write_text("[]")
    with pytest.raises(DemoFailed):
        pick_question(sample)


def test_progress_prints_each_stage_once(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    progress = Progress(sys.stdout, 0.0)
    row = DatasetRow(dataset="d", written=40, skipped=1, valid=True, jsonl=True,
                     state="TRAINING", percent=20.0)
    progress.update(row)
    progress.update(row)
    progress.update(row.model_copy(update={"percent": 60.0}))
    progress.update(row.model_copy(update={"state": "ENDPOINT_ACTIVE", "model_state": "ACTIVE",
                                           "model_version": "1", "endpoint_id": "ocid1.e"}))
    out = capsys.readouterr().out
    assert out.count("converted: 40 records written, 1 skipped (valid)") == 1
    assert out.count("training 20%") == 1 and "training 60%" in out
    assert "model ACTIVE (version 1)" in out and "endpoint ACTIVE: ocid1.e" in out


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = 200 if body.get("model") == "ok" else 404
        payload = ({"text": f"echo {body['prompt']}", "auth": self.headers.get("Authorization")}
                   if status == 200 else {"error": {"code": "unknown_model", "message": "no"}})
        reply_json(self, status, payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    with serving(_Echo) as url:
        yield url


def test_post_infer_and_errors(echo_url: str) -> None:
    status, body = post_infer(echo_url, {"prompt": "hi", "model": "ok"},
                              {"Authorization": "Bearer t"})
    assert (status, body) == (200, {"text": "echo hi", "auth": "Bearer t"})
    status, body = post_infer(echo_url, {"prompt": "hi", "model": "x"})
    assert describe_error(status, body) == "404 unknown_model: no"
    with pytest.raises(ValueError):
        post_infer("file:///etc/passwd", {})


def test_ask_command_with_url(echo_url: str, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "hello", "--model", "ok", "--url", echo_url,
                 "--header", "Authorization: Bearer abc"]) == 0
    assert capsys.readouterr().out.strip() == "echo hello"
    assert main(["ask", "hello", "--model", "bad", "--url", echo_url]) == 1
    assert "404 unknown_model" in capsys.readouterr().err


def test_status_shows_the_first_skipped_records_of_a_dataset_with_skips() -> None:
    skipped = [{"code": "missing_field", "message": f"record has no answer ({i})",
                "record_index": i, "line": i + 1, "byte_offset": 10 * i, "hint": "h"}
               for i in range(5)]
    store = FakeStore({"reports/qa.json": {"records_written": 0, "records_skipped": 5,
                                           "valid": False, "skipped_examples": skipped,
                                           "fatal": {"message": "no usable record"}},
                       "reports/ok.json": {"records_written": 40, "records_skipped": 0,
                                           "valid": True, "skipped_examples": []}})
    rows = collect(store, Settings())
    table = render(rows)
    assert "first skipped records" in table
    assert "qa: [missing_field] record has no answer (0) [at record 1, line 1, byte 0]" in table
    assert "qa: [missing_field] record has no answer (2) [at record 3, line 3, byte 20]" in table
    assert "(3)" not in table  # only the first few
    assert not next(r for r in rows if r.dataset == "ok").skipped_examples
