"""``python -m deploy.local``: run the local target, drop files into it, show its status.

    python -m deploy.local up [--state-dir .ocift] [--port 0] [--gateway-port 0]
                              [--infer-instances 4] [--max-queued 256]
    python -m deploy.local upload FILE [--name raw/FILE] [--state-dir .ocift]
    python -m deploy.local status [--state-dir .ocift]
    python -m deploy.local redrive [DELIVERY_ID ...] [--state-dir .ocift]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.local.router import Router
from deploy.local.target import DEFAULT_STATE_DIR, LocalTarget, read_info, upload_file
from shared import logs
from shared.settings import Stage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.local",
                                     description="ocift local target (no cloud account)")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run emulator, router, functions and gateway in the foreground")
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    up.add_argument("--port", type=int, default=0, help="emulator port (default: any free)")
    up.add_argument("--gateway-port", type=int, default=0, help="gateway port (default: any free)")
    up.add_argument("--bucket", default="ocift-datasets")
    up.add_argument("--watch-interval", type=float, default=5.0,
                    help="seconds between watch ticks (0 disables)")
    up.add_argument("--duplicate-deliveries", action="store_true",
                    help="fault knob: deliver every event twice")
    up.add_argument("--quiet", action="store_true", help="do not echo function output")
    up.add_argument("--warm", action="store_true",
                    help="start every function process now instead of on first call")
    up.add_argument("--infer-instances", type=int, default=None, metavar="N",
                    help="warm processes of the infer function at most (default 4)")
    up.add_argument("--max-queued", type=int, default=None, metavar="N",
                    help="calls that may wait for a busy function; more get 429 (default 256)")
    up.add_argument("--set", action="append", default=[], metavar="OCIFT_KEY=VALUE",
                    help="extra function configuration (repeatable)")

    upload = sub.add_parser("upload", help="put a file into the running target's bucket")
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", help="object name (default: raw/<file name>)")
    upload.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)

    status = sub.add_parser("status", help="router queue, deliveries and dead letters")
    status.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)

    redrive = sub.add_parser("redrive", help="queue dead-lettered deliveries again")
    redrive.add_argument("delivery_ids", nargs="*", help="only these (default: all)")
    redrive.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    return parser


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("OCIFT_"):
            raise SystemExit(f"--set expects OCIFT_KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        logs.configure("INFO")
        target = LocalTarget(args.state_dir, bucket=args.bucket, emulator_port=args.port,
                             gateway_port=args.gateway_port, watch_interval=args.watch_interval,
                             duplicate_deliveries=args.duplicate_deliveries,
                             echo_logs=not args.quiet, settings_overrides=_overrides(args.set),
                             start_functions=args.warm, max_queued=args.max_queued,
                             instances=({Stage.INFER: args.infer_instances}
                                        if args.infer_instances else None))
        target.start()
        info = target.info
        assert info is not None
        print(f"ocift local target is up (state in {info.state_dir})\n"
              f"  emulator endpoint : {info.emulator_endpoint}\n"
              f"  OCI config file   : {info.config_file}\n"
              f"  namespace         : {info.namespace}\n"
              f"  bucket            : {info.bucket}\n"
              f"  gateway           : {info.gateway_url}/infer\n"
              f"  function logs     : {Path(info.state_dir) / 'logs'}\n"
              f"Drop a dataset: python -m deploy.local upload FILE   (Ctrl-C stops)",
              flush=True)
        target.run_forever()
        return 0
    if args.command == "upload":
        info = read_info(args.state_dir)
        name = args.name or f"raw/{args.file.name}"
        etag = upload_file(info, args.file, name)
        print(json.dumps({"bucket": info.bucket, "object": name, "etag": etag}))
        return 0
    if args.command == "status":
        router = Router(args.state_dir.resolve(), [], lambda f, b: None)
        print(router.status().model_dump_json(indent=2))
        return 0
    if args.command == "redrive":
        router = Router(args.state_dir.resolve(), [], lambda f, b: None)
        print(json.dumps({"requeued": router.redrive(args.delivery_ids or None)}))
        return 0
    return 2


if __name__ == "__main__":
    logging.captureWarnings(True)
    sys.exit(main())
