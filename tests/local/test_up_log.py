"""``ocift up`` prints a line only for a change a user cares about (issue 27)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from deploy.local.outcomes import Repeats, StageOutcome
from tests.local.test_cli_lifecycle import OCIFT, _env, _ocift, _reader, _wait_line

LINE = re.compile(r"^\d\d:\d\d:\d\d  (\S+)\s+(\S+)\s+(\S+(?: \(attempt \d+\))?)\s+"
                  r"[\d.]+s\s*(.*)$")


def _outcome(stage: str, outcome: str, reason: str, dataset: str = "fin") -> StageOutcome:
    return StageOutcome(stage=stage, dataset=dataset, outcome=outcome, reason=reason,
                        at=datetime.now(UTC))


def test_an_unchanged_waiting_state_is_printed_once() -> None:
    repeats = Repeats()
    said = [repeats.fresh(o) for o in (
        _outcome("train", "pending", "fine-tuning cluster is CREATING"),
        _outcome("train", "pending", "fine-tuning  cluster is CREATING"),  # same words
        _outcome("endpoint", "pending", "hosting cluster is CREATING"),
        _outcome("endpoint", "pending", "hosting cluster is CREATING", dataset="other"),
        _outcome("endpoint", "pending", "hosting cluster is CREATING"),
        _outcome("endpoint", "done", "endpoint creating"),
        _outcome("endpoint", "failed", "502"), _outcome("endpoint", "failed", "502"),
        _outcome("train", "pending", "fine-tuning cluster is CREATING"),
    )]
    assert said == [True, False, True, True, False, True, True, True, False]


def test_up_prints_no_repeat_of_an_unchanged_state(tmp_path: Path) -> None:
    state = tmp_path / ".ocift"
    up = subprocess.Popen([*OCIFT, "up", "--state-dir", str(state), "--fast"], cwd=tmp_path,
                          env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    seen: list[str] = []
    try:
        lines = _reader(up.stdout)
        seen.append(_wait_line(lines, "ocift local target is up"))
        data = tmp_path / "fin.json"
        data.write_text(json.dumps([{"instruction": f"What does filing rule {i} require?",
                                     "input": "", "output": f"Records for {i} years."}
                                    for i in range(40)]))
        assert _ocift("upload", str(data), cwd=tmp_path).returncode == 0
        while not ("fin" in seen[-1] and "ENDPOINT_ACTIVE" in seen[-1]):
            seen.append(lines.get(timeout=120))
            assert seen[-1], "".join(seen)  # "" = ocift up ended
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    while (line := lines.get(timeout=10)):
        seen.append(line)
    out = "".join(seen)
    last: dict[tuple[str, str], tuple[str, str]] = {}
    repeated = []
    for text in out.splitlines():
        found = LINE.match(text)
        if not found:
            continue
        stage, dataset, outcome, reason = found.groups()
        if last.get((stage, dataset)) == (outcome, reason):
            repeated.append(text)
        last[(stage, dataset)] = (outcome, reason)
    assert last, out  # the lines were parsed
    assert repeated == [], out


def test_a_hand_off_line_names_its_dataset() -> None:
    from deploy.local.outcomes import dataset_of
    from shared.settings import Settings

    assert dataset_of(Settings(), "handoff/train/fin.json") == "fin"
    assert dataset_of(Settings(), "handoff/endpoint/team/q1.json") == "team/q1"
