"""Benchmark: what the inference function adds over a direct SDK call, and cold starts.

On the local target (emulator + real fdk + gateway), after the pipeline has
fine-tuned a small dataset and its endpoint is ACTIVE:

* direct: ``GenerativeAiInferenceClient.chat`` to the endpoint (the floor);
* in-process: ``shared.infer.service.handle_http`` with warm clients and cache
  (the function's own code: validation, resolution, shaping, JSON);
* fdk: the ``infer`` function through the runner's unix socket (HTTP intent);
* gateway: ``POST /infer`` through the local API gateway (what a user pays);

p50/p99 of each over ``--calls`` requests, the four taken in turn 50 calls at a
time (a drift of the machine's speed falls on all alike), overhead = p50 minus
direct p50, in the same run. Then the cold start of each stage's function: a fresh process
until its first response through fdk (``--cold`` runs each, median).

    .venv/bin/python bench/infer_bench.py [--calls 2000] [--cold 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.local.functions import pipeline_functions  # noqa: E402
from deploy.local.runner import FunctionRunner, HttpRequest  # noqa: E402
from deploy.local.target import LocalTarget, watch_tick_body  # noqa: E402
from shared import clients  # noqa: E402
from shared.cli.connection import local_settings  # noqa: E402
from shared.infer.models import InferRequest  # noqa: E402
from shared.infer.shapes import build_details  # noqa: E402
from shared.settings import Stage  # noqa: E402
from shared.stages import infer as service  # noqa: E402
from tests.support.stats import percentile  # noqa: E402
from tests.support.targets import serve_bond_desk  # noqa: E402

DATASET = "bench"




def _measure(paths: dict[str, Callable[[], Any]], n: int, block: int = 50
             ) -> dict[str, dict[str, float]]:
    """``n`` timed calls of each path, taken in turn ``block`` calls at a time (after 50
    warm-up calls each), so a drift of the machine's speed during the run falls on
    every path alike instead of on whichever ran last."""
    for call in paths.values():
        for _ in range(min(50, n)):
            call()
    times: dict[str, list[float]] = {name: [] for name in paths}
    while any(len(t) < n for t in times.values()):
        for name, call in paths.items():
            got = times[name]
            for _ in range(min(block, n - len(got))):
                t0 = time.perf_counter()
                call()
                got.append((time.perf_counter() - t0) * 1000)
    return {name: {"p50_ms": round(percentile(t, 0.5), 3),
                   "p99_ms": round(percentile(t, 0.99), 3),
                   "mean_ms": round(statistics.fmean(t), 3)} for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"calls": args.calls}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = LocalTarget(root / "state", watch_interval=0.2, backoff_base=0.05,
                             settings_overrides={"OCIFT_LOG_LEVEL": "WARNING"})
        with target:
            doc = serve_bond_desk(target, root, DATASET, timeout=120)
            assert target.info is not None and target.runner is not None
            info = target.info
            settings = local_settings(info)
            clients.reset_clients()
            be = service.backend(settings)
            prompt = "What is metric 17 of the bond desk?"
            body = json.dumps({"prompt": prompt, "model": DATASET}).encode()
            req = InferRequest(prompt=prompt)
            details = build_details(req, be.resolver.by_model(DATASET).shape, doc["endpoint_id"],
                                    info.compartment_id)

            http_req = HttpRequest(method="POST", url=f"{info.gateway_url}/infer",
                                   headers=[("Content-Type", "application/json")])
            runner = target.runner
            host, port = info.gateway_url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)

            def via_gateway() -> None:
                if conn.sock is None:  # headers and body go in two writes: no Nagle wait
                    conn.connect()
                    sock: Any = conn.sock
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.request("POST", "/infer", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise SystemExit(f"gateway answered {resp.status}")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()

            results.update(_measure({
                "direct_sdk": lambda: be.inference.chat(details),
                "in_process_function": lambda: service.handle_http("POST", body, settings),
                "through_fdk": lambda: runner.invoke(Stage.INFER.value, body, http=http_req),
                "through_gateway": via_gateway,
            }, args.calls))
            conn.close()
            floor = results["direct_sdk"]["p50_ms"]
            for key in ("in_process_function", "through_fdk", "through_gateway"):
                results[key]["overhead_p50_ms"] = round(results[key]["p50_ms"] - floor, 3)
                results[key]["ratio_p50"] = round(results[key]["p50_ms"] / floor, 2)

            functions = pipeline_functions(target.pipeline_settings())
            probe = {Stage.INFER: body, Stage.WATCH: watch_tick_body()}
            cold: dict[str, float] = {}
            for stage in Stage:
                runs = []
                for i in range(args.cold):
                    fresh = FunctionRunner(root / f"cold-{stage.value}-{i}",
                                           {stage.value: functions[stage.value]})
                    try:
                        t0 = time.perf_counter()
                        out = fresh.invoke(stage.value, probe.get(stage, b"{}"),
                                           http=http_req if stage is Stage.INFER else None)
                        runs.append((time.perf_counter() - t0) * 1000)
                        if out.fdk_status != 200:
                            raise SystemExit(f"{stage.value} cold call answered {out.status}")
                    finally:
                        fresh.stop()
                cold[stage.value] = round(statistics.median(runs), 1)
            results["cold_start_ms"] = cold
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
