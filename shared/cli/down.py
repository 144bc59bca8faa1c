"""``ocift down [DATASET] [--yes] [--models]``: list, then delete, what the pipeline created.

A dry run by default: it prints every billable resource this pipeline's tags find (shape,
units, age, unit-hours so far). ``--yes`` deletes them in dependency order and waits for
each delete; see :mod:`shared.teardown`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shared.cli.connection import add_connection_flags, connect


def add_parser(sub: Any) -> None:
    """Register ``down`` on the ``ocift`` sub-command parser."""
    down = sub.add_parser("down", help="list (and with --yes delete) what the pipeline created",
                          description="List every billable resource the pipeline's tags find "
                                      "(shape, units, age, unit-hours); with --yes delete "
                                      "them, endpoints first, waiting for each, and record "
                                      "what remains in each dataset's status.")
    down.add_argument("dataset", nargs="?", default=None,
                      help="only what this dataset holds (default: everything of the pipeline)")
    down.add_argument("--yes", action="store_true", help="delete (default: dry run)")
    down.add_argument("--models", action="store_true", help="also delete the custom models")
    down.add_argument("--timeout", type=float, default=1800.0,
                      help="seconds to wait for each delete (default 1800)")
    down.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    add_connection_flags(down)


def run(args: argparse.Namespace) -> int:
    from shared import billing, clients, teardown

    conn = connect(args)
    client = clients.generative_ai(conn.settings)
    todo = teardown.plan(billing.read_inventory(client, conn.settings), args.dataset,
                         models=args.models)
    print(teardown.render(todo))
    if not todo.delete:
        return 0
    if not args.yes:
        print("dry run: nothing deleted; run again with --yes to delete the above"
              + ("" if args.models else " (custom models are kept unless --models)"))
        return 0
    out = teardown.execute(client, conn.settings, todo, timeout=args.timeout,
                           interval=args.interval, report=lambda line: print(line, flush=True))
    print(f"deleted {len(out.deleted)}, failed {len(out.failed)}")
    if out.deleted:
        _record(conn.settings)
    for res_id, reason in out.failed:
        print(f"error: {res_id}: {reason}", file=sys.stderr)
    return 1 if out.failed else 0


def _record(settings: Any) -> None:
    """Write what remains into each affected dataset's status (shared/stages/watch/gone)."""
    from shared.stages.context import context_for
    from shared.stages.watch.gone import record_deleted

    try:
        for line in record_deleted(context_for(settings)):
            print(f"status: {line}")
    except Exception as exc:  # the deletes are done; the next reconcile records them
        from shared.errors import describe

        print(f"warning: the datasets' status was not updated ({describe(exc)}); "
              "`ocift reconcile` records it", file=sys.stderr)
