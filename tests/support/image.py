"""The function image's Python tree, built from this environment without a download.

``image_tree`` links the distributions ``requirements.txt`` needs (and what they
require, transitively, as pip would install them with ``--target``) into one
directory, then trims it with ``deploy/oci/trim_oci.py`` as the Dockerfile does.
Nothing else of the dev environment (test tools, the local target's extras) is
importable from it, so a stage that needs more than the image holds fails to load.
The ``oci`` package is a real directory of links, so the trim unlinks service
packages without touching the environment they point into.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from deploy.oci import trim_oci

ROOT = Path(__file__).resolve().parents[2]


def requirement_closure() -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions of ``requirements.txt`` and everything they require."""
    installed = {trim_oci.normal_name(d.metadata["Name"] or ""): d
                 for d in importlib.metadata.distributions()}
    todo = [trim_oci.normal_name(line.split("==")[0].strip())
            for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    found: dict[str, importlib.metadata.Distribution] = {}
    while todo:
        name = todo.pop()
        if name in found or name not in installed:
            continue
        found[name] = installed[name]
        todo.extend(trim_oci.requirement_names(installed[name]))
    return found


def _link_dist(dist: importlib.metadata.Distribution, site: Path) -> None:
    tops = {Path(str(f)).parts[0] for f in dist.files or []
            if Path(str(f)).parts and Path(str(f)).parts[0] not in ("..", "bin", "__pycache__")}
    for top in tops:
        source = Path(str(dist.locate_file(top)))
        entry = site / top
        if not source.exists() or entry.exists() or entry.is_symlink():
            continue
        if top == "oci":
            entry.mkdir()
            for child in source.iterdir():
                if child.name != "__pycache__":
                    (entry / child.name).symlink_to(child)
        else:
            entry.symlink_to(source)


def image_tree(site: Path) -> dict[str, Any]:
    """Build the trimmed image tree in ``site`` (empty); return the trim's summary."""
    for dist in requirement_closure().values():
        _link_dist(dist, site)
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "oci" / "trim_oci.py"),
                           str(site)], capture_output=True, text=True, check=True)
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary
