"""Every ``ocift`` command's help says what it does, as typed (issue 27)."""

from __future__ import annotations

import contextlib
import io

import pytest

from shared.cli.entry import main as console_script
from shared.cli.main import COMMANDS

ALL = sorted([*COMMANDS, "convert"])
USES_INFERENCE_ROUTE = {"ask", "ui"}


def _help(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        code = console_script([command, "--help"])  # the console script's own path
        assert code == 0
    return out.getvalue()


@pytest.mark.parametrize("command", ALL)
def test_help_names_the_command_and_describes_it(command: str) -> None:
    text = _help(command)
    assert text.startswith(f"usage: ocift {command}"), text[:80]
    assert "%%" not in text and "python -m" not in text
    body = text.split("\n\n")
    # usage, then a description paragraph before the first option list
    description = next(p for p in body[1:] if p.strip())
    assert not description.startswith(("options:", "positional arguments:")), (command,
                                                                                  description)


@pytest.mark.parametrize("command", ALL)
def test_url_is_offered_only_where_the_inference_route_is_called(command: str) -> None:
    assert ("--url" in _help(command)) == (command in USES_INFERENCE_ROUTE)


def test_status_help_shows_a_plain_percent_sign() -> None:
    assert "(training %)" in _help("status")
