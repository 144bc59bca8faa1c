"""Plugs the Generative AI REST surface into the emulator's HTTP server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deploy.local.emulator.genai.config import GenAiConfig
from deploy.local.emulator.genai.control import ObjectOpener
from deploy.local.emulator.genai.rest import Call, GenAiRest, Handler, Reply
from deploy.local.emulator.http import Request, Response, Route, ServiceError

MAX_BODY = 64 * 1024 * 1024  # inference inputs are capped far below this by token limits


class GenAiService(GenAiRest):
    """Generative AI control plane + inference as an emulator ``Service``."""

    name = "generativeai"

    def __init__(self, state_dir: Path, open_object: ObjectOpener,
                 config: GenAiConfig | None = None, region: str = "us-chicago-1") -> None:
        super().__init__(state_dir, open_object, config, region)

    def routes(self) -> list[Route]:
        """The REST table bound to the server's Request/Response types."""
        return [Route(r.method, r.pattern, _bind(r.handler)) for r in self.rest_routes()]


def _bind(handler: Handler) -> Callable[[Request, dict[str, str]], Response]:
    def run(req: Request, params: dict[str, str]) -> Response:
        headers = {k.lower(): v for k, v in req.headers.items()}
        body = req.read_bytes(MAX_BODY) if req.method in ("POST", "PUT") else b""
        reply: Reply = handler(Call(req.method, req.path, req.query, headers, body), params)
        if reply.status >= 400:
            payload = reply.payload or {}
            raise ServiceError(reply.status, str(payload.get("code")),
                               str(payload.get("message")))
        if reply.payload is None:
            return Response(status=reply.status, headers=reply.headers, body=b"")
        return Response.json(reply.payload, status=reply.status, headers=reply.headers)

    return run


def genai_of(server: object) -> GenAiService:
    """The Generative AI service of a running emulator server (to turn knobs at run time)."""
    for service in getattr(server, "services", ()):
        if isinstance(service, GenAiService):
            return service
    raise LookupError("this emulator serves no Generative AI")
