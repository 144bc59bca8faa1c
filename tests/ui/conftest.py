"""Fixtures for the web page: a running local target with ``ocift ui`` in front of it, and
Debian's headless Chromium driven by Selenium through Debian's chromedriver.

The browser is required: a missing one FAILS these tests (``.ci/run`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deploy.local.target import LocalTarget
from shared import caches
from shared.cli.connection import Connection, local_settings
from shared.cli.demo import fast_paces
from shared.ui.server import UiServer
from shared.ui.view import PipelineView
from tests.support.ui import BROWSER_FLAGS, CHROMEDRIVER, CHROMIUM, Served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    target = LocalTarget(root / ".ocift", watch_interval=0.2, backoff_base=0.05)
    with target:
        fast_paces(target)
        caches.reset_all()
        assert target.info is not None
        conn = Connection(local_settings(target.info), f"{target.info.gateway_url}/infer",
                          local=True)
        server = UiServer(PipelineView(conn, target.state_dir, poll_seconds=0.5)).start()
        try:
            yield Served(target, server, root)
        finally:
            server.stop()
    caches.reset_all()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"headless browser missing ({', '.join(missing)}): install it with "
                    "'apt-get update && apt-get install -y chromium chromium-driver' "
                    "(bash .ci/run does)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
