"""Benchmark: the inference path under many concurrent callers (issue 12).

Brings up the local target, fine-tunes a small dataset until its endpoint is
ACTIVE, then runs closed-loop callers against ``POST /infer`` through the
gateway (each caller sends its next request when the previous one is answered,
on its own keep-alive connection). The callers run in a separate process so
they do not share the target's interpreter. Rows, all in the same run:

* baseline: ``--baseline`` callers (20) with the default limits;
* load: ``--callers`` callers (200) with the default limits
  (infer: ``--instances`` processes, 256 queued calls), after a warm-up that
  starts every infer process;
* limited: the same callers with a configured limit (``--limited-queue`` queued
  calls), where 429 with ``Retry-After`` is the expected answer beyond it.

A row passes when >= 99.9 % of requests are answered 200, or 429 with
``Retry-After`` (counted separately), and none is a 5xx or a connection error.

    .venv/bin/python bench/infer_concurrency_bench.py [--seconds 30] [--callers 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.stats import percentile  # noqa: E402

DATASET = "bench"
PROMPT = "What is metric 17 of the bond desk?"




# -- the caller process ---------------------------------------------------------------------


def run_callers(port: int, callers: int, seconds: float) -> dict[str, Any]:
    """Closed-loop callers for ``seconds``; outcome counts and latencies of 200s (ms)."""
    body = json.dumps({"prompt": PROMPT, "model": DATASET}).encode()
    lock = threading.Lock()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    retry_after_missing = 0
    start = threading.Barrier(callers + 1)
    stop_at = [0.0]

    def caller() -> None:
        nonlocal retry_after_missing
        conn: http.client.HTTPConnection | None = None
        mine: list[float] = []
        seen: Counter[str] = Counter()
        missing = 0
        start.wait()
        while time.monotonic() < stop_at[0]:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/infer", body=body,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
            except Exception as exc:
                seen[type(exc).__name__] += 1
                conn.close()
                conn = None
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            seen[str(resp.status)] += 1
            if resp.status == 200:
                mine.append(elapsed)
            elif resp.status == 429:
                if not resp.getheader("Retry-After"):
                    missing += 1
                time.sleep(float(resp.getheader("Retry-After") or 1) * 0.1)
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            outcomes.update(seen)
            latencies.extend(mine)
            retry_after_missing += missing

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    for t in threads:
        t.join()
    return {"outcomes": dict(outcomes), "latencies": latencies,
            "retry_after_missing": retry_after_missing}


# -- the target side ---------------------------------------------------------------------



def _row(label: str, callers: int, result: dict[str, Any], seconds: float) -> dict[str, Any]:
    outcomes: dict[str, int] = result["outcomes"]
    total = sum(outcomes.values())
    ok = outcomes.get("200", 0)
    throttled = outcomes.get("429", 0)
    errors = total - ok - throttled + result["retry_after_missing"]
    lat = result["latencies"]
    return {"row": label, "callers": callers, "requests": total, "answered_200": ok,
            "429s": throttled, "errors": errors,
            "answered_pct": round(100 * (ok + throttled) / total, 3) if total else 0.0,
            "p50_ms": round(percentile(lat, 0.5), 1), "p99_ms": round(percentile(lat, 0.99), 1),
            "rps": round(total / seconds, 1),
            "other": {k: v for k, v in outcomes.items() if k not in ("200", "429")}}


def _phase(args: argparse.Namespace, root: Path, label: str, callers: int,
           max_queued: int | None) -> dict[str, Any]:
    from deploy.local.target import LocalTarget
    from shared.settings import Stage
    from tests.support.targets import serve_bond_desk

    target = LocalTarget(root / f"state-{label}", watch_interval=0.2, backoff_base=0.05,
                         settings_overrides={"OCIFT_LOG_LEVEL": "WARNING"},
                         instances={Stage.INFER: args.instances}, max_queued=max_queued)
    with target:
        serve_bond_desk(target, root, DATASET, timeout=180)
        assert target.gateway is not None and target.runner is not None
        # Warm every infer process first (cold starts are measured by bench/infer_bench.py).
        run_callers(target.gateway.port, args.instances * 4, 3.0)
        done = subprocess.run(
            [sys.executable, __file__, "--callers-only", str(target.gateway.port),
             str(callers), str(args.seconds)],
            capture_output=True, text=True, check=True, cwd=REPO)
        result = json.loads(done.stdout)
        row = _row(label, callers, result, args.seconds)
        infer = {s.name: s for s in target.runner.status()}["infer"]
        row["processes"] = infer.starts
        return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=20)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--limited-queue", type=int, default=32)
    parser.add_argument("--callers-only", nargs=3, metavar=("PORT", "CALLERS", "SECONDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callers_only:
        port, callers, seconds = args.callers_only
        print(json.dumps(run_callers(int(port), int(callers), float(seconds))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows.append(_phase(args, root, "baseline", args.baseline, None))
        rows.append(_phase(args, root, "load", args.callers, None))
        rows.append(_phase(args, root, "limited", args.callers, args.limited_queue))
    base_p50 = rows[0]["p50_ms"]
    print(f"{'row':<9} {'callers':>7} {'requests':>8} {'200':>7} {'429s':>6} {'errors':>6} "
          f"{'answered%':>9} {'p50 ms':>7} {'p99 ms':>7} {'p50/base':>8} {'req/s':>6} "
          f"{'procs':>5}")
    for r in rows:
        ratio = r["p50_ms"] / base_p50 if base_p50 else float("nan")
        print(f"{r['row']:<9} {r['callers']:>7} {r['requests']:>8} {r['answered_200']:>7} "
              f"{r['429s']:>6} {r['errors']:>6} {r['answered_pct']:>9} {r['p50_ms']:>7} "
              f"{r['p99_ms']:>7} {ratio:>8.2f} {r['rps']:>6} {r['processes']:>5}")
    for r in rows:
        if r["other"]:
            print(f"  {r['row']}: other outcomes {r['other']}")
    verdict = all(r["answered_pct"] >= 99.9 and r["errors"] == 0 for r in rows)
    print(f"target (>= 99.9 % answered 200 or 429 + Retry-After, no 5xx/resets): "
          f"{'met' if verdict else 'NOT met'}")
    print(json.dumps({"rows": rows, "seconds": args.seconds, "instances": args.instances}))


if __name__ == "__main__":
    main()
