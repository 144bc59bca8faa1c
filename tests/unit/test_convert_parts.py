"""Converter building blocks (hash set, histogram) and a large generated stream."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from shared.convert import DatasetRules, convert_stream
from shared.convert.batches import count_newlines
from shared.convert.dedupe import HashSet64
from shared.convert.stats import EXACT, LengthHistogram
from tests.support.convert import RULES, ChunkReader, Sink, alpaca, dumps, lines, run


def test_hash_set_grows_and_finds_duplicates() -> None:
    seen = HashSet64(capacity=4)
    items = [f"line {i}".encode() for i in range(5000)]
    assert all(seen.add(item) for item in items)
    assert len(seen) == 5000 and (seen.mask + 1) * 5 >= 5000 * 8  # load factor <= 5/8
    assert not any(seen.add(item) for item in items[::7])
    assert seen.add(b"new") and len(seen) == 5001


def test_hash_set_batches_and_reserve() -> None:
    seen = HashSet64(capacity=4)
    seen.reserve(3000)
    slots = seen.mask + 1
    assert seen.add_hashes([5, 7, 5, 0, 1, 9]) == [2, 4]  # 0 stands for 1
    assert seen.add_hashes(list(range(10, 2990))) == []
    assert seen.mask + 1 == slots and len(seen) == 2984  # reserved: never grew
    assert seen.add_hashes([9, -3, -3]) == [0, 2]


def test_hash_set_batches_agree_with_a_python_set_when_slots_collide() -> None:
    """Batches mixing free slots, taken slots, two hashes wanting one slot and repeats
    within a batch: the duplicates reported are exactly a set's, in order."""
    rng = random.Random(16)
    seen = HashSet64(capacity=4)
    oracle: set[int] = set()
    for _ in range(60):
        # few distinct low bits: many hashes share a home slot; values repeat
        size = rng.randrange(1, 90)
        batch = [rng.randrange(-50, 50) * 4096 + rng.randrange(8) for _ in range(size)]
        expected = []
        for i, value in enumerate(batch):
            if (value or 1) in oracle:
                expected.append(i)
            oracle.add(value or 1)
        assert seen.add_hashes(batch) == expected
        assert len(seen) == len(oracle)


@pytest.mark.parametrize("line", [1, 40, 255, 256, 900, 5000])
def test_count_newlines_agrees_with_bytes_count(line: int) -> None:
    """Long lines (found one by one) and short ones (handed to bytes.count after 64)."""
    rng = random.Random(line)
    data = b"".join(b"x" * rng.randrange(line) + b"\n" for _ in range(300)) + b"tail"
    for start, end in ((0, len(data)), (3, len(data) - 2), (len(data) // 2, len(data)),
                       (5, 5)):
        assert count_newlines(data, start, end) == data.count(b"\n", start, end)
        assert count_newlines(bytearray(data), start, end) == data.count(b"\n", start, end)


def test_histogram_exact_and_big_values() -> None:
    hist = LengthHistogram()
    values = list(range(1, 101))
    for v in values:
        hist.add(v)
    s = hist.summary()
    assert (s.min, s.max, s.p50, s.p95, s.mean) == (1, 100, 50, 95, 50.5)
    big = LengthHistogram()
    for v in (10, EXACT * 3, EXACT * 3 + 5, EXACT * 10):
        big.add(v)
    s = big.summary()
    assert s.min == 10 and s.max == EXACT * 10
    assert s.mean == (10 + EXACT * 6 + 5 + EXACT * 10) / 4
    assert EXACT * 3 * 0.95 <= s.p50 <= EXACT * 3 + 5  # bucketed, within ~4%
    assert LengthHistogram().summary().max == 0


def test_jsonl_skipped_records_carry_line_numbers() -> None:
    recs: list[object] = list(alpaca(32))
    recs.insert(9, {"instruction": "", "input": "", "output": "x"})
    text = "\n".join(dumps(r) for r in recs) + "\n"
    report, _ = run(text)
    issue = report.skipped_examples[0]
    assert (issue.code, issue.record_index, issue.line) == ("empty_field", 9, 10)
    assert issue.byte_offset == len("\n".join(dumps(r) for r in recs[:9]).encode()) + 1


def test_random_unicode_records_round_trip_in_any_chunking() -> None:
    rng = random.Random(1234)
    alphabet = "abc xyz 123 €¥£ éàüñ 日本語 中文 한국어 😀🚀💡 \"\\/\t\u2028"
    recs = [{"prompt": "".join(rng.choices(alphabet, k=rng.randint(1, 60))) + f"#{i}",
             "completion": "".join(rng.choices(alphabet, k=rng.randint(1, 60))) + "."}
            for i in range(60)]
    for ensure_ascii in (True, False):
        data = json.dumps(recs, ensure_ascii=ensure_ascii).encode()
        sink = Sink()
        report = convert_stream(ChunkReader(data, [1, 2, 3, 5, 8, 13], seed=9), sink,
                                rules=RULES, chunk_size=16)
        assert report.valid, report.fatal
        expected = [{"prompt": r["prompt"].strip(), "completion": r["completion"].strip()}
                    for r in recs]
        assert lines(sink.data) == expected


def test_progress_every_few_megabytes() -> None:
    recs = [{**r, "output": r["output"] * 60} for r in alpaca(5_000)]
    data = dumps(recs).encode()
    assert len(data) > 9_000_000
    seen: list[int] = []
    convert_stream(ChunkReader(data), None, rules=RULES, progress=seen.append)
    assert len(seen) >= 2 and seen == sorted(seen) and seen[-1] == len(data)


class GeneratedArray:
    """A JSON array of ``n`` distinct records produced on the fly, never all in memory."""

    def __init__(self, n: int) -> None:
        self._parts = self._generate(n)
        self._buf = b""

    @staticmethod
    def _generate(n: int) -> Iterator[bytes]:
        yield b"["
        for i in range(n):
            sep = b"," if i else b""
            yield sep + json.dumps({
                "instruction": f"What is the yield of bond number {i}?", "input": "",
                "output": f"Bond {i} yields about {i % 9}.{i % 7} percent a year.",
                "text": ""}).encode()
        yield b"]"

    def read(self, n: int = -1) -> bytes:
        parts, size = [self._buf], len(self._buf)
        while n < 0 or size < n:
            part = next(self._parts, None)
            if part is None:
                break
            parts.append(part)
            size += len(part)
        data = b"".join(parts)
        if n < 0:
            self._buf = b""
            return data
        out, self._buf = data[:n], data[n:]
        return out


class CountingSink:
    """Counts the JSONL lines written without keeping them."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, data: bytes) -> int:
        self.lines += bytes(data).count(b"\n")
        return len(data)


def test_a_generated_stream_of_many_chunks_converts_every_record() -> None:
    # How much memory this takes is measured by bench/convert_bench.py, not asserted here.
    n = 20_000
    sink = CountingSink()
    report = convert_stream(GeneratedArray(n), sink, rules=DatasetRules.for_base_model(None))
    assert report.valid and report.records_written == n, report.fatal
    assert sink.lines == n


def test_mutated_inputs_never_crash_and_chunking_never_matters() -> None:
    rng = random.Random(2024)
    recs = [{"instruction": f"Q{i} café €?", "input": "ctx" if i % 3 else "",
             "output": f"A{i} 😀", "text": "t"} for i in range(34)]
    seeds = [json.dumps(recs, ensure_ascii=False).encode(),
             "\n".join(json.dumps(r) for r in recs).encode()]
    tokens = [b"[", b"]", b"{", b"}", b",", b'"', b"\\", b"\n", b"\xff", b"\xc3", b"1e5",
              b"true", b"\xef\xbb\xbf", b"[[[[", b'\\ud800', b" "]
    for _ in range(150):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[at:at] = rng.choice(tokens)
            elif op < 0.7:
                del data[at:at + rng.randint(1, 20)]
            else:
                data = data[:at]
        raw = bytes(data)
        big = convert_stream(ChunkReader(raw), (out_big := Sink()), rules=RULES)
        small = convert_stream(ChunkReader(raw, [1, 3, 7, 64], seed=1), (out_small := Sink()),
                               rules=RULES, chunk_size=64)
        assert big.valid == small.valid
        if big.fatal is not None and small.fatal is not None:
            # Counts stop where the error is found, which chunking decides (a bad UTF-8 byte
            # is seen as soon as its chunk is decoded); what and where must not change.
            assert (big.fatal.code, big.fatal.byte_offset) == (small.fatal.code,
                                                               small.fatal.byte_offset)
        else:
            assert big.model_dump() == small.model_dump()
        if big.valid:
            assert out_big.data == out_small.data and big.bytes_read == len(raw)
            rows = lines(out_big.data)
            assert len(rows) == big.records_written >= 32
            assert all(set(r) == {"prompt", "completion"} and r["prompt"] and r["completion"]
                       for r in rows)
        else:
            assert big.fatal is not None and big.fatal.code
