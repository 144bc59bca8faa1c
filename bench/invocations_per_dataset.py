"""Function invocations one dataset costs, end to end on the local target (no faults).

Drops ``--datasets`` small raw datasets, waits until each is ENDPOINT_ACTIVE, and prints
how many times each event-driven function ran (the scheduled watch ticks are listed
apart: they depend on the tick interval, not on the dataset). On OCI each invocation
is a function call billed and, after an idle period, a cold start.

    python bench/invocations_per_dataset.py --datasets 2
    python bench/invocations_per_dataset.py --datasets 2 --approval   # OCIFT_APPROVAL=required

With ``--approval`` each dataset is approved (``approvals/<name>.json``, as ``ocift approve``
writes it) once it is AWAITING_APPROVAL; run both to compare in the same session.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.local.target import LocalTarget  # noqa: E402
from shared import clients  # noqa: E402
from tests.support.targets import set_paces, status_doc  # noqa: E402

EVENT_FUNCTIONS = ("convert", "train", "endpoint", "evaluate")


def _raw(path: Path, topic: str, records: int = 60) -> Path:  # 20 held out for evaluate
    rows = [{"instruction": f"What does {topic} measure number {i} mean?", "input": "",
             "output": f"The {topic} measure {i} compares assets to liabilities for firm {i}.",
             "text": ""} for i in range(records)]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _approve(target: LocalTarget, name: str) -> None:
    """What ``ocift approve NAME`` does, as the user (the target's administrator key)."""
    from shared import approval, naming
    from shared.cli.connection import local_settings
    from shared.records import read_record
    from shared.status import DatasetStatus
    from shared.storage import ObjectStore

    assert target.info is not None
    settings = local_settings(target.info)
    store = ObjectStore(clients.object_storage(settings), target.info.namespace,
                        target.info.bucket)
    got = read_record(store, naming.status_object(settings, name), DatasetStatus)
    assert got is not None
    approval.decide(store, settings, got[0], approval.Decision.APPROVE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--approval", action="store_true",
                        help="OCIFT_APPROVAL=required, approving each dataset when it waits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        overrides = {"OCIFT_APPROVAL": "required"} if args.approval else {}
        target = LocalTarget(work / "state", watch_interval=0.3, backoff_base=0.05,
                             settings_overrides=overrides)
        names = [f"inv{i}" for i in range(args.datasets)]
        with target:
            set_paces(target.emulator, 0.3, 0.05)
            clients.reset_clients()
            started = time.monotonic()
            for name in names:
                target.upload(_raw(work / f"{name}.json", name), f"raw/{name}.json")
            approved: set[str] = set()
            while time.monotonic() - started < args.seconds:
                docs = [status_doc(target, n) for n in names]
                for name, doc in zip(names, docs, strict=True):
                    if doc is not None and doc["state"] == "AWAITING_APPROVAL" \
                            and name not in approved:
                        _approve(target, name)
                        approved.add(name)
                if all(d is not None and d["state"] == "ENDPOINT_ACTIVE" for d in docs):
                    break
                time.sleep(0.3)
            else:
                print("timed out before every dataset was ENDPOINT_ACTIVE")
                return 1
            target.wait_idle(timeout=60)
            assert target.runner is not None
            calls = {f.name: f.calls for f in target.runner.status()}
    per = {fn: calls.get(fn, 0) / args.datasets for fn in EVENT_FUNCTIONS}
    print(f"datasets: {args.datasets}" + (" (OCIFT_APPROVAL=required)" if args.approval else ""))
    for fn in EVENT_FUNCTIONS:
        print(f"  {fn:<9} {per[fn]:.1f} invocations per dataset")
    print(f"  {'total':<9} {sum(per.values()):.1f} event-driven invocations per dataset")
    print(f"  (watch: {calls.get('watch', 0)} scheduled ticks in the run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
