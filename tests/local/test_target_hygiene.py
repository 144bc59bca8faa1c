"""Private state (issue 12.6) and no multipart upload outliving the run that started it (12.7)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deploy.local.target import LocalTarget
from tests.support.local import make_fn


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _too_open(root: Path) -> list[str]:
    """Entries under ``root`` (and root) readable, writable or searchable by group or others."""
    found = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if stat.S_IMODE(st.st_mode) & ~wanted:
            found.append(f"{oct(stat.S_IMODE(st.st_mode))} {path.relative_to(root)}")
    return found


def test_state_directory_is_0700_and_every_file_0600(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # A state directory written by an older version, open to everyone.
    (state / "logs").mkdir(parents=True)
    state.chmod(0o755)
    old_log = state / "logs" / "convert.log"
    old_log.write_text("old output\n")
    old_log.chmod(0o644)
    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    before = _umask()
    echo = make_fn("convert", "echo", TESTFN_DIR=str(fn_dir))  # logs to logs/convert.log
    with LocalTarget(state, watch_interval=0, function_overrides={"convert": echo}) as target:
        dataset = tmp_path / "d.json"
        dataset.write_text('[{"instruction": "q", "input": "", "output": "a"}]')
        target.upload(dataset, "raw/d.json")  # object + metadata, event, delivery, log
        assert target.wait_idle(60)
        assert (fn_dir / "convert.calls").exists()  # the function ran (its log is open)
        assert (state / "router" / "delivered.jsonl").exists()
        assert _too_open(state) == []
    assert _too_open(state) == []
    assert _umask() == before  # the process umask is given back when the target stops


def test_uploads_left_uncommitted_by_a_previous_run_are_aborted_on_start(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    with LocalTarget(state, watch_interval=0) as first:
        store, ns, bucket = first.emulator.objectstorage, first.emulator.namespace, first.bucket
        upload = store.create_upload(ns, bucket, "training/half.jsonl")
        store.upload_part(ns, bucket, "training/half.jsonl", upload.upload_id, 1, b"part one")
        store.put_object(ns, bucket, "misc/kept.txt", b"committed")
        assert [u.upload_id for u in store.list_uploads(ns, bucket)] == [upload.upload_id]
    # (A crash leaves the same on disk: the upload is persisted, its writer is gone.)
    with LocalTarget(state, watch_interval=0) as second:
        store, ns, bucket = second.emulator.objectstorage, second.emulator.namespace, \
            second.bucket
        assert second.cleaned["uploads"] == 1
        assert store.list_uploads(ns, bucket) == []
        assert store.head_object(ns, bucket, "misc/kept.txt").size == len(b"committed")
        # An upload started during this run is not touched.
        fresh = store.create_upload(ns, bucket, "training/new.jsonl")
        assert [u.upload_id for u in store.list_uploads(ns, bucket)] == [fresh.upload_id]
