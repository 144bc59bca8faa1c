"""ocift: run, feed, watch and query the fine-tuning pipeline (local target or a real tenancy).

    ocift demo                         # the whole pipeline offline, then one answer
    ocift up [--fast]                  # the local target in the foreground (Ctrl-C stops)
    ocift upload FILE [--name N] [--training] [--base-model M --method LORA --epochs N ...]
    ocift plan FILE [the same flags]   # what it would create and commit to (offline)
    ocift approve NAME | reject NAME   # OCIFT_APPROVAL=required: decide on a waiting plan
    ocift status [--watch] [--json]    # per dataset; dead-lettered deliveries too
    ocift redrive [DELIVERY_ID ...]    # retry dead-lettered deliveries (local target)
    ocift ask "question" [--model NAME] [--url URL]
    ocift reconcile                    # finish what lost events left undone
    ocift convert IN [OUT]             # offline conversion (no cloud)
    ocift ui [--port 8765]             # the whole pipeline on one web page
    ocift down [DATASET] [--yes]       # list / delete what the pipeline created
    ocift eval NAME [--version N]      # a model version's scores against its base
    ocift serve DATASET                # host a kept model again after `down`

Commands talk to the local target running in ./.ocift (or --state-dir DIR); for a
real tenancy pass --profile NAME and --compartment-id (see deploy/oci/README.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from shared.cli import down as down_cli
from shared.cli import evaluation as eval_cli
from shared.cli import serve as serve_cli
from shared.cli.connection import TargetNotFound, add_connection_flags, connect
from shared.cli.spec_flags import add_spec_flags, spec_from_args
from shared.settings import SettingsError


class UserError(Exception):
    """A mistake the user can fix; printed as ``error: <message>`` with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="ocift", description=doc.split("\n\n")[0],
                                     epilog="\n\n".join(doc.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole pipeline offline and ask a question",
                          description="Start a throw-away local target at the demo's paces, "
                                      "upload a sample dataset, follow it through convert, "
                                      "train and endpoint, ask one question and stop. Needs "
                                      "no cloud account (about 5 s).")
    demo.add_argument("--sample", type=Path, default=None, help="raw dataset to use")
    demo.add_argument("--keep", action="store_true",
                      help="keep the state in ./.ocift-demo instead of a temp directory")
    demo.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")

    from shared.cli.up import add_up_arguments

    up = sub.add_parser("up", help="start the local target in the foreground (Ctrl-C stops)",
                        description="Run the emulator, event router, functions, inference "
                                    "gateway and watcher on 127.0.0.1, printing one line per "
                                    "stage outcome. One target per state directory.")
    add_up_arguments(up)

    upload = sub.add_parser("upload", help="drop a dataset into the bucket",
                            description="Check that FILE looks like JSON / JSON Lines, then "
                                        "put it at raw/<name>.json (or training/<name>.jsonl).")
    upload.add_argument("file", type=Path, help="a JSON array of records or a JSON Lines file")
    upload.add_argument("--name", default=None, help="dataset name (default: the file's stem)")
    upload.add_argument("--training", action="store_true",
                        help="upload a ready .jsonl straight to training/ (skips conversion)")
    add_spec_flags(upload)
    add_connection_flags(upload)

    status = sub.add_parser("status", help="each dataset's journey as a table",
                            description="Per dataset: conversion report, JSONL, state, "
                                        "model (training %), metrics, endpoint; then the "
                                        "reasons and, on the local target, dead-lettered "
                                        "deliveries.")
    status.add_argument("--watch", action="store_true", help="refresh until all are finished")
    status.add_argument("--interval", type=float, default=2.0,
                        help="seconds between refreshes with --watch (default 2)")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--deliveries", action="store_true",
                        help="local target: show the event router's queue and journals instead")
    add_connection_flags(status)

    redrive = sub.add_parser("redrive", help="retry dead-lettered deliveries (local target)",
                             description="Queue deliveries the router gave up on again, with "
                                         "fresh attempts (see `ocift status`).")
    redrive.add_argument("delivery_ids", nargs="*", metavar="DELIVERY_ID",
                         help="only these deliveries (default: every dead letter)")
    redrive.add_argument("--dataset", default=None,
                         help="only the dead letters of this dataset")
    redrive.add_argument("--state-dir", type=Path, default=None,
                         help="state directory of the local target (default .ocift)")

    ask = sub.add_parser("ask", help="ask a fine-tuned model through the inference route",
                         description="POST {\"prompt\": QUESTION} to the inference route "
                                     "(the local gateway, or --url on a tenancy).")
    ask.add_argument("question", help="the prompt to send")
    ask.add_argument("--model", default=None,
                     help="dataset name whose newest ACTIVE endpoint answers (default: the "
                          "function's OCIFT_DEFAULT_MODEL)")
    ask.add_argument("--endpoint-id", default=None,
                     help="ask this endpoint OCID instead of a dataset's")
    ask.add_argument("--max-tokens", type=int, default=None, help="longest answer, in tokens")
    ask.add_argument("--temperature", type=float, default=None,
                     help="0 = deterministic (the local stand-in's default)")
    ask.add_argument("--header", action="append", default=[], metavar="NAME: VALUE",
                     help="extra HTTP header, e.g. 'Authorization: Bearer <jwt>' for the API "
                          "Gateway")
    ask.add_argument("--json", action="store_true",
                     help="print the whole JSON answer (with 'grounding' when the model gives it)")
    ask.add_argument("--likelihoods", action="store_true",
                     help="ask for token log-likelihoods (generic chat and text models; on the "
                          "local stand-in they say how close the match was)")
    add_connection_flags(ask, tenancy=False)

    rec = sub.add_parser("reconcile", help="finish work that lost events left undone",
                         description="Queue raw objects and JSONL no event carried, rebuild "
                                     "lost status objects from the models' tags, record "
                                     "endpoints deleted outside the pipeline, hand waiting "
                                     "work back to its stage, sweep released clusters; then "
                                     "one watch tick. Prints what it did.")
    add_connection_flags(rec)

    ui = sub.add_parser("ui", help="serve the pipeline's web page on 127.0.0.1",
                        description="Serve one web page with every dataset's path, the "
                                    "billable resources, each dataset's report, versions and "
                                    "dead letters, and a playground, on 127.0.0.1 only. Prints "
                                    "a one-time login link.")
    ui.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    add_connection_flags(ui, inference=True)

    down_cli.add_parser(sub)
    eval_cli.add_parser(sub)

    from shared.cli import jobs as jobs_cli

    jobs_cli.add_parsers(sub)
    serve_cli.add_parser(sub)

    sub.add_parser("convert", help="convert a raw dataset offline: IN [OUT] [options] "
                                   "(ocift convert --help)", add_help=False)
    return parser


def _upload(args: argparse.Namespace) -> int:
    from shared.cli.sniff import NotADataset, check_dataset_file
    from shared.cli.upload import BadUpload, object_name

    if not args.file.is_file():
        raise UserError(f"{args.file} is not a file: give the path of a JSON or JSON Lines "
                        "dataset")
    try:
        check_dataset_file(args.file, training=args.training)
    except NotADataset as exc:
        raise UserError(f"{exc} (nothing was uploaded)") from None
    from shared import jobspec
    from shared.storage import encode_metadata

    try:
        spec = spec_from_args(args)
    except jobspec.JobSpecError as exc:
        raise UserError(f"{exc} (nothing was uploaded)") from None
    conn = connect(args)
    try:
        name = object_name(conn.settings, args.file.name, args.name, args.training)
    except BadUpload as exc:
        raise UserError(str(exc)) from None
    store = conn.store()
    meta = jobspec.to_metadata(spec)
    with args.file.open("rb") as body:
        resp = store.client.put_object(store.namespace, store.bucket, name, body,
                                       **({"opc_meta": encode_metadata(meta)} if meta else {}))
    from shared.cli.typed import command

    print(f"uploaded {args.file} as {name} (etag {resp.headers.get('etag', '?')}); "
          f"follow it with `{command()} status --watch`")
    return 0


def _status(args: argparse.Namespace) -> int:
    from shared.cli.status_view import collect, render

    conn = connect(args)
    if args.deliveries:
        return _deliveries(args, conn)
    store = conn.store()
    while True:
        rows = collect(store, conn.settings, genai=conn.genai() if not args.json else None,
                       dead=_dead_letters(args, conn), pending=_pending(args, conn))
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


def _dead_letters(args: argparse.Namespace, conn: object) -> list[object] | None:
    if not getattr(conn, "local", False):
        return None
    from shared.cli.connection import DEFAULT_STATE_DIR
    from shared.cli.deadletters import dead_letters

    return list(dead_letters(args.state_dir or DEFAULT_STATE_DIR, conn.settings))  # type: ignore[attr-defined]


def _pending(args: argparse.Namespace, conn: object) -> list[object] | None:
    """The local router's deliveries still queued or in flight (None on a tenancy)."""
    if not getattr(conn, "local", False):
        return None
    from shared.cli.arrivals import pending_deliveries
    from shared.cli.connection import DEFAULT_STATE_DIR

    return list(pending_deliveries(args.state_dir or DEFAULT_STATE_DIR, conn.settings))  # type: ignore[attr-defined]


def _deliveries(args: argparse.Namespace, conn: object) -> int:
    from deploy.local.router import Router
    from shared.cli.connection import DEFAULT_STATE_DIR

    if not getattr(conn, "local", False):
        raise UserError("--deliveries shows the local target's event router; OCI Events "
                        "keeps no delivery journal (see its rule metrics in the Console)")
    state_dir = (args.state_dir or DEFAULT_STATE_DIR).resolve()
    status = Router(state_dir, [], lambda f, b: None).status()
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(f"pending {status.pending_count}, in flight {status.in_flight}, delivered "
          f"{status.delivered_count}, dead-lettered {status.dead_lettered_count}, "
          f"retried attempts {status.retried_count}")
    for d in status.pending:
        print(f"  pending  {d.function:<8} {d.resource_name or '-'}  attempts {d.attempts}"
              + (f"  last error: {d.last_error}" if d.last_error else ""))
    for r in status.dead_lettered:
        print(f"  dead     {r.function:<8} {r.resource_name or '-'}  attempts {r.attempts}  "
              f"{r.delivery_id}  last error: {r.last_error}")
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from shared.cli.connection import DEFAULT_STATE_DIR, local_settings, no_target_message
    from shared.cli.deadletters import dead_letters, redrive

    state_dir = args.state_dir or DEFAULT_STATE_DIR
    if not (state_dir / "router").is_dir():
        raise TargetNotFound(no_target_message(state_dir, f"{state_dir} holds no local target "
                                                          "state"))
    ids = list(args.delivery_ids)
    if args.dataset:
        from deploy.local.info import read_info

        settings = local_settings(read_info(state_dir))
        ids += [d.delivery_id for d in dead_letters(state_dir, settings)
                if d.dataset == args.dataset]
        if not ids:
            print(f"no dead-lettered delivery of dataset {args.dataset!r}: nothing to redrive")
            return 0
    requeued, unknown = redrive(state_dir, ids or None)
    for delivery_id in unknown:
        print(f"error: no dead letter with id {delivery_id!r} (it may have been redriven "
              "already): see `ocift status`", file=sys.stderr)
    if not requeued:
        if not unknown:
            print("no dead-lettered deliveries: nothing to redrive")
        return 1 if unknown else 0
    from deploy.local.lock import running_holder

    when = ("the running target delivers them within a second"
            if running_holder(state_dir) else "they are delivered when `ocift up` starts")
    print(f"requeued {len(requeued)} deliver{'y' if len(requeued) == 1 else 'ies'}: "
          f"{', '.join(requeued)}; {when}")
    return 1 if unknown else 0


def _ask(args: argparse.Namespace) -> int:
    from shared.cli.ask import describe_error, describe_grounding, post_infer

    conn = connect(args)
    if not conn.infer_url:
        raise UserError("no inference URL: pass --url https://<gateway>/<pipeline>/infer "
                        "(terraform output infer_url), or start the local target (`ocift up`)")
    body: dict[str, object] = {"prompt": args.question}
    for key in ("model", "endpoint_id", "max_tokens", "temperature"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.likelihoods:
        body["return_likelihoods"] = "GENERATION"
    headers = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UserError(f"--header expects 'NAME: VALUE', got {item!r}")
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
    from shared.cli.up import run_up

    return run_up(args)


def _ui(args: argparse.Namespace) -> int:
    from shared.ui.server import serve

    return serve(connect(args), args)


def _demo(args: argparse.Namespace) -> int:
    from shared.cli.demo import SAMPLE, run_demo

    state_dir = Path(".ocift-demo").resolve() if args.keep else None
    return run_demo(sys.stdout, sample=args.sample or SAMPLE, state_dir=state_dir,
                    timeout=args.timeout)


def _convert(argv: Sequence[str]) -> int:
    from shared.convert.cli import main as convert_main

    return convert_main([a for a in argv if a != "--"], prog="ocift convert")


def _jobs(args: argparse.Namespace) -> int:
    from shared.cli import jobs as jobs_cli

    try:
        return jobs_cli.run_plan(args) if args.command == "plan" else jobs_cli.run_decision(args)
    except jobs_cli.JobError as exc:
        raise UserError(str(exc)) from None


COMMANDS = {"demo": _demo, "up": _up, "upload": _upload, "status": _status, "ask": _ask,
            "reconcile": _reconcile, "redrive": _redrive, "ui": _ui, "down": down_cli.run,
            "plan": _jobs, "approve": _jobs, "reject": _jobs,
            "eval": eval_cli.run, "serve": serve_cli.run}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "convert":  # the converter parses its own options and --help
        return _convert(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every error ends in one line, never a traceback
        return _report_error(exc)


def _report_error(exc: Exception) -> int:
    from deploy.local.lock import TargetAlreadyRunning
    from shared.cli.errors import user_message
    from shared.cli.up import UsageError

    if isinstance(exc, UserError | TargetNotFound | SettingsError | TargetAlreadyRunning
                  | UsageError):
        print(f"error: {exc}", file=sys.stderr)
        return 2
    message = user_message(exc)
    if message is not None:
        print(f"error: {message}", file=sys.stderr)
        return 1
    if os.environ.get("OCIFT_DEBUG"):
        raise exc
    print(f"error: unexpected {type(exc).__name__}: {exc}. This is a bug in ocift: rerun "
          "with OCIFT_DEBUG=1 to see the traceback, and report it", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
