"""Durable JSON records for the Generative AI emulation, in its own state directory.

Each resource is one JSON file written atomically (temp file + rename), so a
crash never leaves half a record. Records are kept in memory too; callers
hold :attr:`ResourceStore.lock` around read-modify-write sequences.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

KINDS = ("clusters", "models", "endpoints", "workrequests")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(obj, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class ResourceStore:
    """Clusters, models, endpoints, work requests and retry tokens on disk."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._records: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            folder = self.root / kind
            folder.mkdir(exist_ok=True)
            for file in sorted(folder.glob("*.json")):
                record = json.loads(file.read_text(encoding="utf-8"))
                self._records[kind][record["id"]] = record
        tokens = self.root / "retry_tokens.json"
        self._tokens: dict[str, dict[str, Any]] = (
            json.loads(tokens.read_text(encoding="utf-8")) if tokens.exists() else {})
        self.salt = self._load_salt()

    def _load_salt(self) -> str:
        path = self.root / "salt"
        if not path.exists():
            path.write_text(secrets.token_hex(16), encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    def get(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        """The record, or None."""
        return self._records[kind].get(resource_id)

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind`` (live objects; copy before handing out)."""
        return list(self._records[kind].values())

    def put(self, kind: str, record: dict[str, Any]) -> None:
        """Persist ``record`` (keyed by its ``id``)."""
        with self.lock:
            self._records[kind][record["id"]] = record
            write_json_atomic(self.root / kind / f"{_safe(record['id'])}.json", record)

    def token(self, key: str) -> dict[str, Any] | None:
        """A remembered retry token entry."""
        return self._tokens.get(key)

    def put_token(self, key: str, entry: dict[str, Any], now: float) -> None:
        """Remember a retry token; expired entries are dropped on the way."""
        with self.lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v["expires"] > now}
            self._tokens[key] = entry
            write_json_atomic(self.root / "retry_tokens.json", self._tokens)

    def artifact_path(self, model_id: str) -> Path:
        """Where a trained model's artifact lives."""
        return self.root / "artifacts" / f"{_safe(model_id)}.json"


def _safe(resource_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in resource_id)
