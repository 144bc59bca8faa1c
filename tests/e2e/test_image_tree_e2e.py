"""Every stage runs from the trimmed function image's Python tree, end to end.

The local target's function processes run ``python -S`` with only the image tree
(``requirements.txt``'s distributions, trimmed by ``deploy/oci/trim_oci.py``) and the
repo importable: a raw upload goes through convert, train, watch and endpoint to an
answer from infer. A trim that removes something a stage imports at run time, or a
stage that imports a dev-only package, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import caches
from tests.support.image import image_tree
from tests.support.targets import RecordingTarget, ask, set_paces, wait_endpoint_active

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_a_raw_upload_is_answered_with_every_stage_in_the_trimmed_image_tree(
        tmp_path: Path) -> None:
    site = tmp_path / "image-site"
    site.mkdir()
    summary = image_tree(site)
    for gone in ("aiohttp", "pkcs11", "yarl", "multidict", "asn1crypto"):
        assert not (site / gone).exists(), f"{gone} should be trimmed"
    assert {"aiohttp", "python-pkcs11"} <= set(summary["dists_removed"])
    for dev_only in ("h11", "pytest", "selenium"):
        assert not (site / dev_only).exists(), f"{dev_only} is not in the image"

    rows = [{"instruction": f"What does the image ratio number {i} measure?", "input": "",
             "output": f"The image ratio {i} compares layers to megabytes for build {i}."}
            for i in range(40)]
    raw = tmp_path / "img.json"
    raw.write_text(json.dumps(rows), encoding="utf-8")
    target = RecordingTarget(tmp_path / "state", backoff_base=0.05, watch_interval=0.3,
                             function_site=site)
    with target:
        set_paces(target.emulator, provisioning_seconds=0.3, seconds_per_epoch=0.05)
        caches.reset_all()
        target.upload(raw, "raw/img.json")
        doc = wait_endpoint_active(target, "img")
        assert target.info is not None and target.runner is not None
        status, answer = ask(target, "What does the image ratio number 3 measure?", "img")
        assert status == 200, answer
        assert answer["endpoint_id"] == doc["endpoint_id"]
        expected = "The image ratio 3 compares layers to megabytes for build 3."
        assert answer["text"].strip() == expected
        ran = {f.name: f.calls for f in target.runner.status()}
        assert all(ran[stage] >= 1 for stage in ("convert", "train", "endpoint", "watch",
                                                  "infer")), ran
    caches.reset_all()
