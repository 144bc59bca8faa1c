"""The page ships in the package and stays out of the function image."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from shared.ui.server import STATIC, static_text

REPO = Path(__file__).resolve().parents[2]


def test_the_function_image_leaves_the_ui_out() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "shared/ui" in ignored
    required = (REPO / "requirements.txt").read_text(encoding="utf-8")
    names = {re.split(r"[=<>\[]", line)[0].strip().lower()
             for line in required.splitlines() if line.strip() and not line.startswith("#")}
    # The image installs the function runtime only (bench/image_size.py measures these):
    # the same packages pyproject declares as dependencies, and nothing the page needs.
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = {re.split(r"[=<>\[ ]", dep)[0].strip().lower()
               for dep in declared["project"]["dependencies"]}
    assert names == runtime == {"fdk", "msgspec", "oci", "pydantic"}


def test_only_the_cli_reaches_the_ui() -> None:
    users = sorted(str(p.relative_to(REPO)) for root in ("functions", "shared")
                   for p in (REPO / root).rglob("*.py")
                   if "shared.ui" in p.read_text(encoding="utf-8")
                   and "shared/ui" not in str(p.relative_to(REPO)))
    assert users == ["shared/cli/main.py"]


def test_static_files_are_package_data() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["tool"]["setuptools"]["package-data"]["shared.ui"] == ["static/*"]
    page = static_text("index.html")
    for name in STATIC:
        assert f"/static/{name}" in page and static_text(name)
    text = page + static_text("app.js") + static_text("app.css")
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)  # no CDN, nothing remote
