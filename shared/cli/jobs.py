"""``ocift plan``, ``ocift approve`` and ``ocift reject`` (issue 24).

``plan`` is offline: the file is converted in memory (nothing is uploaded) and the job
spec from the flags merged over the pipeline's configuration; when a target or tenancy
is reachable, whether each cluster would be reused is asked the way the stages ask it
(``genai.find_cluster``). ``approve`` / ``reject`` write ``approvals/<name>.json`` as the
user's principal, bound to the content and spec of the plan in the dataset's status.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.cli.connection import TargetNotFound, add_connection_flags, connect
from shared.cli.spec_flags import add_spec_flags, spec_from_args


class JobError(Exception):
    """A user error of these commands (printed as ``error: ...``, exit code 2)."""


def add_parsers(sub: Any) -> None:
    plan = sub.add_parser(
        "plan", help="what training FILE would create and commit to (offline, no upload)",
        description="Convert FILE in memory, merge the job-spec flags over the pipeline's "
                    "configuration, validate them against OCI's documented ranges, and show "
                    "the base model, method, hyperparameters, examples, the fine-tuning and "
                    "hosting clusters (reused or created, shape x units), OCI's minimum "
                    "commitments and unit-hours; money only with OCIFT_UNIT_PRICES.")
    plan.add_argument("file", type=Path, help="a JSON array of records or a JSON Lines file")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_spec_flags(plan)
    add_connection_flags(plan)
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        cmd = sub.add_parser(
            name, help=f"{verb} a dataset waiting with its plan (OCIFT_APPROVAL=required)",
            description=f"Write approvals/NAME.json ({verb}), bound to the content hash and "
                        "job spec of the plan in the dataset's status; a changed file waits "
                        "again.")
        cmd.add_argument("dataset", metavar="NAME", help="dataset name")
        add_connection_flags(cmd)


def _settings_and_client(args: argparse.Namespace) -> tuple[Any, Any | None, str]:
    from shared.settings import Settings

    env = Settings.from_env()
    try:
        conn = connect(args)
    except TargetNotFound:
        return env, None, "no target or tenancy reachable: cluster reuse not checked"
    update = {f: getattr(env, f) for f in env.model_fields_set
              if f not in ("stage", "auth", "oci_config_file", "oci_profile", "bucket",
                           "namespace", "compartment_id", "region")
              and not f.endswith("_endpoint")}
    settings = conn.settings.model_copy(update=update)
    return settings, conn.genai(), ""


class _Discard:
    def write(self, data: Any) -> int:
        return len(data)


def run_plan(args: argparse.Namespace) -> int:
    from shared import base_model_lifecycle, genai, identity, jobspec
    from shared import plan as plans
    from shared.cli.sniff import NotADataset, check_dataset_file
    from shared.convert import DatasetRules, convert_stream

    if not args.file.is_file():
        raise JobError(f"{args.file} is not a file: give the path of a JSON or JSON Lines dataset")
    try:
        check_dataset_file(args.file, training=False)
        spec = spec_from_args(args)
    except (NotADataset, jobspec.JobSpecError) as exc:
        raise JobError(str(exc)) from None
    settings, client, note = _settings_and_client(args)
    job = jobspec.effective(spec, settings)
    hashing = identity.HashingWriter(_Discard())
    with args.file.open("rb") as src:
        report = convert_stream(src, hashing, source=str(args.file),
                                rules=DatasetRules.for_base_model(job.base_model),
                                eval_size=job.eval_size or 0, eval_out=_Discard(),
                                mapping=jobspec.field_mapping(job))
    if not report.valid:
        why = report.fatal.message if report.fatal is not None else "no usable record"
        raise JobError(f"{args.file} would be rejected: {why} (`ocift convert {args.file}` "
                       "shows every skipped record)")
    try:
        family = genai.family_of(job.base_model, job.key("base_model"))
        if client is not None:
            verdict = base_model_lifecycle.judge(
                genai.resolve_base_model(client, settings, job).model)
            if verdict.retired:
                raise genai.PermanentError(verdict.message)
        method = genai.choose_method(job, family, report.records_written,
                                     settings.vanilla_threshold)
        genai.check_hyperparameters(job, family, method)
    except genai.PermanentError as exc:
        message = str(exc)
        for field in spec.given():  # the user gave flags: name them
            message = message.replace(jobspec.header_key(field), jobspec.FLAGS[field])
        raise JobError(f"would be REJECTED: {message}") from None
    the_plan = plans.build(settings, job, family, method, report.records_written,
                           hashing.hexdigest(), client, report.eval_records)
    if args.json:
        print(json.dumps(the_plan.model_dump(mode="json"), indent=2))
        return 0
    print(f"plan for {args.file} (nothing uploaded, nothing created)")
    for line in plans.render(the_plan):
        print(f"  {line}")
    if note:
        print(f"  ({note})")
    return 0


def run_decision(args: argparse.Namespace) -> int:
    from shared import approval, naming
    from shared.records import read_record
    from shared.status import DatasetStatus

    conn = connect(args)
    store = conn.store()
    got = read_record(store, naming.status_object(conn.settings, args.dataset), DatasetStatus)
    if got is None:
        raise JobError(f"no dataset {args.dataset!r}: see `ocift status` for the names")
    decision = approval.Decision.APPROVE if args.command == "approve" \
        else approval.Decision.REJECT
    try:
        record = approval.decide(store, conn.settings, got[0], decision)
    except approval.NotAwaiting as exc:
        raise JobError(str(exc)) from None
    what = ("the train stage now creates what the plan says" if decision is
            approval.Decision.APPROVE else "the dataset is REJECTED (rejected by the user)")
    print(f"{decision.value}d {args.dataset} (content {str(record.content_sha256)[:12]}, spec "
          f"{record.spec_sha256[:12]}): {what}; follow it with `ocift status --watch`",
          file=sys.stdout)
    return 0
