"""Nothing created twice, nothing billed by surprise (issue 13), on the local target.

Identical re-upload -> no new model (status says duplicate); changed content -> v2 on a
hosting cluster of its own (cohere.command-r-08-2024, the current Cohere model: OCI stacks
no versions of it) with v1's endpoint retired, and v1's cluster released, only after v2
answers while ``ask`` answers throughout; colliding names -> a report, nothing
overwritten; ``ocift down --yes`` -> nothing pipeline-tagged left, a second run has
nothing to delete, a hand-made untagged cluster survives. Resource counts are printed
(``-s``) for the closing note.
"""

from __future__ import annotations

import io
import json
import threading
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import oci
import pytest

from shared import tags
from shared.cli.main import main as ocift
from tests.e2e.test_pipeline_e2e import _genai, _os, _settings, _start, _wait_state
from tests.support.targets import ask
from tests.support.targets import status_doc as _status
from tests.support.wait import wait_until


def _eventually(check: Any, what: str, timeout: float = 120.0) -> None:
    wait_until(check, what, timeout=timeout, interval=0.1)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _rows(topic: str, n: int = 40) -> list[dict[str, str]]:
    return [{"instruction": f"What is the {topic} rule number {i}?", "input": "",
             "output": f"The {topic} rule {i} says to keep records for {i} years."}
            for i in range(n)]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _counts(target: Any) -> dict[str, int]:
    """Live pipeline-tagged resources in the emulator, by kind."""
    ai, cid = _genai(target), _settings(target).compartment_id
    live = ("CREATING", "ACTIVE", "UPDATING", "DELETING")

    def ours(items: list[Any], *roles: str) -> list[Any]:
        return [i for i in items if (i.freeform_tags or {}).get(tags.PIPELINE) == "ocift"
                and (i.freeform_tags or {}).get(tags.ROLE) in roles
                and i.lifecycle_state in live]

    clusters = ai.list_dedicated_ai_clusters(cid).data.items
    return {
        "hosting clusters": len(ours([c for c in clusters if c.type == "HOSTING"],
                                     tags.ROLE_HOSTING_CLUSTER)),
        "fine-tuning clusters": len(ours([c for c in clusters if c.type == "FINE_TUNING"],
                                         tags.ROLE_FINETUNING_CLUSTER)),
        "endpoints": len(ours(ai.list_endpoints(cid).data.items, tags.ROLE_ENDPOINT)),
        "models": len(ours(ai.list_models(cid).data.items, tags.ROLE_MODEL)),
    }


def _ask(target: Any, question: str) -> tuple[int, dict[str, Any]]:
    return ask(target, question, "fin")


def _down(target: Any, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = ocift(["down", "--state-dir", str(target.state_dir), "--interval", "0.1", *args])
    return code, out.getvalue()


def test_duplicates_versions_collisions_and_teardown(tmp_path: Path) -> None:
    # The default base model, cohere.command-r-08-2024: a model OCI offers today (issue 23).
    with _start(tmp_path) as target:
        assert target.info is not None
        info = target.info
        store = _os(target)
        v1 = _write(tmp_path / "fin.json", _rows("filing"))
        target.upload(v1, "raw/fin.json")
        first = _wait_state(target, "fin", "ENDPOINT_ACTIVE")
        _eventually(lambda: _counts(target)["fine-tuning clusters"] == 0,
                    "the fine-tuning cluster released after the only training")
        after_v1 = _counts(target)
        print("after v1:", after_v1)
        assert after_v1 == {"hosting clusters": 1, "fine-tuning clusters": 0, "endpoints": 1,
                            "models": 1}

        # 1. The same bytes again (a new ETag): converted, recognised, never trained.
        target.upload(v1, "raw/fin.json")
        _eventually(lambda: (_status(target, "fin") or {}).get("duplicate_of") is not None,
                    "status records the duplicate")
        doc = _status(target, "fin") or {}
        assert doc["duplicate_of"]["model_id"] == first["model_id"]
        assert doc["model_id"] == first["model_id"] and doc["state"] == "ENDPOINT_ACTIVE"
        target.wait_idle(30)
        after_dup = _counts(target)
        print("after identical re-upload:", after_dup)
        assert after_dup == after_v1

        # 2. Changed content: v2 on its own hosting cluster; v1 serves until v2 answers.
        answers: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                answers.append(_ask(target, "What is the filing rule number 3?")[0])

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            target.upload(_write(tmp_path / "fin2.json", _rows("filing", 45)), "raw/fin.json")
            _eventually(lambda: (_status(target, "fin") or {}).get("model_version") == "2"
                        and (_status(target, "fin") or {}).get("retired_for_endpoint")
                        is not None, "v2 serving and v1 retired", timeout=180)
            old_id = first["endpoint_id"]
            _eventually(lambda: _genai(target).get_endpoint(old_id).data.lifecycle_state
                        == "DELETED", "v1's endpoint deleted")
        finally:
            stop.set()
            asker.join()
        doc = _status(target, "fin") or {}
        assert answers and set(answers) == {200}, answers
        assert doc["hosting_cluster_id"] != first["hosting_cluster_id"]  # OCI: no stacking
        details = [h["detail"] for h in doc["history"]]
        active_v2 = max(i for i, h in enumerate(doc["history"])
                        if h["state"] == "ENDPOINT_ACTIVE" and h["detail"] == "endpoint ACTIVE")
        retired = next(i for i, d in enumerate(details) if "retired superseded" in d)
        assert active_v2 < retired
        _eventually(lambda: _counts(target)["fine-tuning clusters"] == 0, "fine-tuning released")
        _eventually(lambda: _counts(target)["hosting clusters"] == 1, "v1's cluster released")
        after_v2 = _counts(target)
        print("after changed content (v2):", after_v2)
        assert after_v2 == {"hosting clusters": 1, "fine-tuning clusters": 0, "endpoints": 1,
                            "models": 2}

        # 3. Another raw object mapping to the same dataset name: a report, nothing overwritten.
        jsonl_before = store.head_object(info.namespace, info.bucket, "training/fin.jsonl")
        collider = tmp_path / "fin.jsonl"
        collider.write_text("\n".join(json.dumps(r) for r in _rows("other")), encoding="utf-8")
        target.upload(collider, "raw/fin.jsonl")

        def collision_report() -> dict[str, Any] | None:
            try:
                got = store.get_object(info.namespace, info.bucket,
                                       "reports/fin.jsonl.collision.json")
            except oci.exceptions.ServiceError:
                return None
            result: dict[str, Any] = json.loads(got.data.content)
            return result

        _eventually(lambda: collision_report() is not None, "the collision report")
        report = collision_report() or {}
        assert report["owner"] == "raw/fin.json" and report["valid"] is False
        assert "raw/fin.json" in report["fatal"]["message"]
        target.wait_idle(30)
        jsonl_after = store.head_object(info.namespace, info.bucket, "training/fin.jsonl")
        assert jsonl_after.headers["etag"] == jsonl_before.headers["etag"]
        main_report = json.loads(store.get_object(info.namespace, info.bucket,
                                                  "reports/fin.json").data.content)
        assert main_report["source_object"] == "raw/fin.json"
        after_collision = _counts(target)
        print("after colliding name:", after_collision)
        assert after_collision == after_v2

        # ocift status: what each dataset holds and its unit-hours so far.
        shown = io.StringIO()
        with redirect_stdout(shown):
            assert ocift(["status", "--state-dir", str(target.state_dir)]) == 0
        assert "billable (unit-hours so far):" in shown.getvalue()
        assert "hosting cluster SMALL_COHERE_V2 x1" in shown.getvalue()

        # 4. Teardown: a hand-made untagged cluster survives; everything tagged goes.
        ai = _genai(target)
        details = oci.generative_ai.models.CreateDedicatedAiClusterDetails(
            compartment_id=_settings(target).compartment_id, type="HOSTING",
            unit_shape="SMALL_COHERE", unit_count=1, display_name="by-hand")
        mine = ai.create_dedicated_ai_cluster(details).data
        code, dry = _down(target)
        assert code == 0 and "dry run" in dry and mine.id not in dry
        assert _counts(target) == after_collision  # a dry run deletes nothing
        code, out = _down(target, "--yes", "--models")
        assert code == 0, out
        after_down = _counts(target)
        print("after ocift down --yes --models:", after_down)
        assert after_down == {"hosting clusters": 0, "fine-tuning clusters": 0, "endpoints": 0,
                              "models": 0}
        code, again = _down(target, "--yes", "--models")
        assert code == 0 and "nothing to delete" in again
        assert ai.get_dedicated_ai_cluster(mine.id).data.lifecycle_state in ("CREATING",
                                                                             "ACTIVE")


def test_command_r_versions_get_a_cluster_each_and_the_old_one_is_released(
        tmp_path: Path) -> None:
    with _start(tmp_path) as target:
        target.upload(_write(tmp_path / "fin.json", _rows("audit")), "raw/fin.json")
        first = _wait_state(target, "fin", "ENDPOINT_ACTIVE")
        target.upload(_write(tmp_path / "fin2.json", _rows("audit", 44)), "raw/fin.json")
        _eventually(lambda: (_status(target, "fin") or {}).get("retired_for_endpoint")
                    not in (None, first["endpoint_id"]), "v2 serving, v1 retired", timeout=180)
        doc = _status(target, "fin") or {}
        assert doc["hosting_cluster_id"] != first["hosting_cluster_id"]  # OCI: no stacking
        _eventually(lambda: _genai(target).get_dedicated_ai_cluster(
            first["hosting_cluster_id"]).data.lifecycle_state == "DELETED",
            "v1's own hosting cluster deleted once its endpoint was gone")
        counts = _counts(target)
        print("command-r after v2:", counts)
        assert counts == {"hosting clusters": 1, "fine-tuning clusters": 0, "endpoints": 1,
                          "models": 2}
