"""Fixtures for the web page: a running local target with ``ocift ui`` in front of it, and
Debian's headless Chromium driven by Selenium through Debian's chromedriver.

The browser is required: a missing one FAILS these tests (``scripts/test.sh`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.ui import BROWSER_FLAGS, CHROMEDRIVER, CHROMIUM, Served, serve_page


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_page(tmp_path_factory.mktemp("ui")) as page:
        yield page


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"headless browser missing ({', '.join(missing)}): install it with "
                    "'apt-get update && apt-get install -y chromium chromium-driver' "
                    "(scripts/test.sh, the README's test command, does)", pytrace=False)
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
