"""``python -m shared.convert``: exit codes, atomic output, report rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.convert.cli import main
from tests.support.convert import alpaca, dumps

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "deploy" / "local" / "samples" / "finance_alpaca_sample.json"


def test_valid_dataset_writes_output_and_table(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(dumps(alpaca(40)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    report_path = tmp_path / "report.json"
    assert main([str(src), str(out), "--report", str(report_path)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40
    table = capsys.readouterr().out
    assert "VALID" in table and "records written" in table and "40" in table
    assert json.loads(report_path.read_text())["records_written"] == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.jsonl", "report.json"]
    assert out.stat().st_mode & 0o777 == 0o600  # written to a private file, then renamed


@pytest.mark.parametrize("content", [
    dumps(alpaca(40))[:-300],                   # truncated
    json.dumps({"records": alpaca(40)}),       # top-level object
    dumps(alpaca(10)),                          # too few
])
def test_invalid_dataset_leaves_no_file(tmp_path: Path, content: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main([str(src), str(out)]) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.json"]  # no temp file left either
    table = capsys.readouterr().out
    assert "INVALID" in table and "how to fix" in table


def test_invalid_dataset_keeps_previous_output(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text("[", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    assert main([str(src), str(out)]) == 1
    assert out.read_text() == "previous\n"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main([]) == 2
    assert main([str(tmp_path / "missing.json"), str(tmp_path / "o.jsonl")]) == 2
    src = tmp_path / "in.json"
    src.write_text(dumps(alpaca(40)))
    assert main([str(src), str(tmp_path / "no" / "dir" / "o.jsonl")]) == 2
    assert main([str(src), "--no-such-flag"]) == 2


def test_validate_only_json_output_and_base_model(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(dumps(alpaca(40)))
    assert main([str(src), "--json", "--base-model", "meta.llama-3.3-70b-instruct"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] and doc["rules"]["family"] == "meta.llama"
    assert [p.name for p in tmp_path.iterdir()] == ["in.json"]


def test_progress_bar_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.json"
    src.write_text(dumps(alpaca(40)))
    assert main([str(src), str(tmp_path / "o.jsonl"), "--progress"]) == 0
    err = capsys.readouterr().err
    assert "100.0%" in err and "MB/s" in err


def test_module_entry_point_on_bundled_sample(tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl"
    proc = subprocess.run([sys.executable, "-m", "shared.convert", str(SAMPLE), str(out)],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert len(rows) == len(records) and 80 <= len(rows) <= 150
    assert "skipped" in proc.stdout


def test_bundled_sample_shape() -> None:
    assert SAMPLE.stat().st_size < 100_000
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert all(set(r) == {"instruction", "input", "output", "text"} for r in records)
    assert any(r["input"] for r in records)
    text = SAMPLE.read_text(encoding="utf-8")
    assert all(ch in text for ch in ("€", "¥", "café"))
    assert any(ord(ch) > 0xFFFF for ch in text)  # at least one emoji
    questions = [r["instruction"] for r in records]
    assert len(set(questions)) == len(questions)


def test_field_mapping_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(json.dumps({"f": f"Q{i}", "a": f"A{i}", "k": "ctx"})
                             for i in range(40)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main([str(raw), str(out)]) == 1  # no known shape: refused, with the flags named
    assert "--prompt-field" in capsys.readouterr().out and not out.exists()
    assert main([str(raw), str(out), "--prompt-field", "f", "--completion-field", "a",
                 "--context-field", "k"]) == 0
    table = capsys.readouterr().out
    assert "field-mapped records (f/a, context k) in JSON Lines" in table
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first == {"prompt": "Q0\n\nContext:\nctx", "completion": "A0"}
    capsys.readouterr()
    assert main([str(raw), "--prompt-field", "f"]) == 2  # half a mapping is a usage error
    assert "set both --prompt-field and --completion-field" in capsys.readouterr().err
    assert main([str(raw), "--context-field", "k"]) == 2
    assert "--context-field is set without --prompt-field" in capsys.readouterr().err
    assert main([str(raw), "--prompt-field", "f", "--completion-field", "f"]) == 2
