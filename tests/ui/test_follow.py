"""``ocift ui`` follows the local target: a stopped one is a clear 503 at once, a restarted
one (new emulator port and key) is served again without restarting ``ocift ui``."""

from __future__ import annotations

import argparse
import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from deploy.local.target import LocalTarget
from shared import caches, clients
from shared.cli.connection import connect
from shared.ui.follow import TargetFollower
from shared.ui.server import UiServer, view_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _get(srv: UiServer, path: str, cookie: str = "") -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_the_page_follows_a_stopped_and_restarted_target(tmp_path: Path) -> None:
    state = tmp_path / ".ocift"
    args = argparse.Namespace(local=True, state_dir=state, bucket=None, url=None)
    first = LocalTarget(state, watch_interval=0.2)
    first.start()
    server: UiServer | None = None
    try:
        server = UiServer(view_for(connect(args), args),
                          follower=TargetFollower(state, lambda: view_for(connect(args), args)))
        server.start()
        status, headers, _ = _get(server, f"/login?token={server.guard.login_token}")
        assert status == 303
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        status, _, body = _get(server, "/api/overview", cookie)
        assert status == 200 and json.loads(body)["local"] is True

        first.stop()
        status, headers, body = _get(server, "/api/overview", cookie)
        error = json.loads(body)["error"]
        assert status == 503 and error["code"] == "target_not_running"
        assert "ocift up" in error["message"] and headers["Retry-After"] == "2"
        assert "HTTPConnectionPool" not in error["message"]

        second = LocalTarget(state, watch_interval=0.2)
        second.start()
        try:
            status, _, body = _get(server, "/api/overview", cookie)
            assert status == 200, body
            assert second.info is not None
            assert server.view.settings.objectstorage_endpoint == second.info.emulator_endpoint
        finally:
            second.stop()
    finally:
        if server is not None:
            server.stop()
        first.stop()
        clients.reset_clients()
        caches.reset_all()


def test_while_a_new_target_starts_the_page_says_so_at_once(tmp_path: Path) -> None:
    """`ocift up` restarting holds the lock before it rewrites target.json: the old file's
    ports are dead, so the page must not try them (SDK retries took ~34 s, then raw
    connection-pool text; issue 27)."""
    import subprocess
    import sys

    state = tmp_path / ".ocift"
    args = argparse.Namespace(local=True, state_dir=state, bucket=None, url=None)
    first = LocalTarget(state, watch_interval=0.2)
    first.start()
    server: UiServer | None = None
    starting: subprocess.Popen[str] | None = None
    try:
        server = UiServer(view_for(connect(args), args),
                          follower=TargetFollower(state, lambda: view_for(connect(args), args)))
        server.start()
        _, headers, _ = _get(server, f"/login?token={server.guard.login_token}")
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        assert _get(server, "/api/overview", cookie)[0] == 200
        first.stop()
        starting = subprocess.Popen(  # a new `ocift up`: lock taken, target.json not yet
            [sys.executable, "-c", "import sys, time; from deploy.local.lock import TargetLock;"
             f"TargetLock({str(state)!r}).acquire(); print('locked', flush=True); "
             "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[2])
        assert starting.stdout is not None and starting.stdout.readline().strip() == "locked"
        status, _, body = _get(server, "/api/overview", cookie)
        error = json.loads(body)["error"]
        assert status == 503 and error["code"] == "target_not_running", body
        assert "starting" in error["message"]
        assert "HTTPConnectionPool" not in error["message"]
        starting.communicate("", timeout=30)  # it gives up; a real one starts instead
        second = LocalTarget(state, watch_interval=0.2)
        second.start()
        try:
            assert _get(server, "/api/overview", cookie)[0] == 200  # recovered by itself
        finally:
            second.stop()
    finally:
        if starting is not None and starting.poll() is None:
            starting.kill()
        if server is not None:
            server.stop()
        first.stop()
        clients.reset_clients()
        caches.reset_all()
