"""``ocift up``: the local target in the foreground, one readable line per stage outcome.

Full function output goes to ``<state>/logs/<function>.log`` (once per line); the
terminal gets what a person follows: which stage did what to which dataset, how long
it took and why (``deploy.local.outcomes.format_line``). ``--verbose`` echoes the
functions' own log lines as well.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import TextIO

from shared.cli.connection import DEFAULT_STATE_DIR
from shared.settings import Stage

#: The demo's pace: a watch tick every 0.3 s (``ocift up --fast`` uses it too).
FAST_WATCH_INTERVAL = 0.3
DEFAULT_WATCH_INTERVAL = 5.0


class UsageError(ValueError):
    """A flag's value is wrong; the message says which and how to write it."""


def add_up_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                    help=f"where all state lives (default {DEFAULT_STATE_DIR})")
    up.add_argument("--bucket", default="ocift-datasets", help="pipeline bucket")
    up.add_argument("--port", type=int, default=0, help="emulator port (default: any free)")
    up.add_argument("--gateway-port", type=int, default=0,
                    help="inference gateway port (default: any free)")
    up.add_argument("--fast", action="store_true",
                    help="the demo's paces: clusters, endpoints and epochs take 0.3 s, and "
                         f"the watcher ticks every {FAST_WATCH_INTERVAL:g} s")
    up.add_argument("--watch-interval", type=float, default=None, metavar="SECONDS",
                    help=f"seconds between watch ticks (default {DEFAULT_WATCH_INTERVAL:g}, "
                         f"{FAST_WATCH_INTERVAL:g} with --fast; 0 disables)")
    up.add_argument("--quiet", action="store_true",
                    help="print no line per stage outcome (logs still go to <state>/logs)")
    up.add_argument("--verbose", action="store_true",
                    help="also echo every function log line (they are always in <state>/logs)")
    up.add_argument("--warm", action="store_true",
                    help="start every function process now instead of on first call")
    up.add_argument("--infer-instances", type=int, default=None, metavar="N",
                    help="warm processes of the infer function at most (default 4)")
    up.add_argument("--max-queued", type=int, default=None, metavar="N",
                    help="calls that may wait for a busy function; more get 429 (default 256)")
    up.add_argument("--duplicate-deliveries", action="store_true",
                    help="fault knob: deliver every event twice (tests idempotency)")
    up.add_argument("--set", action="append", default=[], metavar="OCIFT_KEY=VALUE",
                    help="extra function configuration, e.g. OCIFT_EPOCHS=2 (repeatable)")


def overrides(pairs: list[str]) -> dict[str, str]:
    """``--set`` values as a mapping; a malformed one raises :class:`UsageError`."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("OCIFT_"):
            raise UsageError(f"--set expects OCIFT_KEY=VALUE (e.g. --set OCIFT_EPOCHS=2), "
                             f"got {pair!r}")
        out[key] = value
    return out


def watch_interval(args: argparse.Namespace) -> float:
    if args.watch_interval is not None:
        if args.watch_interval < 0:
            raise UsageError("--watch-interval must be 0 (off) or a positive number of seconds")
        return float(args.watch_interval)
    return FAST_WATCH_INTERVAL if args.fast else DEFAULT_WATCH_INTERVAL


def run_up(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Start the target, print where it listens, then one line per outcome until Ctrl-C."""
    from deploy.local.outcomes import Repeats, StageOutcome, format_line, split_watch
    from deploy.local.target import LocalTarget

    printing = threading.Lock()
    repeats = Repeats()  # an unchanged waiting state is printed once

    def show(outcome: StageOutcome) -> None:
        if outcome.quiet and not args.verbose:
            return
        with printing:
            for line in split_watch(outcome):
                if args.verbose or repeats.fresh(line):
                    print(format_line(line), file=out, flush=True)

    target = LocalTarget(
        args.state_dir, bucket=args.bucket, emulator_port=args.port,
        gateway_port=args.gateway_port, watch_interval=watch_interval(args),
        duplicate_deliveries=args.duplicate_deliveries, echo_logs=args.verbose,
        settings_overrides=overrides(args.set), start_functions=args.warm,
        max_queued=args.max_queued,
        instances={Stage.INFER: args.infer_instances} if args.infer_instances else None,
        on_outcome=None if args.quiet else show)
    if not args.verbose:  # the outcome lines say it; the details are in <state>/logs
        logging.getLogger("ocift.local").setLevel(logging.ERROR)
    target.start()
    if args.fast:
        from shared.cli.demo import fast_paces

        fast_paces(target)
    info = target.info
    assert info is not None
    from shared.cli.typed import command

    cmd = command()  # what to type in a terminal where the venv is not active
    print(f"ocift local target is up (state in {info.state_dir}, pid {info.pid})\n"
          f"  emulator endpoint : {info.emulator_endpoint}\n"
          f"  OCI config file   : {info.config_file}\n"
          f"  namespace         : {info.namespace}\n"
          f"  bucket            : {info.bucket}\n"
          f"  gateway           : {info.gateway_url}/infer\n"
          f"  function logs     : {Path(info.state_dir) / 'logs'}\n"
          f"In another terminal, from this directory: {cmd} upload FILE / {cmd} status / "
          f"{cmd} ask \"...\" --model NAME.  Ctrl-C stops.\n", file=out, flush=True)
    if not args.quiet:
        print(f"{'TIME':<8}  {'STAGE':<8}  {'DATASET':<20}  {'OUTCOME':<13}  {'ELAPSED':>7}"
              "  REASON", file=out, flush=True)
    target.run_forever()
    print("local target stopped", file=out, flush=True)
    return 0
