"""Benchmark: naive json.load conversion vs the streaming converter.

Generates finance-alpaca-shaped datasets (a JSON array of instruction / input /
output / text records) in a temp dir, then runs each converter in a fresh
subprocess and reads its peak RSS (VmHWM) and wall time. Ratios are against
the naive baseline measured in the same run.

    .venv/bin/python bench/convert_bench.py            # 70,000 and 1,000,000 records
    .venv/bin/python bench/convert_bench.py --quick    # 20,000 and 100,000 records
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_WORD_TEXT = """
the fund stock bond rate market investor portfolio interest yield price share
company risk return tax account savings budget credit loan debt income growth
inflation dividend equity asset index value cash bank mortgage retirement plan
expense revenue earnings capital fee long term short average annual monthly
"""
WORDS = tuple(_WORD_TEXT.split())
UNICODE = ("€", "¥", "café", "😀", "naïve", "¢")


def _sentence(rng: random.Random, n_words: int) -> str:
    words = rng.choices(WORDS, k=n_words)
    if rng.random() < 0.05:
        words.append(rng.choice(UNICODE))
    return " ".join(words).capitalize() + "."


def generate(path: Path, n: int, *, scale: float, seed: int = 7) -> int:
    """Write ``n`` records; ``scale`` multiplies text lengths (1.0 ~ finance-alpaca)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("[\n")
        for i in range(n):
            instruction = _sentence(rng, max(3, int(rng.gauss(14, 5) * scale))) + f" ({i})"
            context = (_sentence(rng, max(5, int(rng.gauss(40, 20) * scale)))
                       if rng.random() < 0.3 else "")
            output = " ".join(_sentence(rng, max(4, int(rng.gauss(18, 6) * scale)))
                              for _ in range(max(1, int(rng.gauss(6, 3) * scale))))
            text = (f"Below is an instruction. ### Instruction: {instruction} "
                    f"### Input: {context} ### Response: {output}")
            rec = {"instruction": instruction, "input": context, "output": output, "text": text}
            f.write(("" if i == 0 else ",\n") + json.dumps(rec, ensure_ascii=False))
        f.write("\n]\n")
    return path.stat().st_size


NAIVE = """
import json, sys, time
T0 = time.perf_counter()
SEP = "\\n\\nContext:\\n"
src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    data = json.load(f)
rows = []
for r in data:
    p = r["instruction"].strip()
    c = r.get("input") or ""
    rows.append({"prompt": p + SEP + c.strip() if c.strip() else p,
                 "completion": r["output"].strip()})
with open(dst, "w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\\n")
"""

STREAM = """
import sys, time
from shared.convert import DatasetRules, convert_stream
T0 = time.perf_counter()
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f, open(dst, "wb") as out:
    report = convert_stream(f, out, rules=DatasetRules.for_base_model("cohere.command-r-08-2024"))
assert report.valid, report.fatal
"""

TAIL = """
print(time.perf_counter() - T0)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) * 1024)
"""


def measure(code: str, src: Path, dst: Path) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of ``code`` run in a fresh interpreter.

    The time is measured inside the worker, after its imports, so interpreter start-up
    is left out; peak RSS (VmHWM) covers the whole process."""
    proc = subprocess.run([sys.executable, "-c", code + TAIL, str(src), str(dst)],
                          cwd=REPO, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    secs, rss = proc.stdout.strip().splitlines()[-2:]
    return float(secs), int(rss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller datasets")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per measurement; the best time and peak are kept")
    parser.add_argument("--skip-naive-large", action="store_true",
                        help="do not run the memory-hungry baseline on the large dataset")
    args = parser.parse_args()
    sizes = [(20_000, 1.0), (100_000, 0.3)] if args.quick else [(70_000, 1.0), (1_000_000, 0.3)]
    rows: list[tuple[str, str, float, float, int, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="convert-bench-") as tmp:
        for n, scale in sizes:
            src = Path(tmp) / f"alpaca_{n}.json"
            size = generate(src, n, scale=scale)
            results: dict[str, tuple[float, int]] = {}
            for name, code in (("naive json.load", NAIVE), ("convert_stream", STREAM)):
                if name.startswith("naive") and args.skip_naive_large and n >= 1_000_000:
                    continue
                dst = Path(tmp) / f"out_{name.split()[0]}_{n}.jsonl"
                runs = [measure(code, src, dst) for _ in range(max(1, args.repeat))]
                results[name] = (min(r[0] for r in runs), min(r[1] for r in runs))
                dst.unlink()
            base = results.get("naive json.load")
            for name, (secs, rss) in results.items():
                mbps = size / secs / 1e6
                speed = f"{(base[0] / secs):.2f}x" if base else "-"
                mem = f"{(rss / base[1]):.2f}x" if base else "-"
                rows.append((f"{n:,}", name, size / 1e6, mbps, rss, speed, mem))
            src.unlink()
    header = ("records", "converter", "input MB", "MB/s", "peak RSS MB", "speed vs naive",
              "RSS vs naive")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for rec, name, mb, mbps, rss, speed, mem in rows:
        print(f"{rec} | {name} | {mb:.1f} | {mbps:.1f} | {rss / 2**20:.1f} | {speed} | {mem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
