"""The held-out evaluation split (shared.convert.holdout, via convert_stream)."""

from __future__ import annotations

import io
import json
import random

import pytest

from shared.convert import convert_stream
from shared.convert.holdout import MAX_EVAL_SIZE, check_size, target_size
from shared.convert.report import ConversionReport


def _records(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [{"prompt": f"question {i} {rng.random()}", "completion": f"answer {i}"}
            for i in range(n)]


def _convert(records: list[dict[str, str]], eval_size: int | str = "auto",
             chunk_size: int = 1 << 16) -> tuple[ConversionReport, list[dict[str, str]],
                                                  list[dict[str, str]]]:
    out, ev = io.BytesIO(), io.BytesIO()
    report = convert_stream(io.BytesIO(json.dumps(records).encode()), out,
                            eval_size=eval_size,  # type: ignore[arg-type]
                            eval_out=ev, chunk_size=chunk_size)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    held = [json.loads(x) for x in ev.getvalue().splitlines()]
    return report, lines, held


@pytest.mark.parametrize(("usable", "expected"), [
    (52, 20), (999, 20), (1000, 20), (1025, 20), (1026, 21), (5000, 100), (10_000, 200),
    (1_000_000, 200), (51, 0), (40, 0), (32, 0)])
def test_size_rule(usable: int, expected: int) -> None:
    size, note = target_size(usable, "auto", 32)
    assert size == expected
    assert (note is None) == (expected > 0)


def test_explicit_size_and_its_bounds() -> None:
    assert target_size(100, 50, 32) == (50, None)
    assert target_size(100, 69, 32)[0] == 0  # would leave 31
    assert target_size(100, 0, 32) == (0, None)
    with pytest.raises(ValueError, match="0 to 1000"):
        check_size(MAX_EVAL_SIZE + 1)
    with pytest.raises(ValueError, match="'auto' or a whole number"):
        check_size(-1)


def test_split_is_disjoint_complete_and_sized() -> None:
    records = _records(3000)
    report, training, held = _convert(records)
    assert report.valid and report.eval_records == len(held) == 60  # 2 % of 3000
    assert report.records_written == len(training) == 2940
    assert {r["prompt"] for r in training}.isdisjoint({r["prompt"] for r in held})
    assert sorted(map(json.dumps, training + held)) == sorted(map(json.dumps, records))


def test_split_depends_on_content_only() -> None:
    records = _records(2000, seed=3)
    _, _, first = _convert(records)
    shuffled = records[:]
    random.Random(9).shuffle(shuffled)
    _, _, again = _convert(shuffled, chunk_size=4096)  # another order, other batches
    assert again == first


def test_more_data_only_removes_examples_from_the_split() -> None:
    records = _records(2000, seed=4)
    _, _, small = _convert(records, eval_size=40)
    _, _, big = _convert([*records, *_records(3000, seed=5)], eval_size=40)
    before = {r["prompt"] for r in small}
    after = {r["prompt"] for r in big}
    kept = [r["prompt"] for r in big if r["prompt"] in before]
    # everything of the old split that is still in the new one: a bottom-k property
    assert len(after) == 40 and len(kept) > 0
    assert all(p in after for p in kept)


def test_a_prompt_shared_across_the_cut_stays_in_training() -> None:
    records = _records(500, seed=6)
    _, _, held = _convert(records, eval_size=25)
    boundary = held[-1]["prompt"]
    # the same prompt with other completions: the group straddles the cut
    twins = [{"prompt": boundary, "completion": f"variant {i}"} for i in range(5)]
    report, training, held2 = _convert([*records, *twins], eval_size=25)
    assert boundary not in {r["prompt"] for r in held2}
    assert {r["prompt"] for r in training}.isdisjoint({r["prompt"] for r in held2})
    assert report.eval_records == len(held2) == 24


def test_too_small_for_a_split_says_so_and_trains_everything() -> None:
    report, training, held = _convert(_records(45))
    assert report.valid and report.eval_records == 0 and held == []
    assert len(training) == 45
    assert any("no evaluation split" in n for n in report.notes)


def test_disabled_by_default_in_the_library() -> None:
    records = _records(3000)
    out = io.BytesIO()
    report = convert_stream(io.BytesIO(json.dumps(records).encode()), out)
    assert report.eval_records == 0 and report.records_written == 3000


def test_invalid_dataset_writes_no_split() -> None:
    report, _, held = _convert([{"prompt": "p", "completion": ""}] * 5)
    assert not report.valid and held == [] and report.eval_records == 0


def test_a_dataset_too_small_for_a_split_keeps_its_order() -> None:
    records = _records(45, seed=8)
    _, training, _ = _convert(records)
    assert training == records
