"""Benchmark: what the held-out evaluation split costs the converter (issue 25).

Converts the same finance-alpaca-shaped dataset in process with ``eval_size=0`` (no
split: the baseline) and ``eval_size="auto"`` (the pipeline's default: a CRC-32 per
record and a bounded bottom-k buffer), alternating runs, and prints the medians and
their ratio, measured in the same run.

    .venv/bin/python bench/eval_split_bench.py --records 300000 --repeat 5
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.convert_bench import SCALE, generate  # noqa: E402
from shared.convert.core import convert_plain  # noqa: E402


class _Sink:
    def write(self, data: bytes, /) -> int:
        return len(data)


def _run(data: bytes, eval_size: int | str) -> tuple[float, int, int]:
    held = io.BytesIO()
    started = time.perf_counter()
    found = convert_plain(io.BytesIO(data), _Sink(), eval_size=eval_size,  # type: ignore[arg-type]
                          eval_out=held, size_hint=len(data))
    elapsed = time.perf_counter() - started
    assert found.valid
    return elapsed, found.records_written, found.eval_records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.json"
        generate(path, args.records, scale=SCALE)
        data = path.read_bytes()
    times: dict[str, list[float]] = {"none": [], "auto": []}
    counts: dict[str, tuple[int, int]] = {}
    for i in range(args.repeat):
        for name in (("none", "auto") if i % 2 == 0 else ("auto", "none")):
            elapsed, written, held = _run(data, 0 if name == "none" else "auto")
            times[name].append(elapsed)
            counts[name] = (written, held)
    none, auto = statistics.median(times["none"]), statistics.median(times["auto"])
    print(json.dumps({
        "records": args.records, "mb": round(len(data) / 1e6, 1), "repeat": args.repeat,
        "no_split_s": round(none, 3), "auto_split_s": round(auto, 3),
        "ratio_auto_to_none": round(auto / none, 3),
        "written_held_out": {k: list(v) for k, v in counts.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
