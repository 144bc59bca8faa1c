"""README's two commands are the ones that are run: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, tests = _readme_commands()
    assert demo.endswith(".venv/bin/ocift demo")
    assert tests.endswith("scripts/test.sh")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci  # the very line, not a paraphrase


def test_the_test_script_installs_the_browser_and_checkov_when_missing() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "apt-get install -y -q chromium chromium-driver" in script
    assert ".venv-tools/bin/python -m pip install --quiet checkov" in script
    assert script.rstrip().endswith('exec .venv/bin/python -m pytest -q "$@"')
    assert (ROOT / "scripts" / "test.sh").stat().st_mode & 0o111
