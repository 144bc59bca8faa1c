"""README's two commands are the ones that are run: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


def _cli_section() -> list[str]:
    """The command lines of README's "Using the CLI" block, comments stripped."""
    section = (ROOT / "README.md").read_text().split("## Using the CLI", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()
            if line.strip() and not line.startswith("#")]


def _second_terminal() -> dict[str, str]:
    """A shell environment where the venv is not active (no VIRTUAL_ENV, no .venv on PATH)."""
    import os

    venv = str(ROOT / ".venv")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not p.startswith(venv) and Path(p, "ocift").resolve()
            != (ROOT / ".venv/bin/ocift").resolve()]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("OCIFT_")}
    env["PATH"] = os.pathsep.join(path)
    return env


@pytest.mark.e2e
@pytest.mark.timeout(420)
def test_readme_cli_commands_work_as_typed_in_a_second_terminal(tmp_path: Path) -> None:
    """Every line of the CLI block, typed into a terminal where the venv is not active, from
    a directory holding the project's .venv: `ocift up --fast` in a first terminal."""
    import csv
    import json
    import shutil
    import signal
    import subprocess

    lines = _cli_section()
    assert all(line.startswith(".venv/bin/ocift ") for line in lines), lines
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # "in the same directory"
    sample = ROOT / "deploy" / "local" / "samples" / "finance_alpaca_sample.json"
    for name in ("my.json", "in.json"):
        shutil.copy(sample, tmp_path / name)
    with (tmp_path / "qa.csv").open("w", encoding="utf-8", newline="") as qa:
        rows = json.loads(sample.read_text(encoding="utf-8"))
        csv.writer(qa).writerows([("question", "answer"),
                                  *((r["instruction"], r["output"]) for r in rows)])
    env = _second_terminal()
    plain = subprocess.run(["bash", "-c", "ocift --help"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=False)
    assert plain.returncode == 127  # plain `ocift` is not found there: README must not say it

    def typed(line: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        line = re.sub(r"\s*\[[^]]*\]", "", line)  # optional parts ([--models] [DATASET])
        return subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    up_line = next(line for line in lines if line.endswith(" up --fast"))
    up = subprocess.Popen(["bash", "-c", f"exec {up_line}"], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert up.stdout is not None
        banner = []
        for text in up.stdout:
            banner.append(text)
            if text.startswith("In another terminal"):
                break
        # what `up` tells the user to type in the other terminal works there as typed
        assert ".venv/bin/ocift upload FILE / .venv/bin/ocift status" in banner[-1], banner
        ran = []
        for line in lines:
            if line == up_line:
                continue
            if line.endswith(" ui"):  # a server: it must print its login link, then stop it
                ui = subprocess.Popen(["bash", "-c", f"exec {line} --port 0"], cwd=tmp_path,
                                      env=env, stdout=subprocess.PIPE, text=True)
                assert ui.stdout is not None
                first = ui.stdout.readline()
                ui.send_signal(signal.SIGINT)
                ui.wait(timeout=30)
                assert "/login?token=" in first, first
                ran.append(line)
                continue
            done = typed(line)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            assert "Traceback" not in done.stdout + done.stderr, line
            ran.append(line)
            if line.endswith("--model my"):
                assert done.stdout.strip(), "ask printed no answer"
        assert json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])["prompt"]
        assert len(ran) == len(lines) - 1
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=60)


def test_the_second_terminal_sentence_names_commands_that_work_there() -> None:
    """README's intro tells what to type in a second terminal: the venv's ocift, not a bare
    `ocift` (command not found there) -- unless it says to activate the venv first."""
    readme = (ROOT / "README.md").read_text()
    sentence = readme[readme.index("in a second terminal"):][:600].split("\n\n")[0]
    commands = re.findall(r"`([^`]*ocift[^`]*)`", sentence)
    assert commands, sentence
    assert all(c.startswith(".venv/bin/ocift") for c in commands), commands
    assert "source .venv/bin/activate" in sentence
