"""Fault soak on the local target: duplicate delivery + injected 429/500 on several datasets.

Each row starts a fresh local target, drops ``--datasets`` small raw datasets, and
waits until every one is ENDPOINT_ACTIVE (or the time bound passes). It then counts
what the pipeline created: exactly one model and one endpoint per dataset is the
pass mark, whatever the faults. The first row (no faults, no duplicates) is the
baseline the others' times are quoted against.

    python bench/fault_soak.py --datasets 4 --rates 0.15 0.3 --seconds 600
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.local.target import LocalTarget  # noqa: E402
from shared import clients, tags  # noqa: E402
from tests.support.targets import set_paces, status_doc  # noqa: E402

RECORDS = 40


def _raw(path: Path, topic: str) -> Path:
    rows = [{"instruction": f"What does {topic} measure number {i} mean?", "input": "",
             "output": f"The {topic} measure {i} compares assets to liabilities for firm {i}.",
             "text": ""} for i in range(RECORDS)]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def run(work: Path, datasets: int, rate: float, duplicates: bool,
        seconds: float) -> dict[str, Any]:
    """One soak; returns the row of the table."""
    target = LocalTarget(work / "state", watch_interval=0.3, backoff_base=0.05,
                         duplicate_deliveries=duplicates, max_attempts=15)
    names = [f"soak{i}" for i in range(datasets)]
    with target:
        set_paces(target.emulator, 0.3, 0.05)
        clients.reset_clients()
        target.emulator.faults.update(rate_429=rate, rate_500=rate, seed=11, retry_after_s=0)
        started = time.monotonic()
        for name in names:
            target.upload(_raw(work / f"{name}.json", name), f"raw/{name}.json")
        done: set[str] = set()
        while len(done) < len(names) and time.monotonic() - started < seconds:
            for name in names:
                doc = status_doc(target, name) if name not in done else None
                if doc is not None and doc["state"] in ("ENDPOINT_ACTIVE", "REJECTED",
                                                        "MODEL_FAILED", "ENDPOINT_FAILED"):
                    done.add(name)
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        target.emulator.faults.update(rate_429=0.0, rate_500=0.0)
        target.wait_idle(60)
        control = target.emulator.genai.control
        compartment = target.emulator.compartment_id
        models = [m for m in control.list_models(compartment)
                  if (m.get("freeformTags") or {}).get(tags.ROLE) == tags.ROLE_MODEL]
        endpoints = control.list_endpoints(compartment)
        docs = {n: status_doc(target, n) or {} for n in names}
        active = sum(1 for doc in docs.values() if doc.get("state") == "ENDPOINT_ACTIVE")
        stuck = {n: {"state": doc.get("state"), "reason": doc.get("reason"),
                     "last": [f"{h['state']}: {h['detail']}" for h in doc.get("history", [])[-3:]]}
                 for n, doc in docs.items() if doc.get("state") != "ENDPOINT_ACTIVE"}
        router = target.router.status()
    return {"faults": f"{rate:.0%}+{rate:.0%}", "duplicates": duplicates,
            "datasets": datasets, "active": active, "models": len(models),
            "endpoints": len(endpoints), "retried": router.retried_count,
            "dead_letters": router.dead_lettered_count, "seconds": round(elapsed, 1),
            "not_active": stuck}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=4)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.15, 0.3],
                        help="429 and 500 rate each (0.3 = 30%% + 30%%)")
    parser.add_argument("--seconds", type=float, default=600.0, help="bound per row")
    args = parser.parse_args()
    rows = []
    for rate, duplicates in [(0.0, False), *((r, True) for r in args.rates)]:
        with tempfile.TemporaryDirectory(prefix="ocift-soak-") as tmp:
            rows.append(run(Path(tmp), args.datasets, rate, duplicates, args.seconds))
    base = rows[0]["seconds"] or 1.0
    header = ["faults", "duplicates", "datasets", "active", "models", "endpoints", "retried",
              "dead_letters", "seconds"]
    print("| " + " | ".join([*header, "time vs baseline"]) + " |")
    print("|" + "---|" * (len(header) + 1))
    for row in rows:
        cells = [str(row[h]) for h in header] + [f"{row['seconds'] / base:.2f}x"]
        print("| " + " | ".join(cells) + " |")
    ok = all(r["active"] == r["models"] == r["endpoints"] == r["datasets"] for r in rows)
    print("every dataset: one model, one endpoint" if ok else "MISMATCH: see the table")
    for row in rows:
        for name, what in row["not_active"].items():
            print(f"not ENDPOINT_ACTIVE ({row['faults']}): {name}: {json.dumps(what)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
