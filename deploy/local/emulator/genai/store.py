"""Durable typed records for the Generative AI emulation, in its own state directory.

Each resource is one JSON file written atomically (temp file + rename), so a
crash never leaves half a record. Records are kept in memory too; callers
hold :attr:`ResourceStore.lock` around read-modify-write sequences and
:meth:`Table.put` a record after changing it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Generic, TypeVar

from deploy.local.emulator.genai.records import (
    Cluster,
    CustomModel,
    Endpoint,
    Resource,
    RetryToken,
    WorkRequest,
)

R = TypeVar("R", bound=Resource)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(obj, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Table(Generic[R]):
    """One kind of record, one JSON file each under ``folder``."""

    def __init__(self, folder: Path, kind: type[R], lock: threading.RLock) -> None:
        self._folder = folder
        self._lock = lock
        folder.mkdir(exist_ok=True)
        self._records: dict[str, R] = {}
        for file in sorted(folder.glob("*.json")):
            record = kind.model_validate_json(file.read_text(encoding="utf-8"))
            self._records[record.id] = record

    def get(self, resource_id: str) -> R | None:
        """The record, or None."""
        return self._records.get(resource_id)

    def all(self) -> list[R]:
        """Every record (live objects: change them only to :meth:`put` them)."""
        return list(self._records.values())

    def put(self, record: R) -> None:
        """Persist ``record`` (keyed by its ``id``)."""
        with self._lock:
            self._records[record.id] = record
            write_json_atomic(self._folder / f"{_safe(record.id)}.json", record.to_disk())


class ResourceStore:
    """Clusters, models, endpoints, work requests and retry tokens on disk."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.clusters = Table(self.root / "clusters", Cluster, self.lock)
        self.models = Table(self.root / "models", CustomModel, self.lock)
        self.endpoints = Table(self.root / "endpoints", Endpoint, self.lock)
        self.workrequests = Table(self.root / "workrequests", WorkRequest, self.lock)
        tokens = self.root / "retry_tokens.json"
        raw = json.loads(tokens.read_text(encoding="utf-8")) if tokens.exists() else {}
        self._tokens = {key: RetryToken.model_validate(v) for key, v in raw.items()}
        self.salt = self._load_salt()

    def _load_salt(self) -> str:
        path = self.root / "salt"
        if not path.exists():
            path.write_text(secrets.token_hex(16), encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    def token(self, key: str) -> RetryToken | None:
        """A remembered retry token entry."""
        return self._tokens.get(key)

    def put_token(self, key: str, entry: RetryToken, now: float) -> None:
        """Remember a retry token; expired entries are dropped on the way."""
        with self.lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v.expires > now}
            self._tokens[key] = entry
            write_json_atomic(self.root / "retry_tokens.json",
                              {k: v.model_dump(by_alias=True) for k, v in self._tokens.items()})

    def artifact_path(self, model_id: str) -> Path:
        """The folder holding a trained model's artifact (pairs, index, meta.json)."""
        return self.root / "artifacts" / _safe(model_id)


def _safe(resource_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in resource_id)
