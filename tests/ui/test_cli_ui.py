"""``ocift ui`` as a user starts it: it prints its URL and serves the running target."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.support.ui import REPO, Served

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_ocift_ui_prints_its_url_and_serves_the_local_target(served: Served) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "ui", "--port", "0",
                             "--state-dir", str(served.target.state_dir)], cwd=served.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ocift ui: http://127.0.0.1:") and "local target" in line, line
        login = line.split()[2]
        assert "/login?token=" in login
        url = login.split("login?", 1)[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=30)
        assert refused.value.code == 401  # not without the session
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(login, timeout=30) as page:  # -> 303 to the page, with the cookie
            assert b'name="ocift-token"' in page.read()
        with browser.open(url + "api/overview", timeout=30) as resp:
            overview = json.loads(resp.read())
        assert overview["local"] is True and overview["dead_letters"] == 0
        assert served.target.info is not None
        text = json.dumps(overview)
        assert served.target.info.config_file not in text and "PRIVATE KEY" not in text
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_ocift_ui_without_a_target_says_how_to_start_one(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "shared.cli.main", "ui", "--local"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "ocift up" in done.stderr
