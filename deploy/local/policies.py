"""The pipeline's IAM statements as data (``deploy/iam/*.json``), rendered like Terraform.

One file per principal set: ``convert.json`` ... ``infer.json`` (each stage
function's dynamic group), ``services.json`` (OCI services in the compartment),
``tenancy.json`` (root-compartment statements). Each entry is a statement
template, the reason it is needed and optionally ``requires`` (a value that must
be non-empty for the statement to exist, e.g. ``bucket_kms_key_ocid``).

``${name}`` placeholders are filled exactly as Terraform's ``templatefile`` does
(``deploy/oci/modules/iam_policy``), from the same values, so the local target
enforces what Terraform deploys. Nothing else of the template language is
allowed in these files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deploy.local.emulator.iam import PolicyParseError, parse_statement

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE_FILES = ("convert", "train", "endpoint", "watch", "infer", "evaluate")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PolicyDataError(ValueError):
    """A policy file that cannot be loaded or rendered (names the file and the fault)."""


class PolicyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str = Field(min_length=1)
    reason: str = Field(min_length=10)
    requires: str | None = None


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    statements: list[PolicyEntry]


def default_iam_dir() -> Path:
    return REPO_ROOT / "deploy" / "iam"


def load_policy_files(iam_dir: Path | str | None = None) -> dict[str, PolicyFile]:
    """Every ``*.json`` policy file by name, validated."""
    root = Path(iam_dir) if iam_dir is not None else default_iam_dir()
    files: dict[str, PolicyFile] = {}
    for path in sorted(root.glob("*.json")):
        try:
            files[path.stem] = PolicyFile.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PolicyDataError(f"{path}: {where}: {first['msg']}") from None
    if not files:
        raise PolicyDataError(f"{root}: no policy files (*.json)")
    return files


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    rest = _PLACEHOLDER.sub("", template)
    if "${" in rest or "%{" in rest:
        raise PolicyDataError(f"{where}: only ${{name}} placeholders are allowed")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PolicyDataError(f"{where}: no value for ${{{name}}}")
        return values[name]

    return _PLACEHOLDER.sub(value, template)


def render(values: Mapping[str, str], dynamic_groups: Mapping[str, str],
           iam_dir: Path | str | None = None) -> dict[str, list[str]]:
    """Statements per file, placeholders filled, ``requires`` applied, each one parsed.

    ``values`` holds every placeholder (optional ones as ``""``); a file named after
    a stage gets its dynamic group as ``${dynamic_group}``. A statement that does
    not parse raises :class:`~deploy.local.emulator.iam.PolicyParseError` naming the
    file, the statement and the position.
    """
    out: dict[str, list[str]] = {}
    root = Path(iam_dir) if iam_dir is not None else default_iam_dir()
    for name, doc in load_policy_files(root).items():
        filled = {**values, "dynamic_group": dynamic_groups.get(name, "")}
        statements: list[str] = []
        for i, entry in enumerate(doc.statements):
            where = f"{root / (name + '.json')} statement {i + 1}"
            if entry.requires is not None:
                if entry.requires not in values:
                    raise PolicyDataError(f"{where}: requires unknown value {entry.requires!r}")
                if not values[entry.requires]:
                    continue
            text = _fill(entry.statement, filled, where)
            try:
                parse_statement(text)
            except PolicyParseError as exc:
                raise PolicyParseError(exc.statement, exc.position,
                                       f"{exc.reason} ({where})") from None
            statements.append(text)
        out[name] = statements
    return out


def stage_dynamic_group(pipeline: str, stage: str) -> str:
    """The dynamic group of a stage function, named as ``deploy/oci/iam.tf`` names it."""
    return f"{pipeline}-{stage}-fn"


def as_json(rendered: Mapping[str, list[str]]) -> str:
    return json.dumps(rendered, indent=2, sort_keys=True)


def markdown(files: Mapping[str, PolicyFile]) -> str:
    """The README tables of every statement and its reason (``deploy/oci/README.md``)."""
    out: list[str] = []
    for name, policy in files.items():
        out += [f"### `{name}.json`: {policy.description}", "", "| statement | why |",
                "| --- | --- |"]
        for entry in policy.statements:
            when = f" *(if `{entry.requires}`)*" if entry.requires else ""
            out.append(f"| `{entry.statement}`{when} | {entry.reason} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # python -m deploy.local.policies > the README's IAM tables
    print(markdown(load_policy_files()), end="")
