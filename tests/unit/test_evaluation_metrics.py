"""Scores of shared.evaluation.metrics against values computed by hand, and aggregation."""

from __future__ import annotations

import random

import pytest

from shared.evaluation import metrics
from shared.evaluation.report import (
    BaseKind,
    BaseTarget,
    EvaluationReport,
    EvaluationSummary,
    Example,
    Verdict,
    answer_example,
    mean_scores,
)


def test_normalisation_is_squad_style_and_unicode_aware() -> None:
    assert metrics.normalize("The  Cat, sat on A mat!") == "cat sat on mat"
    assert metrics.normalize("don't") == "dont"  # SQuAD deletes punctuation
    assert metrics.normalize("STRASSE Straße") == "strasse strasse"  # case folding
    fullwidth = "\uff46\uff55\uff4c\uff4c\uff0d\uff57\uff49\uff44\uff54\uff48"
    assert metrics.normalize(fullwidth) == "fullwidth"  # NFKC, then punctuation
    assert metrics.normalize("«Bonjour», dit-il…") == "bonjour ditil"
    assert metrics.tokens("東京は、大きい。") == ["東", "京", "は", "大", "き", "い"]


def test_exact_match() -> None:
    assert metrics.exact_match("The answer.", "answer") == 1.0
    assert metrics.exact_match("an answer", "the answers") == 0.0
    assert metrics.exact_match("", "") == 1.0
    assert metrics.exact_match("", "x") == 0.0


def test_token_f1_by_hand() -> None:
    # answer tokens: cat sat mat (3), reference: cat sat on mat (4); overlap 3
    # P = 3/3, R = 3/4, F1 = 2 * 1 * 0.75 / 1.75 = 6/7
    assert metrics.token_f1("the cat sat mat", "The cat sat on the mat") == pytest.approx(6 / 7)
    # multiset overlap: x x y vs x y y: overlap 2 (one x, one y), P = R = 2/3, F1 = 2/3
    assert metrics.token_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert metrics.token_f1("nothing shared", "other words") == 0.0
    # CJK: 東京 vs 東京都: overlap 2, P = 1, R = 2/3, F1 = 0.8
    assert metrics.token_f1("東京", "東京都") == pytest.approx(0.8)


def test_empty_answers_follow_squad() -> None:
    assert metrics.token_f1("", "") == 1.0
    assert metrics.token_f1("", "something") == 0.0
    assert metrics.token_f1("something", "") == 0.0
    assert metrics.token_f1("the", "a") == 1.0  # both normalise to nothing
    assert metrics.rouge_l("", "") == 1.0
    assert metrics.rouge_l("x", "") == 0.0
    assert metrics.length_ratio("x", "") is None


def test_rouge_l_by_hand() -> None:
    # answer "w1 w2 w3 w4" vs reference "w1 w3 w5 w4": LCS = w1 w3 w4 = 3, P = R = 3/4
    assert metrics.rouge_l("w1 w2 w3 w4", "w1 w3 w5 w4") == pytest.approx(0.75)
    # order matters for ROUGE-L but not for token F1
    assert metrics.rouge_l("y x", "x y") == pytest.approx(0.5)
    assert metrics.token_f1("y x", "x y") == 1.0


def _lcs_table(a: list[str], b: list[str]) -> int:
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            rows[i + 1][j + 1] = (rows[i][j] + 1 if x == y
                                  else max(rows[i][j + 1], rows[i + 1][j]))
    return rows[-1][-1]


def test_bit_parallel_lcs_matches_the_table() -> None:
    rng = random.Random(25)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 30))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 90))]
        assert metrics.lcs_length(a, b) == _lcs_table(a, b), (a, b)


def test_length_ratio_and_verdict() -> None:
    assert metrics.length_ratio("one two three four", "one two") == 2.0
    assert metrics.verdict(0.5, 0.2) == "win"
    assert metrics.verdict(0.2, 0.5) == "loss"
    assert metrics.verdict(0.3, 0.3) == "tie"


def _report(examples: list[Example], base: BaseKind = BaseKind.ON_DEMAND) -> EvaluationReport:
    return EvaluationReport(dataset="d", model_version="1", model_id="m", endpoint_id="e",
                            base=BaseTarget(kind=base), eval_object="eval/d.jsonl",
                            eval_etag="x", split_size=len(examples), examples=examples)


def test_aggregation_and_win_tie_loss() -> None:
    ex = [Example(index=i, prompt=f"p{i}", reference=r, claimed_by="inv")
          for i, r in enumerate(["red apple", "blue sky", "green tree"])]
    done = [answer_example(ex[0], "red apple", "apple"),      # ft 1.0, base 2/3: win
            answer_example(ex[1], "grey sky", "grey sky"),     # 0.5 vs 0.5: tie
            answer_example(ex[2], "nothing", "green tree")]   # 0 vs 1: loss
    report = _report(done)
    report.aggregate()
    assert (report.wins, report.ties, report.losses) == (1, 1, 1)
    assert report.fine_tuned_scores is not None and report.base_scores is not None
    assert report.fine_tuned_scores.token_f1 == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert report.base_scores.token_f1 == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert report.fine_tuned_scores.exact_match == pytest.approx(1 / 3)
    assert report.complete and report.finished_at is not None
    assert report.headline() == "F1 0.50 vs base 0.72"
    summary = EvaluationSummary.of(report)
    assert [e.prompt for e in summary.examples] == ["p2", "p1", "p0"]  # worst first
    assert summary.examples[0].verdict is Verdict.LOSS


def test_without_a_base_there_is_no_verdict() -> None:
    ex = Example(index=0, prompt="p", reference="r s", claimed_by="inv")
    report = _report([answer_example(ex, "r", None)], base=BaseKind.NONE)
    report.aggregate()
    assert report.base_scores is None and report.wins == report.ties == report.losses == 0
    assert report.headline() == "F1 0.67 (no base)"
    assert EvaluationSummary.of(report).base is None


def test_incomplete_while_an_example_is_pending() -> None:
    ex = [Example(index=0, prompt="p", reference="r"), Example(index=1, prompt="q",
                                                               reference="s")]
    report = _report([answer_example(ex[0], "r", "r"), ex[1]])
    report.aggregate()
    assert not report.complete and report.headline() == "F1 1.00 vs base 1.00 (1/2)"
    assert mean_scores([]) is None


def test_the_plan_counts_evaluation_calls() -> None:
    from shared.evaluation.plan import evaluation_plan
    from shared.settings import Settings

    plan = evaluation_plan(60, Settings())
    assert (plan.fine_tuned_calls, plan.base_calls, plan.billed_per_call) == (60, 60, 60)
    assert "60 to the base (on demand, billed per call)" in plan.describe()
    capped = evaluation_plan(60, Settings(eval_max_prompts=25))
    assert (capped.examples, capped.billed_per_call) == (25, 25)
    named = evaluation_plan(60, Settings(eval_base_endpoint_id="ocid1.generativeaiendpoint.x"))
    assert named.base is BaseKind.ENDPOINT and named.billed_per_call == 0
    alone = evaluation_plan(60, Settings(eval_on_demand_base=False))
    assert alone.base_calls == 0 and alone.describe().endswith("no base")
    assert evaluation_plan(0, Settings()).describe() == "no evaluation (no held-out split)"
