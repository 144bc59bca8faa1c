"""Benchmark: training the local stand-in model, time and peak memory per 100k records.

Generates finance-alpaca-shaped records (a question of ~20 words, an answer of
~100, Zipf-distributed vocabulary; about 880 bytes a record like the guide's
57 MB / 70k dataset) as training JSONL with ``bench/datasets.py`` (vectorised,
cached under the temp dir, never inside the timing) and trains in a fresh
process per row, so each row's peak RSS is its own:

* baseline: the pure-Python implementation the product used before issue 17
  (``bench/baseline_retrieval.py``), at ``--baseline-records`` (it is slow);
* vectorised: the product's training path (stream -> pair file + hashed
  prompt counts -> batched validation -> epochs -> saved index) at
  ``--baseline-records`` and each of ``--records``.

Both run 5 epochs (the pipeline default), no early stopping, 500 validation
prompts (the emulator's default cap), with no per-epoch pacing.

``--answers`` measures what the trained stand-in answers instead (issue 27), on the
finance-alpaca sample (``deploy/local/samples``, real text): the share of its training
questions it answers (and with their own completion) beside the share of short,
unrelated general-knowledge questions it declines, for the rule before issue 27
(similarity floor only) and the rule now (floor + coverage of the question's informative
words, ``retrieval.MIN_COVERAGE``), on the same trained index in the same run.

    .venv/bin/python bench/train_bench.py [--records 70000 1000000] [--baseline-records 20000]
                                          [--cache-dir DIR] [--answers]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets  # noqa: E402

EPOCHS = 5
VALIDATION = 500


def _child(kind: str, path: str) -> None:
    """Train once in this process and print seconds as JSON."""
    from deploy.local.emulator.genai.dataset import iter_training_pairs, parse_training_jsonl

    started = time.perf_counter()
    with open(path, "rb") as stream:
        if kind == "baseline":
            from bench.baseline_retrieval import fit as old_fit

            pairs = parse_training_jsonl(stream, min_examples=32, max_bytes=1 << 40)
            old_fit(pairs, seed="bench", epochs=EPOCHS, patience=0, threshold=0.0,
                    validation_share=0.2, max_validation=VALIDATION, on_epoch=lambda _: True)
        else:
            from deploy.local.emulator.genai.pairs import PairFileWriter
            from deploy.local.emulator.genai.training import CorpusBuilder, fit

            work = Path(tempfile.mkdtemp(prefix="ocift-train-bench-"))
            try:
                writer, builder = PairFileWriter(work), CorpusBuilder()
                for pair in iter_training_pairs(stream, min_examples=32, max_bytes=1 << 40):
                    writer.add(pair)
                    builder.add(pair)
                corpus = builder.finish(writer.close())
                _, index = fit(corpus, seed="bench", epochs=EPOCHS, patience=0, threshold=0.0,
                               validation_share=0.2, max_validation=VALIDATION,
                               on_epoch=lambda _: True)
                index.save(work)
                seconds = time.perf_counter() - started
            finally:
                shutil.rmtree(work, ignore_errors=True)
    if kind == "baseline":
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


SAMPLE = ROOT / "deploy" / "local" / "samples" / "finance_alpaca_sample.json"
#: Short questions no finance training example answers; several share a common word
#: ("capital", "interest", "bank", "return", "fund") with the finance prompts.
UNRELATED = (
    "What is the capital of France?", "Who wrote Hamlet?", "How tall is Mount Everest?",
    "What is the boiling point of water?", "Who painted the Mona Lisa?",
    "How do I bake bread?", "What is photosynthesis?", "Which planet is the largest?",
    "What is the interest of a cat?", "How long is a marathon?", "What is a river bank?",
    "When did the Roman empire fall?", "What is the speed of light?",
    "How do I tie a tie?", "What is the return flight time to Tokyo?",
    "Who is the president of Brazil?", "What language is spoken in Peru?",
    "What is a black hole?", "How many legs does a spider have?",
    "What is the best pizza topping?", "How do vaccines work?", "What is jazz?",
    "What is the tallest building?", "How do I grow tomatoes?", "What is a haiku?",
    "What is the fund of a school play?", "What causes rain?", "Who invented the telephone?",
    "What is the capital of Japan?", "What is chess?",
    # one finance word in an unrelated question (the case of issue 27)
    "What is inflation in a balloon?", "What is a loan shark?", "What is a bond between atoms?",
    "What is a credit in a movie?", "What is an emergency room?", "What is a stock of soup?",
    "How do I save a file?", "What is a budget airline?",
)


def answers() -> None:
    """Answer rate on the training questions beside the decline rate on unrelated ones."""
    from deploy.local.emulator.genai.dataset import Pair
    from deploy.local.emulator.genai.inference import close_hits
    from deploy.local.emulator.genai.pairs import PairList
    from deploy.local.emulator.genai.retrieval import MIN_COVERAGE
    from deploy.local.emulator.genai.training import CorpusBuilder, fit

    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    pairs = [Pair(prompt=r["instruction"] + (f"\n\nContext:\n{r['input']}" if r["input"]
                                              else ""), completion=r["output"])
             for r in records]
    builder = CorpusBuilder()
    for pair in pairs:
        builder.add(pair)
    _, index = fit(builder.finish(PairList(pairs)), seed="bench", epochs=EPOCHS, patience=0,
                   threshold=0.0, validation_share=0.2, max_validation=VALIDATION,
                   on_epoch=lambda _: True)
    print(f"finance-alpaca sample: {len(pairs)} training pairs, {len(UNRELATED)} unrelated "
          f"questions; similarity floor {index.floor:.2f} (chosen on the held-out split)")
    print(f"{'rule':<34} {'training answered':>18} {'own answer':>11} "
          f"{'unrelated declined':>19}")
    for label, coverage in (("floor only (before issue 27)", 0.0),
                            (f"floor + coverage >= {MIN_COVERAGE:.1f} (now)", MIN_COVERAGE)):
        answered = own = 0
        for i, pair in enumerate(pairs):
            close = close_hits(index, pair.prompt, index.search(pair.prompt, 5), coverage)
            answered += bool(close)
            own += bool(close) and close[0].index == i
        declined = sum(not close_hits(index, q, index.search(q, 5), coverage)
                       for q in UNRELATED)
        print(f"{label:<34} {answered / len(pairs):>17.1%} {own / len(pairs):>11.1%} "
              f"{declined / len(UNRELATED):>19.1%}")


def measure(kind: str, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one training in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["peak_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="*", default=[70_000])
    parser.add_argument("--baseline-records", type=int, default=20_000)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where generated datasets are kept (default: the temp dir)")
    parser.add_argument("--answers", action="store_true",
                        help="answer and decline rates of the stand-in (issue 27) instead")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.answers:
        answers()
        return
    rows: list[tuple[str, int, float, float, float]] = []
    sizes = [args.baseline_records, *[n for n in args.records if n != args.baseline_records]]
    for n in sizes:
        generated = time.perf_counter()
        path = datasets.cached(n, "training", cache_dir=args.cache_dir)
        mb = path.stat().st_size / 1e6
        print(f"  dataset of {n} records ready in {time.perf_counter() - generated:.1f} s "
              f"({path})", file=sys.stderr, flush=True)
        kinds = ["baseline", "vectorised"] if n == args.baseline_records else ["vectorised"]
        for kind in kinds:
            seconds, peak = measure(kind, path)
            rows.append((kind, n, mb, seconds, peak))
            print(f"  measured {kind} at {n} records", file=sys.stderr, flush=True)
    base = next(r for r in rows if r[0] == "baseline")
    base_per_100k = base[3] * 100_000 / base[1]
    print(f"{'implementation':<12} {'records':>9} {'MB':>7} {'train s':>9} {'s/100k':>8} "
          f"{'peak RSS MB':>12} {'speed-up':>9}")
    for kind, n, mb, seconds, peak in rows:
        per_100k = seconds * 100_000 / n
        print(f"{kind:<12} {n:>9} {mb:>7.1f} {seconds:>9.2f} {per_100k:>8.2f} {peak:>12.0f} "
              f"{base_per_100k / per_100k:>8.1f}x")
    print(f"(memory counts the whole process; peak RSS of a fresh interpreter with "
          f"scikit-learn imported is about {_import_floor():.0f} MB)")


def _import_floor() -> float:
    done = subprocess.run(
        [sys.executable, "-c", "import resource, sklearn.feature_extraction.text, scipy.sparse;"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True, text=True, check=True)
    return int(done.stdout) / 1024


if __name__ == "__main__":
    main()
