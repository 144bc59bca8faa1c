"""Benchmark: drop -> first answer on the local target, per stage, for a finance-alpaca file.

Starts a :class:`LocalTarget` with the paces of ``ocift up --fast`` (clusters and
endpoints in 0.3 s, 0.3 s per epoch) and ``--watch-interval`` (1 s by default,
as in issue 17's report), uploads a generated finance-alpaca-shaped JSON array
(``bench/datasets.py``, 70,000 records / about 58 MB by default; generated and
cached before the clock starts) as ``raw/<name>.json``, polls the bucket as
``ocift status`` does, and when the endpoint is ACTIVE asks a question taken
from the file through the gateway (``POST /infer``). Prints when each stage was
first seen, the training work request's own start/end, and the peak RSS of
this process, which holds the emulator and so the training (the fdk functions
run in their own processes).

    .venv/bin/python bench/drop_to_answer_bench.py [--records 70000] [--watch-interval 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import datasets  # noqa: E402

NAME = "finance-bench"
FAILED = ("REJECTED", "MODEL_FAILED", "ENDPOINT_FAILED")


def _stage(row: Any) -> str | None:
    if row.valid is False or row.state in FAILED:
        return "failed"
    if row.state == "ENDPOINT_ACTIVE":
        return "endpoint active"
    if row.state in ("MODEL_ACTIVE", "PENDING_HOSTING_CLUSTER", "ENDPOINT_CREATING"):
        return "model active"
    if row.state in ("TRAINING", "PENDING_CLUSTER"):
        return "training started"
    if row.jsonl:
        return "converted (JSONL written)"
    return None


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _seconds(a: Any, b: Any) -> float | None:
    if not a or not b:
        return None
    return (_when(b) - _when(a)).total_seconds()


def run(records: int, watch_interval: float, timeout: float) -> int:
    from deploy.local.target import LocalTarget
    from shared import clients
    from shared.cli.ask import describe_grounding, post_infer
    from shared.cli.connection import local_settings
    from shared.cli.demo import fast_paces
    from shared.cli.status_view import collect
    from shared.storage import ObjectStore

    source = datasets.cached(records, "alpaca")
    question = json.loads(source.open(encoding="utf-8").read(4096).split("\n")[1].rstrip(","))
    print(f"dataset: {records} records, {source.stat().st_size / 1e6:.0f} MB ({source})")
    with tempfile.TemporaryDirectory(prefix="ocift-drop-bench-") as state:
        target = LocalTarget(state, watch_interval=watch_interval)
        target.start()
        try:
            fast_paces(target)
            assert target.info is not None
            settings = local_settings(target.info)
            clients.reset_clients()
            store = ObjectStore(clients.object_storage(settings), target.info.namespace,
                                target.info.bucket)
            started = time.monotonic()
            seen: dict[str, float] = {}

            def mark(what: str) -> None:
                if what not in seen:
                    seen[what] = time.monotonic() - started
                    print(f"  [{seen[what]:6.1f}s] {what}", flush=True)

            target.upload(source, f"{settings.raw_prefix}{NAME}.json")
            mark("uploaded")
            deadline = started + timeout
            while "endpoint active" not in seen:
                if time.monotonic() > deadline:
                    print("timed out", file=sys.stderr)
                    return 1
                row = next((r for r in collect(store, settings) if r.dataset == NAME), None)
                stage = _stage(row) if row is not None else None
                if stage == "failed":
                    assert row is not None
                    print(f"failed: {row.state} {row.reason}", file=sys.stderr)
                    return 1
                order = ["converted (JSONL written)", "training started", "model active",
                         "endpoint active"]
                if stage is not None:
                    for earlier in order[:order.index(stage) + 1]:
                        mark(earlier)
                time.sleep(0.1)
            status, body = post_infer(f"{target.info.gateway_url}/infer",
                                      {"prompt": question["instruction"], "model": NAME})
            mark("first answer")
            right = status == 200 and body.get("text") == question["output"]
            print(f"answer: HTTP {status}, {'the training answer' if right else 'WRONG'}; "
                  f"{describe_grounding(body) or 'no grounding'}")
            found = store.read_json(f"{settings.status_prefix}{NAME}.json")
            doc = found[0] if found else {}
            wr = clients.generative_ai(settings).get_work_request(doc["work_request_id"]).data
            training = _seconds(wr.time_started, wr.time_finished)
            print(f"training work request: {training:.1f} s (of which pacing: 5 epochs x "
                  "0.3 s)" if training is not None else "training work request: ?")
            print(f"model metrics: {doc.get('model_metrics')}")
        finally:
            target.stop()
            clients.reset_clients()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"drop -> first answer: {seen['first answer']:.1f} s; peak RSS of the local target "
          f"(emulator + router + gateway, training included): {peak:.0f} MB")
    return 0 if right else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=70_000)
    parser.add_argument("--watch-interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    raise SystemExit(run(args.records, args.watch_interval, args.timeout))


if __name__ == "__main__":
    main()
