"""Benchmark: local fdk runner and event router overheads.

Measures, with a trivial fdk function (``tests/local/fns/testfns.py:echo``):

* cold start: process spawn until fdk's socket symlink appears;
* warm call latency over the unix socket (p50 / p95);
* ``Router.submit`` latency (what the emulator's request thread pays);
* router drain throughput: events delivered per second with 4 workers.

    .venv/bin/python bench/local_delivery_bench.py [--calls 500] [--events 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.local.router import Router, runner_deliver  # noqa: E402
from deploy.local.rules import parse_rule  # noqa: E402
from deploy.local.runner import FunctionRunner  # noqa: E402
from tests.support.events import fixture_event  # noqa: E402
from tests.support.local import make_fn  # noqa: E402

EVENT = fixture_event()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        (state / "calls").mkdir()
        fn = make_fn("echo")
        runner = FunctionRunner(state, {"echo": fn}, extra_env={"TESTFN_DIR": str(state / "calls")})
        try:
            started = time.perf_counter()
            runner.start("echo")
            cold = time.perf_counter() - started
            body = json.dumps(EVENT).encode()
            latencies = []
            for _ in range(args.calls):
                t0 = time.perf_counter()
                assert runner.invoke("echo", body).ok
                latencies.append(time.perf_counter() - t0)

            rule = parse_rule(json.dumps({
                "displayName": "all", "condition": {"eventType": "*"},
                "action": {"function": "echo"}}), "ocift-datasets")
            router = Router(state, [rule], runner_deliver(runner.invoke), workers=4)
            submits = []
            for _ in range(args.events):
                t0 = time.perf_counter()
                router.submit(EVENT)
                submits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            router.start()
            assert router.wait_idle(600)
            drain = time.perf_counter() - t0
            router.stop()
        finally:
            runner.stop()
    print(json.dumps({
        "cold_start_ms": round(cold * 1000, 1),
        "warm_call_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "warm_call_ms_p95": round(_pct(latencies, 0.95) * 1000, 2),
        "submit_ms_p50": round(statistics.median(submits) * 1000, 3),
        "submit_ms_p95": round(_pct(submits, 0.95) * 1000, 3),
        "router_events_per_s": round(args.events / drain, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
