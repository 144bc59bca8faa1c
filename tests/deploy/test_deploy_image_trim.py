"""The OCI SDK trim keeps everything each stage imports and drops the rest.

The trim runs on a symlink copy of the dev venv's site-packages (cheap, no
download; the trim unlinks symlinks and never enters them); each stage is then
probed in a fresh ``python -S`` process that sees only that trimmed copy and the
repo: the fdk entrypoint, the handler as fdk loads it, the stage module and the
stage's clients (built with a made-up resource principal, as on OCI Functions)
must load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.oci import trim_oci
from shared.settings import Stage

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "deploy" / "oci" / "image_probe.py"
REAL_OCI = Path(oci.__file__).parent
REAL_SITE = REAL_OCI.parent


@pytest.fixture(scope="module")
def trimmed_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    site = tmp_path_factory.mktemp("site")
    for entry in REAL_SITE.iterdir():
        if entry.name not in ("oci", "bin", "__pycache__") and not entry.name.endswith(".pth"):
            (site / entry.name).symlink_to(entry)
    (site / "oci").mkdir()
    for entry in REAL_OCI.iterdir():
        if entry.name != "__pycache__":
            (site / "oci" / entry.name).symlink_to(entry)
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "oci" / "trim_oci.py"), str(site)],
                          capture_output=True, text=True, check=True)
    return site, json.loads(done.stdout)


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCIFT_", "OCI_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    # -S: no site-packages of the venv, only the trimmed copy and the repo.
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_trim_keeps_the_four_services_and_what_the_core_imports(
    trimmed_site: tuple[Path, dict[str, Any]],
) -> None:
    site, summary = trimmed_site
    kept = set(summary["kept_services"])
    assert kept >= trim_oci.KEEP_SERVICES
    # oci.pagination imports dns and object_storage; oci.waiter imports work_requests.
    assert {"dns", "work_requests"} <= kept
    assert len(kept) <= 8, kept
    assert "identity" in summary["removed"] and "core" in summary["removed"]
    # fdk's build/test tool chain is gone (pytest itself is in the dev venv, so it is there).
    assert {"pytest", "cython", "pygments"} <= set(summary["dists_removed"])
    for gone in ("_pytest", "pytest", "Cython", "pygments"):
        assert not (site / gone).exists(), gone
    assert (REAL_SITE / "_pytest").is_dir(), "the real venv must be untouched"
    left = set(trim_oci.service_packages(site / "oci"))
    assert left == kept
    assert len(summary["removed"]) + len(kept) == len(trim_oci.service_packages(REAL_OCI))
    # Core (non-service) parts are untouched.
    for core in ("_vendor", "auth", "retry", "circuit_breaker", "base_client.py", "signer.py"):
        assert (site / "oci" / core).exists()


@pytest.mark.parametrize("stage", [s.value for s in Stage])
def test_each_stage_loads_with_the_trimmed_sdk(
    trimmed_site: tuple[Path, dict[str, Any]], stage: str
) -> None:
    site, summary = trimmed_site
    done = _run(site, str(PROBE), stage)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert Path(report["oci_file"]).parent == site / "oci", "probe must use the trimmed copy"
    loaded = set(report["oci_subpackages"])
    assert not loaded & set(summary["removed"])
    assert {"auth", "base_client", "retry"} <= loaded
    # where the cold start goes, phase by phase, one entry per client the stage builds
    from deploy.oci.image_probe import STAGE_SERVICES

    phases = report["phases_s"]
    assert set(phases) == {"fdk", "handler", "stage_module", "clients"}
    assert list(phases["clients"]) == list(STAGE_SERVICES[stage])
    assert sum(phases[p] for p in ("fdk", "handler", "stage_module")) + sum(
        phases["clients"].values()) <= report["import_and_clients_s"] + 0.01


def test_removed_services_are_really_gone(trimmed_site: tuple[Path, dict[str, Any]]) -> None:
    site, _ = trimmed_site
    done = _run(site, "-c", "import oci; import oci.identity")
    assert done.returncode != 0
    assert "oci.identity" in done.stderr


def test_unknown_keep_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "oci").mkdir()
    (tmp_path / "oci" / "__init__.py").write_text("")
    assert trim_oci.main([str(tmp_path), "--keep", "no_such_service"]) == 2
    assert trim_oci.main([str(tmp_path / "missing")]) == 2


def test_core_imports_decide_what_stays_and_dry_run_deletes_nothing(tmp_path: Path) -> None:
    oci_dir = tmp_path / "oci"
    for service in ("object_storage", "identity"):
        (oci_dir / service / "models").mkdir(parents=True)
        (oci_dir / service / "__init__.py").write_text("")
        (oci_dir / service / "models" / "__init__.py").write_text("x = 1\n")
    # The root imports the core eagerly and, in a branch, every service (lazy by default).
    (oci_dir / "__init__.py").write_text(
        "from . import waiter\nfrom . import object_storage, identity\n"
    )
    (oci_dir / "waiter.py").write_text("from oci.identity.models import X\n")
    summary = trim_oci.trim(tmp_path, keep={"object_storage"}, dry_run=True)
    assert summary["removed"] == []  # waiter.py (core) imports identity: it must stay
    (oci_dir / "waiter.py").write_text("import json\n")
    summary = trim_oci.trim(tmp_path, keep={"object_storage"}, dry_run=True)
    assert summary["removed"] == ["identity"]
    assert (oci_dir / "identity").is_dir()
    trim_oci.trim(tmp_path, keep={"object_storage"})
    assert not (oci_dir / "identity").exists() and (oci_dir / "object_storage").is_dir()


def test_drop_dists_removes_a_distribution_by_its_record(tmp_path: Path) -> None:
    site, outside = tmp_path / "site", tmp_path / "outside"
    (outside / "linked").mkdir(parents=True)
    (outside / "linked" / "keep.py").write_text("x = 1\n")
    (site / "fakepkg").mkdir(parents=True)
    (site / "fakepkg" / "__init__.py").write_text("")
    (site / "linked").symlink_to(outside / "linked")
    (site / "bin").mkdir()
    (site / "bin" / "fake").write_text("#!/bin/sh\n")
    (site / "bin" / "other").write_text("#!/bin/sh\n")
    info = site / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Fake_Pkg\nVersion: 1.0\n")
    (info / "RECORD").write_text(
        "fakepkg/__init__.py,,\nlinked/keep.py,,\nbin/fake,,\n../../escape.py,,\n"
        "fakepkg-1.0.dist-info/METADATA,,\nfakepkg-1.0.dist-info/RECORD,,\n"
    )
    assert trim_oci.drop_dists(site, {"fake-pkg"}, dry_run=True)["fake-pkg"] > 0
    assert (site / "fakepkg").is_dir()
    trim_oci.drop_dists(site, {"fake-pkg"})
    assert not (site / "fakepkg").exists() and not info.exists()
    assert not (site / "linked").exists(), "the symlink goes"
    assert (outside / "linked" / "keep.py").exists(), "what it points at stays"
    assert not (site / "bin" / "fake").exists() and (site / "bin" / "other").exists()


def _fake_dist(site: Path, name: str, *requires: str) -> None:
    (site / name.replace("-", "_")).mkdir()
    (site / name.replace("-", "_") / "__init__.py").write_text("")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             *[f"Requires-Dist: {r}\n" for r in requires]]
    (info / "METADATA").write_text("".join(lines))
    (info / "RECORD").write_text(f"{name.replace('-', '_')}/__init__.py,,\n"
                                 f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def test_an_optional_transport_goes_with_the_dependencies_only_it_requires(
        tmp_path: Path) -> None:
    # oci requires both transports; the async one requires yarl and attrs; a kept
    # distribution (pydantic here) also requires attrs, so attrs stays.
    _fake_dist(tmp_path, "oci", "aiohttp>=3", "python-pkcs11; python_version>'3'")
    _fake_dist(tmp_path, "aiohttp", "yarl<2,>=1.17", "attrs>=17",
               "aiodns>=3; extra == 'speedups'")
    _fake_dist(tmp_path, "yarl", "multidict>=4")
    _fake_dist(tmp_path, "multidict")
    _fake_dist(tmp_path, "attrs")
    _fake_dist(tmp_path, "pydantic", "attrs")
    _fake_dist(tmp_path, "python-pkcs11", "asn1crypto")
    _fake_dist(tmp_path, "asn1crypto")
    _fake_dist(tmp_path, "aiodns")
    gone = trim_oci.with_orphans(tmp_path, {"aiohttp", "python-pkcs11", "not-installed"})
    assert gone == {"aiohttp", "yarl", "multidict", "python-pkcs11", "asn1crypto"}
    trim_oci.drop_dists(tmp_path, gone)
    left = {p.name for p in tmp_path.iterdir() if not p.name.endswith(".dist-info")}
    assert left == {"oci", "attrs", "pydantic", "aiodns"}


def test_the_default_trim_removes_the_optional_transports_of_oci(
    trimmed_site: tuple[Path, dict[str, Any]],
) -> None:
    site, summary = trimmed_site
    assert {"aiohttp", "python-pkcs11", "asn1crypto"} <= set(summary["dists_removed"])
    for gone in ("aiohttp", "pkcs11", "asn1crypto"):
        assert not (site / gone).exists(), gone
