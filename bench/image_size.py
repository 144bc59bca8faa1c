"""Measure the function image's Python dependencies: full vs trimmed OCI SDK.

Installs requirements.txt twice with ``pip install --target`` (as the Fn
python build does into /python), trims one copy with deploy/oci/trim_oci.py
(as deploy/oci/Dockerfile does), then reports installed sizes and, for each
stage, the cold import + client-build time in fresh processes
(deploy/oci/image_probe.py, median of N runs, ``python -S`` so only the target
directory and the repo are importable). Needs pip access to the package index
or a wheel cache; Docker is not needed.

    .venv/bin/python bench/image_size.py [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.oci.trim_oci import tree_bytes, trim  # noqa: E402

STAGES = ("convert", "train", "endpoint", "watch", "infer", "evaluate")
MB = 1024 * 1024


def install(target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir",
                    "--target", str(target), "-r", str(ROOT / "requirements.txt")], check=True)


def sizes(site: Path) -> dict[str, float]:
    """MB per top-level entry (packages grouped with their dist-info), biggest first."""
    out: dict[str, float] = {}
    for entry in site.iterdir():
        out[entry.name] = out.get(entry.name, 0.0) + tree_bytes(entry) / MB
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def probe(site: Path, stage: str, runs: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCIFT_", "OCI_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # like the read-only /python of a deployed function
    reports: list[dict[str, Any]] = []
    for _ in range(runs):
        cmd = [sys.executable, "-S", str(ROOT / "deploy/oci/image_probe.py"), stage]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        reports.append(json.loads(done.stdout))
    reports.sort(key=lambda r: float(r["process_s"]))
    median = reports[len(reports) // 2]  # the median run, with where its time went
    return {"median_s": round(statistics.median(float(r["process_s"]) for r in reports), 4),
            "min_s": round(float(reports[0]["process_s"]), 4),
            "median_phases_s": median["phases_s"],
            "stage_module_present": median["stage_module_present"],
            "oci_subpackages": median["oci_subpackages"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocift-image-") as tmp:
        full, trimmed = Path(tmp, "full"), Path(tmp, "trimmed")
        install(full)
        # pip --target compiles .pyc files; warm both copies the same way before timing.
        shutil.copytree(full, trimmed, symlinks=True)
        summary = trim(trimmed)
        full_mb, trimmed_mb = tree_bytes(full) / MB, tree_bytes(trimmed) / MB
        result: dict[str, object] = {
            "full_total_mb": round(full_mb, 1),
            "trimmed_total_mb": round(trimmed_mb, 1),
            "ratio_trimmed_to_full": round(trimmed_mb / full_mb, 3),
            "oci_full_mb": round(tree_bytes(full / "oci") / MB, 1),
            "oci_trimmed_mb": round(tree_bytes(trimmed / "oci") / MB, 1),
            "services_removed": len(summary["removed"]),  # type: ignore[arg-type]
            "services_kept": summary["kept_services"],
            "largest_full": {k: round(v, 1) for k, v in list(sizes(full).items())[:8]},
            "largest_trimmed": {k: round(v, 1) for k, v in list(sizes(trimmed).items())[:8]},
            "cold_start": {
                stage: {"full": probe(full, stage, args.runs),
                        "trimmed": probe(trimmed, stage, args.runs)}
                for stage in STAGES
            },
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
