"""``ocift eval NAME [--version N] [--json]``: how a model version scores against its base."""

from __future__ import annotations

import argparse
import json
from typing import Any

from shared.cli.connection import add_connection_flags, connect
from shared.evaluation.report import EvaluationReport, EvaluationSummary

EXAMPLES_SHOWN = 10


class NoEvaluation(Exception):
    """Nothing to show (the message says why and what to do)."""


def add_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval", help="a model version's scores against its base model",
        description="Exact match, token F1 and ROUGE-L of the fine-tuned model and of its base "
                    "on the dataset's held-out split (never trained on); win/tie/loss by "
                    "token F1; the examples, worst first. Written by the evaluate stage when "
                    "a version's endpoint becomes ACTIVE.")
    ev.add_argument("dataset", help="dataset name")
    ev.add_argument("--version", default=None,
                    help="model version (default: the newest evaluated one)")
    ev.add_argument("--json", action="store_true",
                    help="print JSON: dataset, model_version, prompts, fine_tuned, base, "
                         "wins, ties, losses, examples")
    add_connection_flags(ev)


def pick(reports: list[EvaluationReport], dataset: str,
         version: str | None) -> EvaluationReport:
    if not reports:
        raise NoEvaluation(f"no evaluation report for dataset {dataset!r} yet: one is written "
                           "when a version's endpoint becomes ACTIVE (see `ocift status`)")
    if version is None:
        return reports[-1]
    for report in reports:
        if report.model_version == version:
            return report
    have = ", ".join(r.model_version for r in reports)
    raise NoEvaluation(f"dataset {dataset!r} has no evaluation of version {version}; "
                       f"evaluated versions: {have}")


def _scores(label: str, s: Any) -> str:
    if s is None:
        return f"{label:<11} -"
    ratio = f"  length x{s.length_ratio:.2f}" if s.length_ratio is not None else ""
    return (f"{label:<11} token F1 {s.token_f1:.3f}  exact match {s.exact_match:.3f}  "
            f"ROUGE-L {s.rouge_l:.3f}{ratio}")


def _clip(text: str | None, width: int = 70) -> str:
    if text is None:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def render(report: EvaluationReport) -> str:
    """The report as text: headline, scores, win/tie/loss, the worst examples."""
    summary = EvaluationSummary.of(report)
    lines = [f"{report.dataset} version {report.model_version}: {report.headline()}"
             + ("" if report.complete else " (in progress)"),
             f"examples    {summary.prompts} scored of {report.split_size} held out"
             + (f" (OCIFT_EVAL_MAX_PROMPTS={report.max_prompts})"
                if report.max_prompts is not None else ""),
             _scores("fine-tuned", report.fine_tuned_scores)]
    if report.base_scores is not None:
        lines.append(_scores("base", report.base_scores) + f"  ({report.base.kind.value})")
        lines.append(f"vs base     {report.wins} wins, {report.ties} ties, "
                     f"{report.losses} losses (by token F1)")
    else:
        lines.append(f"base        none: {report.base.reason or 'no base answered'}")
    lines += [f"note        {n}" for n in report.notes]
    if summary.examples:
        lines.append(f"worst {min(EXAMPLES_SHOWN, len(summary.examples))} examples "
                     "(fine-tuned token F1):")
    for e in summary.examples[:EXAMPLES_SHOWN]:
        f1 = e.fine_tuned_scores.token_f1 if e.fine_tuned_scores else 0.0
        base = (f" base {e.base_scores.token_f1:.2f}" if e.base_scores is not None else "")
        lines += [f"  F1 {f1:.2f}{base}  prompt:    {_clip(e.prompt)}",
                  f"             reference: {_clip(e.reference)}",
                  f"             answer:    {_clip(e.fine_tuned)}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from shared.cli.main import UserError
    from shared.evaluation.read import evaluations

    conn = connect(args)
    try:
        report = pick(evaluations(conn.store(), conn.settings, args.dataset), args.dataset,
                      args.version)
    except NoEvaluation as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(EvaluationSummary.of(report).model_dump(mode="json"), indent=2,
                         ensure_ascii=False))
    else:
        print(render(report))
    return 0
