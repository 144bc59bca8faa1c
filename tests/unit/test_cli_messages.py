"""Issue 15: what ``ocift`` says when there is no target, a stale one, a bad file or flag.

Behaviour, not timing: a stale ``target.json`` is reported without a single connection
attempt (so no SDK retry can happen), and no user error ends in a traceback.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deploy.local.info import TargetInfo
from deploy.local.lock import TargetAlreadyRunning, TargetLock, running_holder
from shared.cli.main import main
from shared.cli.sniff import NotADataset, check_dataset_file
from shared.cli.upload import BadUpload, object_name
from shared.settings import Settings


def _info(state: Path, pid: int = 4242) -> TargetInfo:
    return TargetInfo(state_dir=str(state), emulator_endpoint="http://127.0.0.1:9",
                      gateway_url="http://127.0.0.1:9", config_file=str(state / "config"),
                      namespace="ns", compartment_id="ocid1.compartment.oc1..c",
                      bucket="ocift-datasets", pid=pid, started_at="2026-01-01T00:00:00+00:00")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connect made by the test's thread, or by a thread started during the
    test, is recorded and refused. Threads that were already running (a local target
    another test module keeps for the session, whose watch ticker calls its functions)
    connect as usual: they are not the CLI under test."""
    attempts: list[Any] = []
    others = {t.ident for t in threading.enumerate()} - {threading.get_ident()}

    def refusing(real: Callable[[socket.socket, Any], Any]) -> Callable[[socket.socket, Any], Any]:
        def attempt(self: socket.socket, address: Any) -> Any:
            if threading.get_ident() in others:
                return real(self, address)
            attempts.append(address)
            raise ConnectionRefusedError(111, "refused by the test")
        return attempt

    monkeypatch.setattr(socket.socket, "connect", refusing(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refusing(socket.socket.connect_ex))
    for name in ("OCIFT_OCI_PROFILE", "OCIFT_OCI_CONFIG_FILE", "OCIFT_AUTH",
                 "OCIFT_COMPARTMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return attempts


@pytest.mark.parametrize("argv", [["status"], ["upload", "data.json"], ["ask", "hi"],
                                  ["reconcile"], ["status", "--deliveries"]])
def test_a_stale_target_json_is_reported_at_once_without_connecting(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], no_network: list[Any]) -> None:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".ocift"
    state.mkdir()
    (state / "target.json").write_text(_info(state).model_dump_json())  # left by a dead `up`
    (tmp_path / "data.json").write_text(json.dumps([{"instruction": "q", "output": "a"}]))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no local target is running in .ocift (the last one, "
                          "pid 4242"), err
    assert "start it with `ocift up`" in err and "Traceback" not in err
    assert no_network == []  # not one connection: nothing for an SDK to retry


def test_without_any_state_it_says_start_a_local_target_first_then_a_tenancy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        no_network: list[Any]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.oci/config either
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no local target is running in .ocift")
    assert err.index("ocift up") < err.index("--profile") and ".oci/config" in err
    assert no_network == []


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    first = TargetLock(tmp_path)
    first.acquire()
    try:
        holder = running_holder(tmp_path)
        assert holder is not None and holder.pid is not None
        with pytest.raises(TargetAlreadyRunning, match=f"pid {holder.pid}") as err:
            TargetLock(tmp_path).acquire(grace=0.1)
        assert "--state-dir" in str(err.value)
    finally:
        first.release()
    assert running_holder(tmp_path) is None  # released: the next `up` may start
    second = TargetLock(tmp_path)
    second.acquire()
    second.release()


def _running_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TargetLock:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".ocift"
    state.mkdir()
    lock = TargetLock(state)
    lock.acquire()  # then target.json, as a starting target writes them (pid and time match)
    info = _info(state, pid=os.getpid()).model_copy(
        update={"started_at": datetime.now(UTC).isoformat(timespec="seconds")})
    (state / "target.json").write_text(info.model_dump_json())
    return lock


def test_a_1019_character_name_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                no_network: list[Any]) -> None:
    lock = _running_target(tmp_path, monkeypatch)
    (tmp_path / "d.json").write_text("[]")
    try:
        assert main(["upload", "d.json", "--name", "x" * 1019]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert "the dataset name is 1019 bytes long; at most 1009 fit" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert no_network == []  # refused before anything was written


def test_every_object_of_the_longest_allowed_name_fits() -> None:
    settings = Settings()
    name = object_name(settings, "d.json", "n" * 1009)
    assert name == "raw/" + "n" * 1009 + ".json"
    assert len(f"{settings.training_prefix}{'n' * 1009}.jsonl") == 1024
    with pytest.raises(BadUpload, match="at most 1009"):
        object_name(settings, "d.json", "n" * 1010)


@pytest.mark.parametrize(("content", "said"), [
    (b"hello, these are my notes\n", "it starts with 'hello, these are my notes'"),
    (gzip.compress(b"[]"), "it is gzip-compressed (it starts with bytes 1f 8b)"),
    (b"PK\x03\x04rest", "it is a ZIP archive"),
    (b'[{"a": "\x00"}]', "NUL byte at byte offset 8"),
    (b'[{"a": "caf\xe9"}]', "it is not UTF-8 text (byte 0xe9 at byte offset 11)"),
    (b"", "is empty"),
    (b"  \n\t", "holds only white space"),
])
def test_upload_refuses_what_cannot_be_a_dataset(content: bytes, said: str,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(NotADataset, match=None) as err:
        check_dataset_file(path)
    assert said in str(err.value)


def test_upload_accepts_json_and_json_lines_and_training_needs_objects(tmp_path: Path) -> None:
    for text in ('\ufeff[{"instruction": "q"}]', '  {"prompt": "p"}\n{"prompt": "q"}\n'):
        path = tmp_path / "ok.json"
        path.write_text(text, encoding="utf-8")
        check_dataset_file(path)
    path.write_text("[]")
    with pytest.raises(NotADataset, match="prompt/completion objects"):
        check_dataset_file(path, training=True)


def test_non_json_upload_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str],
                                        no_network: list[Any]) -> None:
    lock = _running_target(tmp_path, monkeypatch)
    (tmp_path / "notes.txt").write_text("just notes\n")
    try:
        assert main(["upload", "notes.txt"]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert "notes.txt is not a JSON or JSON Lines dataset" in err
    assert "nothing was uploaded" in err
    assert no_network == []


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "redrive" in top and "ocift up" in top
    assert main(["convert", "--help"]) == 0
    conv = capsys.readouterr().out
    assert conv.startswith("usage: ocift convert") and "--base-model" in conv
    assert "python -m shared.convert" not in conv
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    ask = capsys.readouterr().out
    assert "the prompt to send" in ask and "--endpoint-id ENDPOINT_ID" in ask
    assert "ask this endpoint OCID" in ask
    for flag in ("--compartment-id", "--bucket", "--profile", "--genai-endpoint"):
        assert flag not in ask  # only what applies to calling the inference route


def test_bad_set_flag_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["up", "--state-dir", str(tmp_path), "--set", "EPOCHS=2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set expects OCIFT_KEY=VALUE") and "Traceback" not in err


def test_an_unexpected_error_is_one_line_unless_debugging(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import shared.cli.main as cli

    def boom(args: Any) -> int:
        raise KeyError("oops")

    monkeypatch.setitem(cli.COMMANDS, "reconcile", boom)
    monkeypatch.delenv("OCIFT_DEBUG", raising=False)
    assert main(["reconcile"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected KeyError") and "OCIFT_DEBUG=1" in err
    monkeypatch.setenv("OCIFT_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["reconcile"])


def test_oci_service_errors_are_said_with_what_to_do() -> None:
    import oci

    from shared.cli.errors import user_message

    exc = oci.exceptions.ServiceError(404, "BucketNotFound", {}, "Either the bucket ...")
    message = user_message(exc)
    assert message is not None and message.startswith("OCI answered 404 BucketNotFound")
    assert "--bucket" in message
    assert user_message(RuntimeError("bug")) is None


def test_outcome_lines_name_the_dataset_and_say_the_reason() -> None:
    from datetime import datetime

    from deploy.local.outcomes import StageOutcome, format_line, from_answer, split_watch

    at = datetime(2026, 1, 1, 7, 20, 18)
    line = format_line(StageOutcome(stage="convert", dataset="fin", outcome="rejected",
                                    reason="only 3 usable\nexamples", elapsed_s=0.42, at=at))
    assert line.split() == ["07:20:18", "convert", "fin", "rejected", "0.42s", "only", "3",
                            "usable", "examples"]
    answer = json.dumps({"status": "done", "stage": "watch", "details": {
        "changed": ["fin: TRAINING", "bonds: MODEL_ACTIVE"], "resumed": ["fin: train"]}})
    outcome, reason = from_answer("watch", answer.encode())
    tick = StageOutcome(stage="watch", outcome=outcome, reason=reason, at=at)
    assert not tick.quiet
    lines = [(o.dataset, o.reason) for o in split_watch(tick)]
    # a hand-over names its dataset too (issue 27: "watch  -  resumed fin: train" before)
    assert lines == [("fin", "TRAINING"), ("bonds", "MODEL_ACTIVE"), ("fin", "handed to train")]
    idle = StageOutcome(stage="watch", outcome="done", at=at)
    assert idle.quiet and StageOutcome(stage="endpoint", outcome="skipped", at=at).quiet


def test_status_reads_live_progress_and_an_endpoint_that_became_active() -> None:
    from types import SimpleNamespace

    from shared.cli.status_view import DatasetRow, refresh_live, render

    class FakeGenAi:
        def get_work_request(self, wr_id: str) -> Any:
            return SimpleNamespace(data=SimpleNamespace(percent_complete=60.0))

        def get_endpoint(self, endpoint_id: str) -> Any:
            return SimpleNamespace(data=SimpleNamespace(lifecycle_state="ACTIVE"))

    training = DatasetRow(dataset="a", state="TRAINING", percent=0.0, model_id="m",
                          work_request_id="wr", valid=True, written=40, skipped=0)
    serving = DatasetRow(dataset="b", state="ENDPOINT_CREATING", endpoint_state="CREATING",
                         endpoint_id="e", model_id="m", model_state="ACTIVE",
                         model_version="1")
    for row in (training, serving):
        refresh_live(row, FakeGenAi())
    assert training.percent == 60.0 and "training 60%" in render([training])
    assert (serving.state, serving.endpoint_state) == ("ENDPOINT_ACTIVE", "ACTIVE")
    assert "the watcher records it on its next tick" in render([serving])
    assert serving.finished  # `ask` answers now, and status says so


def test_upload_accepts_csv_and_tsv_and_still_refuses_binary_or_non_utf8(tmp_path: Path) -> None:
    for name in ("qa.csv", "qa.TSV"):
        path = tmp_path / name
        path.write_bytes("\ufeffquestion,answer\nq,a\n".encode())
        check_dataset_file(path)
    bad = tmp_path / "bad.csv"
    for content, said in ((b"\x1f\x8b\x08rest", "gzip-compressed"),
                          (b"question,answer\nq\x00,a\n", "NUL byte"),
                          (b"question,answer\ncaf\xe9,a\n", "not UTF-8"),
                          (b"", "is empty")):
        bad.write_bytes(content)
        with pytest.raises(NotADataset, match=said):
            check_dataset_file(bad)
    named_json = tmp_path / "qa.json"
    named_json.write_bytes(b"question,answer\nq,a\n")
    with pytest.raises(NotADataset, match=r"name it \.csv"):
        check_dataset_file(named_json)


def test_upload_keeps_csv_and_tsv_suffixes() -> None:
    from shared.cli.upload import object_name
    assert object_name(Settings(), "data/QA.CSV") == "raw/QA.csv"
    assert object_name(Settings(), "t.tsv") == "raw/t.tsv"
    assert object_name(Settings(), "t.parquet") == "raw/t.json"
