"""Benchmark: ``ocift convert`` against the seed-style script and bare ijson + orjson.

Generates finance-alpaca-shaped datasets (a JSON array of instruction / input /
output / text records, ~900 bytes each) once, cached under
``$TMPDIR/ocift-convert-bench/`` for later runs (never timed), then runs each
converter as a whole fresh process (interpreter start, imports and all) and takes
its wall time and peak RSS (``wait4`` rusage), medians of ``--repeat`` runs taken in
turn (seed, bare, ours; then bare, ours, seed; ...). Ratios
are against the two baselines measured in the same run: the median of the ratios taken
round by round. Last, the convert
function's peak RSS (fdk handler and OCI SDK imported) converting 300,000 records.

    .venv/bin/python bench/convert_bench.py            # 70,000 and 1,000,000 records
    .venv/bin/python bench/convert_bench.py --quick    # 20,000 and 100,000 records
    .venv/bin/python bench/convert_bench.py --shapes   # each input shape vs Alpaca

``--shapes`` writes the same records (the Alpaca dataset's instruction, input and
output) in every input shape ``ocift convert`` accepts, then converts each in turn,
round by round, and prints each shape's time per record as a ratio to the Alpaca file's
in the same round (the issue-26 budget is 1.3x) and its peak RSS at two record counts
(memory flat in the record count: the same peak for both).

``ocift convert`` is run through the console script's module (``shared.cli.entry``).
Every converter runs from compiled bytecode, as an installed package and the function
image (``deploy/oci/Dockerfile`` runs compileall) do: the project's modules are compiled
into their ``__pycache__`` before any timing, since a checkout run with
``PYTHONDONTWRITEBYTECODE`` set would otherwise compile them on every start.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
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
SCALE = 0.65  # ~810 bytes a record, like finance-alpaca (68,912 records in ~57 MB)
CONVERTER_SEED, CONVERTER_BARE, CONVERTER_OURS = (
    "seed-style (json.load + json.dumps)", "bare ijson (yajl2_c) + orjson", "ocift convert")


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
import json, sys
SEP = "\\n\\nContext:\\n"
src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    data = json.load(f)
with open(dst, "w", encoding="utf-8") as f:
    for r in data:
        p = r["instruction"].strip()
        c = (r.get("input") or "").strip()
        f.write(json.dumps({"prompt": p + SEP + c if c else p,
                            "completion": r["output"].strip()}, ensure_ascii=False) + "\\n")
"""

BARE = """
import sys
import ijson, orjson
assert ijson.backend == "yajl2_c", ijson.backend
SEP = "\\n\\nContext:\\n"
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f, open(dst, "wb") as out:
    for r in ijson.items(f, "item"):
        p = r["instruction"].strip()
        c = (r.get("input") or "").strip()
        out.write(orjson.dumps({"prompt": p + SEP + c if c else p,
                                "completion": r["output"].strip()}) + b"\\n")
"""

# The convert function's process: the fdk handler and the stage module are imported
# (the OCI SDK with them), then the object body is streamed into a writer that keeps
# nothing (the real one sends 8 MiB multipart parts). Prints peak RSS at rest first.
STAGE = """
import os, sys
import functions.handler, shared.stages.convert
from shared.convert import DatasetRules, convert_stream
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
print(peak())
class Null:
    def write(self, data):
        return len(data)
with open(sys.argv[1], "rb") as f:
    rules = DatasetRules.for_base_model("cohere.command-r-08-2024")
    report = convert_stream(f, Null(), rules=rules, size_hint=os.fstat(f.fileno()).st_size)
assert report.valid, report.fatal
print(peak())
"""

CONVERTERS = {
    "seed-style (json.load + json.dumps)": ["-c", NAIVE],
    "bare ijson (yajl2_c) + orjson": ["-c", BARE],
    "ocift convert": ["-m", "shared.cli.entry", "convert"],
}


GENERATOR_VERSION = 1  # bump when generate() changes: the cached files are then remade
CACHE = Path(tempfile.gettempdir()) / "ocift-convert-bench"


def dataset(n: int) -> tuple[Path, int]:
    """The cached ``n``-record dataset (generated on first use, not timed) and its size."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"alpaca_{n}_v{GENERATOR_VERSION}_s{SCALE}.json"
    if not path.exists():
        part = path.with_suffix(".part")
        generate(part, n, scale=SCALE)
        part.replace(path)
    return path, path.stat().st_size


def compiled_env() -> dict[str, str]:
    """The environment every timed process gets: the repo importable, its modules compiled
    to bytecode first (not timed; compileall writes even under PYTHONDONTWRITEBYTECODE)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "shared", "functions"],
                   cwd=REPO, env=env, check=True)
    return env


def measure(args: list[str], src: Path, dst: Path, env: dict[str, str]
            ) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS bytes) of a whole fresh interpreter running
    ``args``. CPU time (user + sys) is the steadier figure on a machine shared with
    other work; both are printed."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args, str(src), str(dst)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{args[:2]} failed: {err}")
    return secs, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def stage_rss(src: Path, env: dict[str, str]) -> tuple[int, int]:
    """(peak RSS at rest, peak RSS after converting ``src``) of the convert function."""
    out = subprocess.run([sys.executable, "-c", STAGE, str(src)], cwd=REPO, check=True,
                         capture_output=True, text=True,
                         env=env).stdout.split()
    return int(out[0]), int(out[1])


def _ratio(top: list[tuple[float, float, int]], bottom: list[tuple[float, float, int]],
           field: int) -> str:
    """Median over the rounds of ``top / bottom`` (wall: field 0, CPU: 1), each ratio taken
    within one round, so a machine that speeds up or slows down between rounds moves both
    sides of it alike."""
    ratios = [a[field] / b[field] for a, b in zip(top, bottom, strict=True)]
    return f"{statistics.median(ratios):.2f}x"


def _turns(rec: dict[str, str]) -> list[tuple[str, str]]:
    """The Alpaca record as a conversation: its input as a system message, if any."""
    return ([("system", rec["input"])] if rec["input"] else []) + [
        ("user", rec["instruction"]), ("assistant", rec["output"])]


def _write_shape(shape: str, records: list[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        if shape == "openai_chat.jsonl":
            for rec in records:
                f.write(json.dumps({"messages": [{"role": r, "content": c}
                                                 for r, c in _turns(rec)]},
                                   ensure_ascii=False) + "\n")
        elif shape == "sharegpt.json":
            sharegpt = {"system": "system", "user": "human", "assistant": "gpt"}
            json.dump([{"conversations": [{"from": sharegpt[r], "value": c}
                                          for r, c in _turns(rec)]} for rec in records],
                      f, ensure_ascii=False, indent=None)
        elif shape == "question_answer.json":
            json.dump([{"question": r["instruction"], "answer": r["output"],
                        "context": r["input"]} for r in records], f, ensure_ascii=False)
        elif shape in ("fields.csv", "fields.tsv"):
            import csv
            writer = csv.writer(f, delimiter="," if shape.endswith("csv") else "\t",
                                lineterminator="\n")
            writer.writerow(["question", "answer", "context"])
            writer.writerows([r["instruction"], r["output"], r["input"]] for r in records)
        else:
            raise ValueError(shape)


SHAPES = ("alpaca.json", "openai_chat.jsonl", "sharegpt.json", "question_answer.json",
          "fields.csv")


def shape_dataset(n: int, shape: str) -> Path:
    """The ``n``-record dataset in ``shape`` (cached; derived from the Alpaca one)."""
    alpaca, _ = dataset(n)
    if shape == "alpaca.json":
        return alpaca
    path = CACHE / f"{shape.split('.')[0]}_{n}_v{GENERATOR_VERSION}_s{SCALE}.{shape.split('.')[1]}"
    if not path.exists():
        # in a child process: loading the records here would raise this process's peak
        # RSS, which its children's ru_maxrss then inherit (it counts from the fork)
        part = path.with_suffix(".part" + path.suffix)
        subprocess.run([sys.executable, __file__, "--write-shape", shape, str(alpaca),
                        str(part)], check=True, cwd=REPO)
        part.replace(path)
    return path


def shapes_main(sizes: list[int], repeat: int) -> int:
    """Each input shape against the Alpaca file, round by round (see the docstring)."""
    env = compiled_env()
    ours = CONVERTERS[CONVERTER_OURS]
    rows = []
    peaks: dict[str, list[int]] = {shape: [] for shape in SHAPES}
    with tempfile.TemporaryDirectory(prefix="convert-bench-") as tmp:
        dst = Path(tmp) / "out.jsonl"
        for n in sizes:
            runs: dict[str, list[tuple[float, float, int]]] = {shape: [] for shape in SHAPES}
            paths = {shape: shape_dataset(n, shape) for shape in SHAPES}
            for round_ in range(max(1, repeat)):
                order = SHAPES[round_ % len(SHAPES):] + SHAPES[:round_ % len(SHAPES)]
                for shape in order:
                    runs[shape].append(measure(ours, paths[shape], dst, env))
                    dst.unlink()
            for shape, got in runs.items():
                wall = statistics.median(r[0] for r in got)
                cpu = statistics.median(r[1] for r in got)
                rss = int(statistics.median(r[2] for r in got))
                peaks[shape].append(rss)
                size = paths[shape].stat().st_size
                rows.append(f"{n:,} | {shape} | {size / 1e6:.0f} | {wall:.2f} | {cpu:.2f} | "
                            f"{cpu / n * 1e6:.2f} | "
                            f"{_ratio(got, runs['alpaca.json'], 0)} / "
                            f"{_ratio(got, runs['alpaca.json'], 1)} | {rss / 2**20:.1f}")
    print("records | shape | MB | wall s | CPU s | CPU us/record | time vs Alpaca "
          "(wall / CPU, median of per-round ratios) | peak RSS MiB")
    print(" | ".join("---" for _ in range(8)))
    print("\n".join(rows))
    if len(sizes) > 1:
        print("\npeak RSS growth from the smallest to the largest size: " + ", ".join(
            f"{shape} {(p[-1] - p[0]) / 2**20:+.1f} MiB" for shape, p in peaks.items()))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller datasets")
    parser.add_argument("--shapes", action="store_true",
                        help="each input shape against the Alpaca file instead")
    parser.add_argument("--sizes", type=int, nargs="+", help="record counts to run instead")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per measurement; the median time and peak are kept")
    parser.add_argument("--write-shape", nargs=3, metavar=("SHAPE", "ALPACA", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_shape:
        shape, alpaca, out = args.write_shape
        _write_shape(shape, json.loads(Path(alpaca).read_text(encoding="utf-8")), Path(out))
        return 0
    if args.shapes:
        return shapes_main(args.sizes or [20_000, 70_000], args.repeat)
    sizes = args.sizes or ([20_000, 100_000] if args.quick else [70_000, 1_000_000])
    stage_n = 30_000 if args.quick else 300_000
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="convert-bench-") as tmp:
        env = compiled_env()
        for n in sizes:
            src, size = dataset(n)
            dst = Path(tmp) / "out.jsonl"
            runs: dict[str, list[tuple[float, float, int]]] = {n: [] for n in CONVERTERS}
            names = list(CONVERTERS)
            for round_ in range(max(1, args.repeat)):  # in turn: a drift hits all alike;
                # each round starts with the next converter, so none always runs just
                # after the seed-style script has freed its gigabytes
                for name in names[round_ % 3:] + names[:round_ % 3]:
                    runs[name].append(measure(CONVERTERS[name], src, dst, env))
                    dst.unlink()
            results = {name: (statistics.median(r[0] for r in got),
                              statistics.median(r[1] for r in got),
                              int(statistics.median(r[2] for r in got)))
                       for name, got in runs.items()}
            for name, (secs, cpu, rss) in results.items():
                per_record = f"{rss / n:.0f}" if name == CONVERTER_OURS else "-"
                rows.append(f"{n:,} ({size / 1e6:.0f} MB) | {name} | {secs:.2f} | {cpu:.2f} | "
                            f"{size / secs / 1e6:.0f} | {rss / 2**20:.1f} | {per_record} | "
                            f"{_ratio(runs[CONVERTER_SEED], runs[name], 0)} / "
                            f"{_ratio(runs[CONVERTER_SEED], runs[name], 1)} | "
                            f"{_ratio(runs[name], runs[CONVERTER_BARE], 0)} / "
                            f"{_ratio(runs[name], runs[CONVERTER_BARE], 1)}")
        rest, peak = stage_rss(dataset(stage_n)[0], env)
    print("records (input) | converter | wall s | CPU s | MB/s | peak RSS MiB | "
          "RSS bytes/record | throughput vs seed-style (wall / CPU) | "
          "time vs bare ijson+orjson (wall / CPU)")
    print(" | ".join("---" for _ in range(9)))
    print("\n".join(rows))
    print(f"\nconvert function, {stage_n:,} records: peak RSS {peak / 2**20:.1f} MiB "
          f"({rest / 2**20:.1f} MiB at rest after imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
