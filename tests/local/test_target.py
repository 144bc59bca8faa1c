"""LocalTarget and ``python -m deploy.local``: composition, ticks, upload, clean stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from deploy.local.target import LocalTarget, read_info, watch_tick_body
from tests.support.local import children as _children
from tests.support.local import make_fn
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].split()[0] != "Z"


def _post(url: str, path: str, body: bytes) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_watch_tick_body_is_the_documented_shape() -> None:
    body = json.loads(watch_tick_body())
    assert body["source"] == "ocift.schedule" and body["kind"] == "watch-tick"
    assert body["time"].endswith("Z")


def test_target_composes_everything_and_stops_clean(tmp_path: Path) -> None:
    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    watch = make_fn("watch", "echo", TESTFN_DIR=str(fn_dir))
    target = LocalTarget(tmp_path / "state", watch_interval=0.2,
                         function_overrides={"watch": watch})
    with target:
        info = read_info(tmp_path / "state")
        assert info == target.info
        assert info.bucket == "ocift-datasets"
        assert target.emulator.objectstorage.ensure_bucket(
            info.namespace, info.bucket, info.compartment_id).name == "ocift-datasets"
        # Every stage function is configured for the emulator, with its own stage.
        assert target.runner is not None
        for name, fn in target.runner.functions.items():
            env = fn.environment()
            if name != "watch":
                assert env["OCIFT_STAGE"] == name
                assert env["OCIFT_OBJECTSTORAGE_ENDPOINT"] == info.emulator_endpoint
                # Its own principal (key + config), never the administrator's config.
                assert env["OCIFT_OCI_CONFIG_FILE"] != info.config_file
                assert env["OCIFT_OCI_CONFIG_FILE"].endswith(f"principals/fn-{name}/config")
                assert env["OCIFT_AUTH"] == "config_file"
        # The ticker calls watch with the tick body.
        wait_until(lambda: (fn_dir / "watch.calls").exists(), "a watch tick")
        tick = json.loads((fn_dir / "watch.calls").read_text().splitlines()[0])
        assert tick["kind"] == "watch-tick"
        # The gateway exposes /infer only.
        status, _ = _post(info.gateway_url, "/convert", b"{}")
        assert status == 404
        # Uploading a non-matching object creates no delivery.
        sample = tmp_path / "notes.txt"
        sample.write_text("hello")
        target.upload(sample, "misc/notes.txt")
        assert target.status().router.pending_count == 0
        watch_pid = target.runner.pid("watch")
        assert watch_pid is not None
    assert not _alive(watch_pid)
    assert target.status().functions and not any(f.running for f in target.status().functions)


def test_up_upload_status_commands_and_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    up = subprocess.Popen(
        [sys.executable, "-m", "deploy.local", "up", "--state-dir", str(state), "--quiet",
         "--watch-interval", "0", "--warm"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: (state / "target.json").exists() or up.poll() is not None,
                   "target.json (or `up` to exit)")
        assert up.poll() is None
        info = read_info(state)
        assert len(_children(up.pid)) >= 4  # --warm: every stage's fdk process is up
        raw = tmp_path / "tiny.json"
        raw.write_text(json.dumps([{"instruction": "Q?", "input": "", "output": "A."}]))
        done = subprocess.run(
            [sys.executable, "-m", "deploy.local", "upload", str(raw), "--state-dir", str(state)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True)
        uploaded = json.loads(done.stdout)
        assert uploaded["object"] == "raw/tiny.json" and uploaded["etag"]

        def convert_seen() -> bool:
            out = subprocess.run(
                [sys.executable, "-m", "deploy.local", "status", "--state-dir", str(state)],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True)
            status = json.loads(out.stdout)
            records = status["delivered"] + status["dead_lettered"] + status["pending"]
            return any(r["resource_name"] == "raw/tiny.json" for r in records)

        wait_until(convert_seen, "the router to take the raw/tiny.json event")
        children = _children(up.pid)
        assert children, "the convert function process should be running"
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
        assert up.returncode == 0, out
        assert info.emulator_endpoint in out and info.config_file in out
        assert "ocift-datasets" in out and info.gateway_url in out
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def test_state_and_queued_events_survive_a_restart(tmp_path: Path) -> None:
    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    state = tmp_path / "state"
    raw = tmp_path / "r.json"
    raw.write_text("[]")
    failing = make_fn("convert", "always_fail", TESTFN_DIR=str(fn_dir))
    with LocalTarget(state, watch_interval=0, backoff_base=600,
                     function_overrides={"convert": failing}) as first:
        etag = first.upload(raw, "raw/r.json")
        wait_until(lambda: (fn_dir / "convert.calls").exists(), "a convert call")
        wait_until(lambda: first.status().router.pending[0].attempts == 1,
                   "the failed attempt to be recorded")
    # The event is still queued on disk; a new target on the same state delivers it.
    healthy = make_fn("convert", "echo", TESTFN_DIR=str(fn_dir))
    with LocalTarget(state, watch_interval=0,
                     function_overrides={"convert": healthy}) as second:
        assert second.wait_idle(60)
        status = second.status().router
        assert status.pending_count == 0
        [done] = [r for r in status.delivered if r.resource_name == "raw/r.json"]
        assert done.attempts == 2
        info = second.info
        assert info is not None
        head = second.emulator.objectstorage.head_object(info.namespace, info.bucket,
                                                         "raw/r.json")
        assert head.etag == etag
    delivered = json.loads((fn_dir / "convert.calls").read_text().splitlines()[-1])
    assert delivered["data"]["additionalDetails"]["eTag"] == etag
