"""func.yaml, requirements.txt and the image build files agree with each other and with Fn/OCI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from fdk import customer_code
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
FUNC_YAML = ROOT / "func.yaml"

# docs.oracle.com/iaas/Content/Functions/Tasks/functionscustomizing.htm
OCI_MEMORY_MB = {128, 256, 512, 1024, 2048, 3072}
OCI_MAX_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def func() -> dict[str, Any]:
    data = yaml.safe_load(FUNC_YAML.read_text())
    assert isinstance(data, dict)
    return data


def test_schema_and_required_keys(func: dict[str, Any]) -> None:
    assert func["schema_version"] == 20180708
    for key in ("name", "version", "runtime", "entrypoint", "memory", "timeout"):
        assert key in func, f"func.yaml lacks {key}"
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", func["name"]), "image names must be lower case"
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(func["version"]))
    assert func["runtime"] == "python"
    assert func["build_image"].endswith(":3.11-dev")
    assert func["run_image"].endswith(":3.11")


def test_memory_and_timeout_within_oci_limits(func: dict[str, Any]) -> None:
    assert func["memory"] in OCI_MEMORY_MB
    assert 1 <= func["timeout"] <= OCI_MAX_TIMEOUT_S


def _entrypoint(func: dict[str, Any]) -> tuple[str, Path, str]:
    fdk_bin, module_path, handler_name = shlex.split(func["entrypoint"])
    assert module_path.startswith("/function/"), "the build context is copied to /function"
    return fdk_bin, ROOT / module_path.removeprefix("/function/"), handler_name


def test_entrypoint_resolves_to_a_real_handler_as_fdk_loads_it(func: dict[str, Any]) -> None:
    fdk_bin, module_file, handler_name = _entrypoint(func)
    assert fdk_bin == "/python/bin/fdk", "pip --target /python puts the fdk script there"
    assert module_file.is_file()
    handler = customer_code.Function(str(module_file), entrypoint=handler_name).handler()
    assert callable(handler)
    assert handler.__name__ == handler_name


def test_a_wrong_entrypoint_would_be_caught(func: dict[str, Any]) -> None:
    _, module_file, _ = _entrypoint(func)
    with pytest.raises(AttributeError):
        customer_code.Function(str(module_file), entrypoint="no_such_handler").handler()


def test_trimmed_dockerfile_matches_func_yaml(func: dict[str, Any]) -> None:
    text = (ROOT / "deploy" / "oci" / "Dockerfile").read_text()
    match = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE)
    assert match is not None
    assert yaml.safe_load(match.group(1)) == shlex.split(func["entrypoint"])
    assert "ENV PYTHONPATH=/function:/python" in text
    assert f"FROM {func['build_image']} AS build-stage" in text
    assert f"FROM {func['run_image']}\n" in text
    assert "trim_oci.py /python" in text
    # the project's own modules are compiled at build time (read-only file system at run time)
    assert "compileall -q /function/functions /function/shared" in text
    # A root Dockerfile would make `fn build` ignore runtime python: keep it under deploy/oci.
    assert not (ROOT / "Dockerfile").exists()


def test_requirements_pin_what_pyproject_declares() -> None:
    import tomllib

    declared = {
        Requirement(spec).name: Requirement(spec)
        for spec in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    pinned: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"pin {req.name} exactly for a reproducible image"
            pinned[req.name] = spec.version
    assert set(pinned) == set(declared)
    for name, version in pinned.items():
        assert declared[name].specifier.contains(version), f"{name}=={version} breaks pyproject"


def test_dockerignore_keeps_the_build_context_small() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".venv-*", "tests", "bench", "deploy/local"} <= patterns
    for needed in ("shared", "functions", "requirements.txt", "func.yaml"):
        assert needed not in patterns
