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


# -- the gaps a platform engineer found (issue 23) ----------------------------------------------


def _guide() -> str:
    return (TF_DIR / "README.md").read_text()


def _example() -> dict[str, Any]:
    return {k: _unquote(v) if isinstance(v, str) else v
            for k, v in _load(TF_DIR / "terraform.tfvars.example").items()
            if not k.startswith("__")}


def test_the_public_gateway_default_comes_with_a_public_subnet_and_port_443() -> None:
    declared = _variables()
    assert _unquote(declared["gateway_endpoint_type"]["default"]) == "PUBLIC"
    example = _example()
    # The example no longer leaves a PUBLIC gateway on the functions' private subnet.
    assert example["gateway_endpoint_type"] == "PUBLIC"
    assert example["gateway_subnet_ocid"].startswith("ocid1.subnet.")
    assert example["gateway_subnet_ocid"] != example["subnet_ocid"]
    guide = _guide()
    network = guide[guide.index("### Network: the gateway's subnet and port 443"):]
    network = network[:network.index("\n## ")]
    for needed in ("public regional subnet", "TCP 443", "PRIVATE", "gateway_subnet_ocid",
                   "apigatewaycreatinggateway.htm"):
        assert needed in network, needed


def test_the_jwt_settings_come_before_the_first_apply() -> None:
    guide = _guide()
    tfvars = guide[guide.index("### `terraform.tfvars`"):guide.index("## 1. Build")]
    assert "before the apply" in tfvars and "jwt_jwks_uri" in tfvars
    assert guide.index("jwt_jwks_uri") < guide.index("terraform -chdir=deploy/oci apply")
    gateway = (TF_DIR / "gateway.tf").read_text()
    assert 'var.gateway_auth != "jwt" || var.jwt_jwks_uri != ""' in gateway  # the precondition
    assert "BEFORE the first apply" in (TF_DIR / "terraform.tfvars.example").read_text()


def test_every_image_build_targets_the_functions_shape() -> None:
    functions = (TF_DIR / "functions.tf").read_text()
    assert 'shape          = "GENERIC_X86"' in functions
    guide = _guide()
    commands = "\n".join(re.findall(r"```sh\n(.*?)```", guide, flags=re.S))
    builds = [line for line in commands.splitlines()
              if re.search(r"\b(docker build|fn build)\b", line)]
    assert builds, "the guide shows how to build the image"
    for line in builds:
        assert "--platform linux/amd64" in line or "DOCKER_DEFAULT_PLATFORM=linux/amd64" in line, \
            line
    assert "'{{.Architecture}}'" in guide  # how to check what was built


def test_a_changed_pipeline_name_is_given_to_ocift() -> None:
    from shared.settings import Settings

    assert "pipeline_name" in Settings.model_fields  # OCIFT_PIPELINE_NAME is a real key
    guide = _guide()
    assert "export OCIFT_PIPELINE_NAME=" in guide
    assert "OCIFT_PIPELINE_NAME" in (TF_DIR / "terraform.tfvars.example").read_text()
    functions = (TF_DIR / "functions.tf").read_text()
    assert "OCIFT_PIPELINE_NAME     = var.pipeline_name" in functions


def test_the_guide_says_how_to_check_and_raise_limits_and_what_a_zero_does() -> None:
    guide = _guide()
    limits = guide[guide.index("### Service limits"):guide.index("## 3. Drop")]
    for needed in ("oci limits value list", "oci limits resource-availability get",
                   "dedicated-unit-small-cohere-count", "dedicated-unit-llama2-70-count",
                   "LimitExceeded", "REJECTED", "ENDPOINT_FAILED",
                   "service limit increase", "limitations.htm"):
        assert needed in limits, needed
    # The units it tells you to have free are the ones the family table creates.
    from shared import families

    row = families.lookup("cohere.command-r-08-2024")
    assert row is not None and f"{row.finetuning_units} for the fine-tuning cluster" in limits
