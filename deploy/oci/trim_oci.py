"""Delete the OCI SDK service packages the pipeline never imports (and fdk's build/test deps).

The ``oci`` wheel installs about 500 MB, one sub-package per OCI service. The
functions use four services (Object Storage, Generative AI, Generative AI
Inference, Notifications) plus the SDK core (``_vendor``, ``auth``, ``signer``,
``config``, ``retry``, ``base_client``...). ``oci/__init__.py`` imports service
packages lazily (on attribute access), so removing the others does not break
``import oci``; only ``oci.<removed service>`` fails, which no stage does.

A service package is recognised by its ``models/`` sub-package; the core has
none, so the core is never touched. Some core modules import service
packages themselves (``oci.pagination`` imports ``dns`` and ``object_storage``,
``oci.waiter`` imports ``work_requests``): the import statements of the core
and of every kept service are scanned and whatever they name is kept too
(transitively), so a new SDK release that adds such an import stays whole.
``oci/__init__.py`` is left out of that scan: its eager ``from . import <every
service>`` only runs when ``OCI_PYTHON_SDK_LAZY_IMPORTS_DISABLED=true``, which
the image must not set. Used by ``deploy/oci/Dockerfile`` right after
``pip install --target /python``; standard library only.

It also removes distributions that ``fdk`` declares but never imports at run
time (its build and test tool chain: Cython, pytest, Pygments, ...), and the two
optional transports ``oci`` declares that no stage uses: ``aiohttp`` (imported only
by ``oci.async_base_client``, the async clients) and ``python-pkcs11`` (imported
only by ``oci.auth.signers.pkcs11_signer``, an HSM signer whose import
``oci.auth.signers`` guards with ``except ImportError``). Each goes with the
dependencies nothing left in the tree requires (``yarl``, ``multidict``,
``asn1crypto``...), found through the installed metadata (``importlib.metadata``),
never from a list of names.

    python deploy/oci/trim_oci.py /python            # trim
    python deploy/oci/trim_oci.py /python --dry-run  # report only
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

# The services the stages call (see shared/clients.py); keep in step with it.
KEEP_SERVICES: frozenset[str] = frozenset(
    {"object_storage", "generative_ai", "generative_ai_inference", "ons"}
)


# Declared by fdk (build/test tool chain) but never imported by fdk at run time.
UNUSED_DISTS: frozenset[str] = frozenset(
    {"cython", "pytest", "pytest-asyncio", "pluggy", "iniconfig", "pygments", "wheel", "pbr",
     "setuptools"}
)


#: Optional transports of ``oci`` the stages never import (see the module docstring).
OCI_OPTIONAL_DISTS: frozenset[str] = frozenset({"aiohttp", "python-pkcs11"})

_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normal_name(name: str) -> str:
    """A distribution name as PEP 503 normalises it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def drop_dists(site_dir: Path, names: Iterable[str] = UNUSED_DISTS,
               dry_run: bool = False) -> dict[str, int]:
    """Remove the installed distributions ``names`` from ``site_dir``; return bytes per dist.

    Whole top-level entries (packages, modules, the dist-info) are removed; in a
    shared ``bin/`` only the distribution's own scripts go. A symlinked entry is
    unlinked, never entered, so a symlink copy of another environment is safe.
    """
    wanted = {normal_name(n) for n in names}
    freed: dict[str, int] = {}
    for dist in importlib.metadata.distributions(path=[str(site_dir)]):
        name = normal_name(dist.metadata["Name"] or "")
        if name not in wanted or name in freed:
            continue
        tops: set[str] = set()
        scripts: list[Path] = []
        for file in dist.files or []:
            parts = Path(str(file)).parts
            if not parts or parts[0] == "..":
                continue
            if parts[0] == "bin":
                scripts.append(site_dir.joinpath(*parts))
            else:
                tops.add(parts[0])
        total = 0
        for top in sorted(tops):
            entry = site_dir / top
            if not (entry.exists() or entry.is_symlink()):
                continue
            total += tree_bytes(entry)
            if dry_run:
                continue
            if entry.is_symlink() or entry.is_file():
                entry.unlink()
            else:
                shutil.rmtree(entry)
        bin_dir = site_dir / "bin"
        if not bin_dir.is_symlink():
            for script in scripts:
                if script.is_file() and not script.is_symlink():
                    total += script.stat().st_size
                    if not dry_run:
                        script.unlink()
        freed[name] = total
    return freed


def requirement_names(dist: importlib.metadata.Distribution) -> set[str]:
    """Normalised names of what ``dist`` requires unconditionally (no ``extra ==`` marker)."""
    names: set[str] = set()
    for requirement in dist.requires or []:
        requirement_text, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _REQUIREMENT_NAME.match(requirement_text)
        if match:
            names.add(normal_name(match.group(1)))
    return names


def with_orphans(site_dir: Path, names: Iterable[str]) -> set[str]:
    """``names`` plus every installed distribution only they (transitively) require.

    A dependency stays while any distribution that is not being removed requires it.
    """
    dists = {normal_name(d.metadata["Name"] or ""): d
             for d in importlib.metadata.distributions(path=[str(site_dir)])}
    gone = {normal_name(n) for n in names} & set(dists)
    while True:
        needed = set().union(*(requirement_names(d) for n, d in dists.items() if n not in gone))
        orphans = {dep for n in gone for dep in requirement_names(dists[n])
                   if dep in dists and dep not in gone and dep not in needed}
        if not orphans:
            return gone
        gone |= orphans


def tree_bytes(path: Path) -> int:
    """Apparent size of the files under ``path`` (symlinks are not followed)."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def service_packages(oci_dir: Path) -> list[str]:
    """Names of the service sub-packages of an installed ``oci`` package."""
    return sorted(
        entry.name
        for entry in oci_dir.iterdir()
        if entry.is_dir() and (entry / "models").is_dir() and (entry / "__init__.py").exists()
    )


def _module_file(oci_dir: Path, parts: tuple[str, ...]) -> Path | None:
    """The file of module ``oci.<parts>`` (package ``__init__`` or plain module), if any."""
    base = oci_dir.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(oci_dir: Path, file: Path) -> Iterable[tuple[str, ...]]:
    """Modules inside ``oci`` that ``file`` imports, as parts below ``oci``."""
    rel = file.relative_to(oci_dir)
    package = rel.parent.parts
    tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = tuple(alias.name.split("."))
                if parts[0] == "oci" and len(parts) > 1:
                    yield parts[1:]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                keep = len(package) - (node.level - 1)
                if keep < 0:
                    continue
                base = package[:keep] + tuple((node.module or "").split(".") if node.module else ())
            elif node.module and node.module.split(".")[0] == "oci":
                base = tuple(node.module.split(".")[1:])
            else:
                continue
            if base:
                yield base
            for alias in node.names:
                yield (*base, alias.name)


def _python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [Path(root, name) for root, _dirs, files in os.walk(path, followlinks=True)
            for name in files if name.endswith(".py")]


def required_services(oci_dir: Path, keep: Iterable[str] = KEEP_SERVICES) -> set[str]:
    """``keep`` plus every service reachable by imports from ``import oci`` and the kept ones."""
    services = set(service_packages(oci_dir))
    unknown = set(keep) - services
    if unknown:
        raise ValueError(f"not OCI service packages here: {', '.join(sorted(unknown))}")
    root_init = oci_dir / "__init__.py"
    needed = set(keep)
    todo = [root_init] + [f for name in needed for f in _python_files(oci_dir / name)]
    seen: set[Path] = set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        for parts in _imports(oci_dir, file):
            top = parts[0]
            if top in services:
                if file == root_init:
                    continue  # the eager import-everything branch; lazy by default
                if top not in needed:
                    needed.add(top)
                    todo.extend(_python_files(oci_dir / top))
                continue
            target = _module_file(oci_dir, parts)
            if target is not None:
                todo.append(target)
    return needed


def removable(oci_dir: Path, keep: Iterable[str] = KEEP_SERVICES) -> list[str]:
    """Service packages that can go: every service not required."""
    needed = required_services(oci_dir, keep)
    return [name for name in service_packages(oci_dir) if name not in needed]


def trim(
    site_dir: Path, keep: Iterable[str] = KEEP_SERVICES, dry_run: bool = False,
    unused_dists: Iterable[str] = UNUSED_DISTS | OCI_OPTIONAL_DISTS,
) -> dict[str, object]:
    """Remove unused oci service packages and unused distributions; return a summary."""
    oci_dir = site_dir / "oci"
    if not (oci_dir / "__init__.py").exists():
        raise FileNotFoundError(f"no oci package under {site_dir}")
    before = tree_bytes(oci_dir)
    names = removable(oci_dir, keep)
    freed = 0
    for name in names:
        target = oci_dir / name
        freed += tree_bytes(target)
        if dry_run:
            continue
        if target.is_symlink():
            target.unlink()
        else:
            shutil.rmtree(target)
    dists = drop_dists(site_dir, with_orphans(site_dir, unused_dists), dry_run)
    return {
        "removed": names,
        "dists_removed": sorted(dists),
        "dist_bytes_freed": sum(dists.values()),
        "kept_services": sorted(set(service_packages(oci_dir)) - set(names)) if dry_run
        else service_packages(oci_dir),
        "oci_bytes_before": before,
        "bytes_freed": freed,
        "dry_run": dry_run,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("site_dir", type=Path, help="directory holding the installed oci package")
    parser.add_argument("--keep", nargs="*", default=sorted(KEEP_SERVICES),
                        help="service packages to keep (default: the pipeline's four)")
    parser.add_argument("--keep-dists", action="store_true",
                        help="do not remove fdk's build/test distributions nor oci's optional "
                             "transports")
    parser.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    args = parser.parse_args(argv)
    try:
        summary = trim(args.site_dir, args.keep, args.dry_run,
                       () if args.keep_dists else UNUSED_DISTS | OCI_OPTIONAL_DISTS)
    except (FileNotFoundError, ValueError) as exc:
        print(f"trim_oci: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
