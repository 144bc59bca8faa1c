"""``ocift``: run, feed, watch and query the pipeline (local target or a real tenancy).

    ocift demo                         # the whole pipeline offline, then one answer
    ocift up [--state-dir .ocift]      # the local target in the foreground
    ocift upload FILE [--name N] [--training]
    ocift status [--watch] [--json]
    ocift ask "question" [--model NAME] [--url URL]
    ocift reconcile                    # finish what lost events left undone
    ocift convert IN OUT               # offline conversion (no cloud)
    ocift ui [--port 8765]             # the whole pipeline on one web page
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from shared.cli.connection import DEFAULT_STATE_DIR, TargetNotFound, add_connection_flags, connect
from shared.settings import SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocift", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole pipeline offline and ask a question")
    demo.add_argument("--sample", type=Path, default=None, help="raw dataset to use")
    demo.add_argument("--keep", action="store_true",
                      help="keep the state in ./.ocift-demo instead of a temp directory")
    demo.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")

    up = sub.add_parser("up", help="start the local target in the foreground (Ctrl-C stops)")
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    up.add_argument("--bucket", default="ocift-datasets")
    up.add_argument("--port", type=int, default=0, help="emulator port (default any free)")
    up.add_argument("--gateway-port", type=int, default=0, help="gateway port (default any free)")
    up.add_argument("--watch-interval", type=float, default=5.0)
    up.add_argument("--fast", action="store_true",
                    help="fast emulator paces (as in the demo): trainings take seconds")

    upload = sub.add_parser("upload", help="drop a dataset into the bucket")
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", default=None, help="dataset name (default: the file's stem)")
    upload.add_argument("--training", action="store_true",
                        help="upload a ready .jsonl straight to training/ (skips conversion)")
    add_connection_flags(upload)

    status = sub.add_parser("status", help="each dataset's journey as a table")
    status.add_argument("--watch", action="store_true", help="refresh until all are finished")
    status.add_argument("--interval", type=float, default=2.0)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_connection_flags(status)

    ask = sub.add_parser("ask", help="ask a fine-tuned model through the inference route")
    ask.add_argument("question")
    ask.add_argument("--model", default=None, help="dataset/model name (default: the function's)")
    ask.add_argument("--endpoint-id", default=None)
    ask.add_argument("--max-tokens", type=int, default=None)
    ask.add_argument("--temperature", type=float, default=None)
    ask.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                     help="extra HTTP header (e.g. the API Gateway's Authorization)")
    ask.add_argument("--json", action="store_true",
                     help="print the whole JSON answer (with 'grounding' when the model gives it)")
    ask.add_argument("--likelihoods", action="store_true",
                     help="ask for token log-likelihoods (generic chat and text models; on the "
                          "local stand-in they say how close the match was)")
    add_connection_flags(ask)

    rec = sub.add_parser("reconcile", help="finish work that lost events left undone")
    add_connection_flags(rec)

    ui = sub.add_parser("ui", help="serve the pipeline's web page on 127.0.0.1")
    ui.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    add_connection_flags(ui)

    conv = sub.add_parser("convert", help="convert a raw dataset offline (IN OUT [options])")
    conv.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _upload(args: argparse.Namespace) -> int:
    conn = connect(args)
    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    from shared.cli.upload import BadUpload, object_name

    try:
        name = object_name(conn.settings, args.file.name, args.name, args.training)
    except BadUpload as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = conn.store()
    with args.file.open("rb") as body:
        resp = store.client.put_object(store.namespace, store.bucket, name, body)
    print(f"uploaded {args.file} as {name} (etag {resp.headers.get('etag', '?')})")
    return 0


def _status(args: argparse.Namespace) -> int:
    from shared.cli.status_view import collect, render

    conn = connect(args)
    store = conn.store()
    while True:
        rows = collect(store, conn.settings)
        if args.json:
            print(json.dumps([r.model_dump(mode="json", exclude_none=True) for r in rows],
                             indent=2))
        else:
            if args.watch and sys.stdout.isatty():
                print("\x1b[2J\x1b[H", end="")
            print(render(rows))
        if not args.watch or (rows and all(r.finished for r in rows)):
            return 0
        if not args.json:
            print(f"\n(refreshing every {args.interval:g}s; Ctrl-C to stop)", flush=True)
        time.sleep(args.interval)


def _ask(args: argparse.Namespace) -> int:
    from shared.cli.ask import describe_error, describe_grounding, post_infer

    conn = connect(args)
    if not conn.infer_url:
        print("error: no inference URL: pass --url (the API Gateway route) or use --local",
              file=sys.stderr)
        return 2
    body: dict[str, object] = {"prompt": args.question}
    for key in ("model", "endpoint_id", "max_tokens", "temperature"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.likelihoods:
        body["return_likelihoods"] = "GENERATION"
    headers = {}
    for item in args.header:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    status, answer = post_infer(conn.infer_url, body, headers)
    if args.json:
        print(json.dumps(answer, indent=2))
    if status != 200:
        print(f"error: {describe_error(status, answer)}", file=sys.stderr)
        return 1
    if not args.json:
        print(answer.get("text", ""))
        grounding = describe_grounding(answer)
        if grounding:  # stderr: stdout stays the answer alone, for pipes
            print(f"({grounding})", file=sys.stderr)
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from shared.stages import watch as watcher

    conn = connect(args)
    report = watcher.reconcile(conn.settings)
    for action in report.actions or ["nothing to do"]:
        print(action)
    return 0


def _up(args: argparse.Namespace) -> int:
    from deploy.local.target import LocalTarget

    target = LocalTarget(args.state_dir, bucket=args.bucket, emulator_port=args.port,
                         gateway_port=args.gateway_port, watch_interval=args.watch_interval)
    target.start()
    if args.fast:
        from shared.cli.demo import fast_paces

        fast_paces(target)
    assert target.info is not None
    print(f"local target up (state in {target.state_dir})\n"
          f"  emulator: {target.info.emulator_endpoint}\n"
          f"  inference: {target.info.gateway_url}/infer\n"
          "Ctrl-C to stop; in another shell: ocift upload FILE / ocift status / ocift ask ...",
          flush=True)
    target.run_forever()
    return 0


def _ui(args: argparse.Namespace) -> int:
    from shared.ui.server import serve

    return serve(connect(args), args)


def _demo(args: argparse.Namespace) -> int:
    from shared.cli.demo import SAMPLE, run_demo

    state_dir = Path(".ocift-demo").resolve() if args.keep else None
    return run_demo(sys.stdout, sample=args.sample or SAMPLE, state_dir=state_dir,
                    timeout=args.timeout)


def _convert(args: argparse.Namespace) -> int:
    from shared.convert.cli import main as convert_main

    rest = [a for a in args.args if a != "--"]
    return convert_main(rest)


COMMANDS = {"demo": _demo, "up": _up, "upload": _upload, "status": _status, "ask": _ask,
            "reconcile": _reconcile, "convert": _convert, "ui": _ui}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (TargetNotFound, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
