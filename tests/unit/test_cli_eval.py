"""``ocift eval``: choosing the version, the text view, and what it says when there is none."""

from __future__ import annotations

import pytest

from shared.cli.evaluation import NoEvaluation, pick, render
from shared.evaluation.report import (
    BaseKind,
    BaseTarget,
    EvaluationReport,
    Example,
    answer_example,
)


def _report(version: str, base: BaseKind = BaseKind.ON_DEMAND) -> EvaluationReport:
    examples = [answer_example(Example(index=i, prompt=f"p{i}", reference=f"ref {i} words",
                                       claimed_by="x"),
                               f"ref {i} words" if i else "nothing",
                               None if base is BaseKind.NONE else "other")
                for i in range(3)]
    report = EvaluationReport(dataset="d", model_version=version, model_id=f"m{version}",
                              endpoint_id="e", eval_object="eval/d.jsonl", eval_etag="x",
                              split_size=3, examples=examples,
                              base=BaseTarget(kind=base, reason="no base: configured off"
                                              if base is BaseKind.NONE else ""))
    report.aggregate()
    return report


def test_the_newest_version_unless_one_is_named() -> None:
    reports = [_report("1"), _report("2")]
    assert pick(reports, "d", None).model_version == "2"
    assert pick(reports, "d", "1").model_version == "1"
    with pytest.raises(NoEvaluation, match="no evaluation of version 3; evaluated versions: 1, 2"):
        pick(reports, "d", "3")
    with pytest.raises(NoEvaluation, match="when a version's endpoint becomes ACTIVE"):
        pick([], "d", None)


def test_the_text_view_shows_scores_verdicts_and_the_worst_example_first() -> None:
    text = render(_report("2"))
    lines = text.splitlines()
    assert lines[0] == "d version 2: F1 0.67 vs base 0.00"
    assert "2 wins, 1 ties, 0 losses (by token F1)" in text  # "nothing" vs "other": a tie
    worst = next(i for i, line in enumerate(lines) if line.startswith("  F1"))
    assert lines[worst].startswith("  F1 0.00") and "prompt:    p0" in lines[worst]


def test_without_a_base_the_reason_is_shown() -> None:
    text = render(_report("1", BaseKind.NONE))
    assert "base        none: no base: configured off" in text
    assert "wins" not in text
