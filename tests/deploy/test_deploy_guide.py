"""The deploy guide's pieces fit: the tfvars example sets real variables with valid values,
the provider takes the profile, and the guide's commands use one image tag and run from
the repository root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "deploy" / "oci"


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle))


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _variables() -> dict[str, dict[str, Any]]:
    return {_unquote(name): body for block in _load(TF_DIR / "variables.tf")["variable"]
            for name, body in block.items()}


def test_tfvars_example_sets_every_required_variable_with_a_valid_value() -> None:
    example = {k: _unquote(v) if isinstance(v, str) else v
               for k, v in _load(TF_DIR / "terraform.tfvars.example").items()
               if not k.startswith("__")}
    declared = _variables()
    assert set(example) <= set(declared), set(example) - set(declared)
    required = {name for name, body in declared.items() if "default" not in body}
    assert required <= set(example), required - set(example)
    image_rule = re.compile(r"^[a-z0-9-]+\.ocir\.io/[a-z0-9_-]+/[a-z0-9._/-]+:[A-Za-z0-9._-]+$")
    assert image_rule.match(example["image"])
    assert example["image"].startswith("ord.ocir.io/") and example["region"] == "us-chicago-1"
    assert example["image"].endswith("/ocift/ocift:0.1.0")


def test_the_provider_uses_the_profile_variable() -> None:
    text = (TF_DIR / "versions.tf").read_text()
    assert "config_file_profile = var.oci_config_profile" in text
    assert "oci_config_profile" in _variables()


def test_the_guide_uses_one_image_tag_and_paths_from_the_repository_root() -> None:
    guide = (TF_DIR / "README.md").read_text()
    tags = set(re.findall(r"ocift/ocift:([A-Za-z0-9._-]+)", guide))
    assert tags == {"0.1.0"}, tags
    assert "cd deploy/oci" not in guide  # every step runs from the repository root
    assert "terraform -chdir=deploy/oci apply" in guide
    assert "-var " not in guide  # terraform.tfvars, not repeated flags
    for needed in ("Cleaned_date.json", "oauth2/v1/token", "--profile", "ord",
                   "container repository create", "--is-public false"):
        assert needed in guide, needed
    assert "deploy/oci/terraform.tfvars" in (ROOT / ".gitignore").read_text()
