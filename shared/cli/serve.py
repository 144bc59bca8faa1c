"""``ocift serve DATASET``: host a dataset's kept model again after its endpoint was deleted.

``ocift down`` (or the Console) deletes endpoints; the dataset's status then reads
MODEL_ACTIVE with ``unserved`` set, and nothing re-creates an endpoint on its own (a
hosting cluster is billed per unit-hour: only the user decides to pay for one again). This
command clears ``unserved`` and hands the dataset to the endpoint stage, which creates the
hosting cluster and the endpoint as for a freshly trained model.
"""

from __future__ import annotations

import argparse
from typing import Any

from shared.cli.connection import add_connection_flags, connect


class NotServable(Exception):
    """The dataset is not a kept model without an endpoint; the message says what it is."""


def add_parser(sub: Any) -> None:
    """Register ``serve`` on the ``ocift`` sub-command parser."""
    serve = sub.add_parser("serve", help="host a dataset's kept model again (after ocift down)",
                           description="Create a hosting cluster and an endpoint again for a "
                                       "dataset whose endpoint was deleted (its state is "
                                       "MODEL_ACTIVE with no endpoint). The cluster is billed "
                                       "per unit-hour from then on.")
    serve.add_argument("dataset", help="the dataset to serve again")
    add_connection_flags(serve)


def serve(settings: Any, dataset: str) -> str:
    """Clear the dataset's ``unserved`` and hand it to the endpoint stage; what was done."""
    from shared.settings import Stage
    from shared.stages.context import context_for, hand_to, read_status, write_status
    from shared.status import DatasetState

    ctx = context_for(settings)
    current = read_status(ctx, dataset)
    if current is None:
        raise NotServable(f"no status for dataset {dataset!r}: see `ocift status`")
    status, etag = current
    if status.state is not DatasetState.MODEL_ACTIVE or not status.unserved:
        raise NotServable(f"dataset {dataset!r} is {status.state.value}, not a kept model "
                          "without an endpoint: nothing to serve again (see `ocift status`)")
    moved = status.moved_to(DatasetState.MODEL_ACTIVE, "ocift serve: host the model again",
                            unserved=None)
    new_etag = write_status(ctx, moved, etag)
    if new_etag is None:
        raise NotServable(f"dataset {dataset!r} changed while serving it: run the command "
                          "again")
    hand_to(ctx, Stage.ENDPOINT, moved, new_etag, "ocift serve")
    return (f"{dataset}: handed to the endpoint stage (a hosting cluster, then an endpoint); "
            "follow it with `ocift status --watch`")


def run(args: argparse.Namespace) -> int:
    import sys

    conn = connect(args)
    try:
        print(serve(conn.settings, args.dataset))
    except NotServable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
