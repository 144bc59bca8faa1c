"""The emulator's tiny HTTP framework: requests, responses, OCI-style errors, routes.

Services (Object Storage, Generative AI, ...) expose a list of :class:`Route`; the
server (``server.py``) matches them, authenticates the request and renders
:class:`ServiceError` the way OCI does: ``{"code": ..., "message": ...}`` plus an
``opc-request-id`` header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote

JSON_TYPE = "application/json"


class ServiceError(Exception):
    """An error answer, rendered as OCI renders errors."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only view of request headers (first value wins)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in items:
            self._items.setdefault(key.lower(), (key, value))

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class Body:
    """A request body stream that never reads past its end (length or de-chunked)."""

    def __init__(self, raw: BinaryIO, length: int | None, chunked: bool) -> None:
        self._raw = raw
        self._left = length or 0
        self._chunked = chunked
        self._chunk_left = 0
        self._done = not chunked and not self._left

    @property
    def exhausted(self) -> bool:
        return self._done

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining when negative); ``b""`` at the end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1024 * 1024), b""))
        if self._done or size == 0:
            return b""
        if self._chunked:
            return self._read_chunked(size)
        data = self._raw.read(min(size, self._left))
        if not data:
            raise ConnectionError("client closed the connection mid-body")
        self._left -= len(data)
        self._done = self._left == 0
        return data

    def _read_chunked(self, size: int) -> bytes:
        if self._chunk_left == 0:
            line = self._raw.readline(1024).strip()
            try:
                self._chunk_left = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise ServiceError(400, "CannotParseRequest", "malformed chunked body") from None
            if self._chunk_left == 0:
                while self._raw.readline(1024).strip():  # trailers
                    pass
                self._done = True
                return b""
        data = self._raw.read(min(size, self._chunk_left))
        if not data:
            raise ConnectionError("client closed the connection mid-body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._raw.readline(1024)  # CRLF after the chunk
        return data

    def drain(self, limit: int) -> bool:
        """Discard up to ``limit`` unread bytes; True if the body is now fully read."""
        while not self._done and limit > 0:
            data = self.read(min(limit, 1024 * 1024))
            limit -= len(data)
        return self._done


@dataclass
class Request:
    """One HTTP request as a service handler sees it."""

    method: str
    raw_path: str
    query: dict[str, list[str]]
    headers: Headers
    body: Body
    request_id: str
    raw_target: str = ""

    @property
    def path(self) -> str:
        """The path with percent-escapes decoded."""
        return unquote(self.raw_path)

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def read_bytes(self, limit: int) -> bytes:
        """The whole body; 413 if it is longer than ``limit``."""
        data = self.body.read(limit + 1) if limit >= 0 else b""
        while len(data) <= limit:
            more = self.body.read(limit + 1 - len(data))
            if not more:
                break
            data += more
        if len(data) > limit:
            raise ServiceError(413, "RequestEntityTooLarge",
                               f"request body is larger than {limit} bytes")
        return data

    def json(self, limit: int = 16 * 1024 * 1024) -> Any:
        """The body parsed as JSON (400 ``CannotParseRequest`` when it is not)."""
        data = self.read_bytes(limit)
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise ServiceError(400, "CannotParseRequest",
                               "request body is not valid JSON") from None


@dataclass
class Response:
    """An answer: ``body`` is bytes, an iterable of chunks (streamed) or ``None``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200,
             headers: Mapping[str, str] | None = None) -> Response:
        data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        all_headers = {"Content-Type": JSON_TYPE}
        all_headers.update(headers or {})
        return cls(status=status, headers=all_headers, body=data)


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """``METHOD pattern -> handler``; ``{name}`` is one path segment, ``{name+}`` the tail.

    ``body_signed=False`` marks the operations OCI signs without body headers
    (Object Storage PutObject and UploadPart stream arbitrary bodies).
    """

    method: str
    pattern: str
    handler: Handler
    body_signed: bool = True

    def compile(self) -> re.Pattern[str]:
        parts: list[str] = []
        for piece in re.split(r"(\{\w+\+?\})", self.pattern):
            if piece.startswith("{") and piece.endswith("}"):
                name = piece[1:-1]
                if name.endswith("+"):
                    parts.append(f"(?P<{name[:-1]}>.+)")
                else:
                    parts.append(f"(?P<{name}>[^/]+)")
            else:
                parts.append(re.escape(piece))
        return re.compile("".join(parts))


class Service(Protocol):
    """A group of routes served by the emulator (optionally with ``stop()``)."""

    name: str

    def routes(self) -> list[Route]: ...


@dataclass
class Router:
    """Matches raw (still percent-encoded) paths against every service's routes."""

    table: list[tuple[Route, re.Pattern[str]]] = field(default_factory=list)

    def add(self, route: Route) -> None:
        self.table.append((route, route.compile()))

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        """The route and decoded params; 404 ``NotFound`` / 405 ``MethodNotAllowed``."""
        path_known = False
        for route, regex in self.table:
            found = regex.fullmatch(raw_path)
            if not found:
                continue
            path_known = True
            if route.method == method or (method == "HEAD" and route.method == "HEAD"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        if path_known:
            raise ServiceError(405, "MethodNotAllowed",
                               f"{method} is not supported on this resource")
        raise ServiceError(404, "NotFound",
                           "There is no operation supported at the URI path and HTTP method")
