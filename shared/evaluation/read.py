"""Reading a dataset's evaluation reports (``ocift eval``, ``ocift status``, the web page)."""

from __future__ import annotations

from shared import naming
from shared.evaluation.report import EvaluationReport
from shared.records import MalformedRecord, read_record
from shared.settings import Settings
from shared.storage import ObjectStore


def _version_key(report: EvaluationReport) -> tuple[int, str]:
    v = report.model_version
    return (int(v), v) if v.isdigit() else (1 << 62, v)


def evaluations(store: ObjectStore, settings: Settings, dataset: str) -> list[EvaluationReport]:
    """Every readable evaluation report of ``dataset``, oldest version first (a report that
    does not parse is left out: the evaluate stage quarantines it)."""
    prefix = naming.evaluation_reports_prefix(settings, dataset)
    found = []
    for name in store.list_names(prefix):
        if not name.endswith(naming.EVAL_REPORT_SUFFIX):
            continue
        version = name[len(prefix):-len(naming.EVAL_REPORT_SUFFIX)]
        if naming.evaluation_report_object(settings, dataset, version) != name:
            continue
        try:
            got = read_record(store, name, EvaluationReport)
        except MalformedRecord:
            continue
        if got is not None and got[0].dataset == dataset:
            found.append(got[0])
    return sorted(found, key=_version_key)


def evaluation(store: ObjectStore, settings: Settings, dataset: str,
               version: str) -> EvaluationReport | None:
    """The evaluation report of one version (None when there is none yet)."""
    name = naming.evaluation_report_object(settings, dataset, version)
    got = read_record(store, name, EvaluationReport)
    return None if got is None else got[0]
