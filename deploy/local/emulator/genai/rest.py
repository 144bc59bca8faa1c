"""REST surface of the Generative AI emulation, independent of any HTTP server.

Serves, under OCI's API version path, what ``oci.generative_ai.GenerativeAiClient``
(control plane) and ``oci.generative_ai_inference.GenerativeAiInferenceClient``
(``/actions/chat``, ``/actions/generateText``) call. Both share one port; the
paths do not collide. :mod:`.service` adapts this table to the emulator server.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.emulator.genai.config import GenAiConfig
from deploy.local.emulator.genai.control import ControlPlane, ObjectOpener, Record
from deploy.local.emulator.genai.errors import GenAiError, invalid_parameter
from deploy.local.emulator.genai.inference import Inference

API = "/20231130"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000



@dataclass(frozen=True)
class Call:
    """One REST request: query lists, case-insensitive headers (lower-case keys), body."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not)."""
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """A REST answer: status, headers and a JSON payload (None for no body)."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call, dict[str, str]], Reply]


@dataclass(frozen=True)
class RestRoute:
    """``method`` + ``pattern`` (``{name}`` segments) -> ``handler``."""

    method: str
    pattern: str
    handler: Handler

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route answers ``method path``."""
        if method != self.method:
            return None
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern))
        found = re.fullmatch(regex, path)
        return found.groupdict() if found else None


def etag_of(resource: Record) -> str:
    """A content hash: it changes whenever the resource's API view changes."""
    return hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:32]


class GenAiRest:
    """Generative AI control plane + inference as a table of REST routes."""

    def __init__(self, state_dir: Path, open_object: ObjectOpener,
                 config: GenAiConfig | None = None, region: str = "us-chicago-1") -> None:
        self.control = ControlPlane(state_dir, open_object, config, region)
        self.inference = Inference(self.control)
        self.control.start()

    def stop(self) -> None:
        """Stop background training (it resumes on the next start)."""
        self.control.stop()

    def dispatch(self, call: Call) -> Reply:
        """Answer ``call`` (404 if no route matches), errors as OCI renders them."""
        for route in self.rest_routes():
            params = route.match(call.method, call.path)
            if params is not None:
                return route.handler(call, params)
        return Reply(404, {"code": "NotAuthorizedOrNotFound", "message": "Unknown path."})

    # ------------------------------------------------------------------ routes

    def rest_routes(self) -> list[RestRoute]:
        """Every REST route this service answers."""
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/models", self._list_models),
            ("POST", "/models", self._create_model),
            ("GET", "/models/{modelId}", self._get_model),
            ("DELETE", "/models/{modelId}", self._delete_model),
            ("GET", "/dedicatedAiClusters", self._list_clusters),
            ("POST", "/dedicatedAiClusters", self._create_cluster),
            ("GET", "/dedicatedAiClusters/{dedicatedAiClusterId}", self._get_cluster),
            ("DELETE", "/dedicatedAiClusters/{dedicatedAiClusterId}", self._delete_cluster),
            ("GET", "/endpoints", self._list_endpoints),
            ("POST", "/endpoints", self._create_endpoint),
            ("GET", "/endpoints/{endpointId}", self._get_endpoint),
            ("DELETE", "/endpoints/{endpointId}", self._delete_endpoint),
            ("GET", "/workRequests", self._list_work_requests),
            ("GET", "/workRequests/{workRequestId}", self._get_work_request),
            ("GET", "/workRequests/{workRequestId}/errors", self._work_request_errors),
            ("GET", "/workRequests/{workRequestId}/logs", self._work_request_logs),
            ("POST", "/actions/chat", self._chat),
            ("POST", "/actions/generateText", self._generate_text),
        ]
        return [RestRoute(method, API + path, _rendering_errors(handler))
                for method, path, handler in table]

    # ------------------------------------------------------------------ models

    def _list_models(self, req: Call, _: dict[str, str]) -> Reply:
        items = self.control.list_models(
            _required(req, "compartmentId"), vendor=_one(req, "vendor"),
            capability=req.query.get("capability", []),
            lifecycle_state=_one(req, "lifecycleState"), display_name=_one(req, "displayName"),
            id=_one(req, "id"), **_sorting(req))
        return _page(req, items)

    def _create_model(self, req: Call, _: dict[str, str]) -> Reply:
        model, wr_id = self.control.create_model(_body(req), _retry_token(req))
        return _resource(model, wr_id)

    def _get_model(self, _: Call, params: dict[str, str]) -> Reply:
        return _resource(self.control.get_model(params["modelId"]))

    def _delete_model(self, req: Call, params: dict[str, str]) -> Reply:
        _check_if_match(req, self.control.get_model(params["modelId"]))
        return _accepted(self.control.delete_model(params["modelId"]))

    # ---------------------------------------------------------------- clusters

    def _list_clusters(self, req: Call, _: dict[str, str]) -> Reply:
        items = self.control.list_clusters(
            _required(req, "compartmentId"), lifecycle_state=_one(req, "lifecycleState"),
            display_name=_one(req, "displayName"), id=_one(req, "id"), **_sorting(req))
        return _page(req, items)

    def _create_cluster(self, req: Call, _: dict[str, str]) -> Reply:
        cluster, wr_id = self.control.create_cluster(_body(req), _retry_token(req))
        return _resource(cluster, wr_id)

    def _get_cluster(self, _: Call, params: dict[str, str]) -> Reply:
        return _resource(self.control.get_cluster(params["dedicatedAiClusterId"]))

    def _delete_cluster(self, req: Call, params: dict[str, str]) -> Reply:
        cluster_id = params["dedicatedAiClusterId"]
        _check_if_match(req, self.control.get_cluster(cluster_id))
        return _accepted(self.control.delete_cluster(cluster_id))

    # --------------------------------------------------------------- endpoints

    def _list_endpoints(self, req: Call, _: dict[str, str]) -> Reply:
        items = self.control.list_endpoints(
            _required(req, "compartmentId"), lifecycle_state=_one(req, "lifecycleState"),
            display_name=_one(req, "displayName"), id=_one(req, "id"),
            model_id=_one(req, "modelId"), **_sorting(req))
        return _page(req, items)

    def _create_endpoint(self, req: Call, _: dict[str, str]) -> Reply:
        endpoint, wr_id = self.control.create_endpoint(_body(req), _retry_token(req))
        return _resource(endpoint, wr_id)

    def _get_endpoint(self, _: Call, params: dict[str, str]) -> Reply:
        return _resource(self.control.get_endpoint(params["endpointId"]))

    def _delete_endpoint(self, req: Call, params: dict[str, str]) -> Reply:
        _check_if_match(req, self.control.get_endpoint(params["endpointId"]))
        return _accepted(self.control.delete_endpoint(params["endpointId"]))

    # ----------------------------------------------------------- work requests

    def _list_work_requests(self, req: Call, _: dict[str, str]) -> Reply:
        items = self.control.list_work_requests(
            _required(req, "compartmentId"), status=_one(req, "status"),
            work_request_id=_one(req, "workRequestId"), resource_id=_one(req, "resourceId"),
            sort_order=_one(req, "sortOrder"))
        return _page(req, items)

    def _get_work_request(self, _: Call, params: dict[str, str]) -> Reply:
        wr = self.control.get_work_request(params["workRequestId"])
        headers = {"retry-after": "1"} if wr["status"] in ("ACCEPTED", "IN_PROGRESS") else {}
        return Reply(200, wr, headers)

    def _work_request_errors(self, req: Call, params: dict[str, str]) -> Reply:
        return _page(req, self.control.work_request_errors(params["workRequestId"]))

    def _work_request_logs(self, req: Call, params: dict[str, str]) -> Reply:
        return _page(req, self.control.work_request_logs(params["workRequestId"]))

    # --------------------------------------------------------------- inference

    def _chat(self, req: Call, _: dict[str, str]) -> Reply:
        return Reply(200, self.inference.chat(_body(req)))

    def _generate_text(self, req: Call, _: dict[str, str]) -> Reply:
        """GenerateText is unavailable from 2026-06-26 ("Deprecated APIs in OCI Generative AI",
        https://docs.oracle.com/iaas/releasenotes/generative-ai/deprecate-api-05292025.htm).

        OCI documents no answer for a removed operation; the strict reading is the one for
        a path with no operation: 404 ``NotFound`` ("There is no operation supported at the
        URI path and HTTP method you specified in the request", API Errors,
        https://docs.oracle.com/iaas/Content/API/References/apierrors.htm). Not IAM-checked
        (there is no operation to authorize), so no grant makes it answer.
        """
        raise GenAiError(404, "NotFound",
                         "There is no operation supported at the URI path and HTTP method you "
                         "specified in the request. (GenerateText was removed on 2026-06-26; "
                         "use Chat.)")


# --------------------------------------------------------------------- helpers


def _rendering_errors(handler: Handler) -> Handler:
    def run(req: Call, params: dict[str, str]) -> Reply:
        try:
            return handler(req, params)
        except GenAiError as exc:
            return Reply(exc.status, {"code": exc.code, "message": exc.message})

    return run


def _one(req: Call, key: str) -> str | None:
    values = req.query.get(key)
    return values[0] if values else None


def _required(req: Call, key: str) -> str:
    value = _one(req, key)
    if not value:
        raise invalid_parameter(f"Query parameter {key} is required.")
    return value


def _sorting(req: Call) -> dict[str, Any]:
    return {"sort_by": _one(req, "sortBy"), "sort_order": _one(req, "sortOrder")}


def _body(req: Call) -> Any:
    try:
        return req.json()
    except ValueError:
        raise invalid_parameter("The request body is not valid JSON.") from None


def _retry_token(req: Call) -> str | None:
    token = req.headers.get("opc-retry-token")
    if token is not None and not 1 <= len(token) <= 64:
        raise invalid_parameter("opc-retry-token must be 1 to 64 characters.")
    return token


def _resource(resource: Record, wr_id: str | None = None) -> Reply:
    headers = {"etag": etag_of(resource)}
    if wr_id:
        headers["opc-work-request-id"] = wr_id
    return Reply(200, resource, headers)


def _accepted(wr_id: str) -> Reply:
    return Reply(202, None, {"opc-work-request-id": wr_id})


def _check_if_match(req: Call, resource: Record) -> None:
    expected = req.headers.get("if-match")
    if expected and expected != etag_of(resource):
        raise GenAiError(412, "PreconditionFailed",
                         "The resource has changed since the given ETag.")


def _page(req: Call, items: list[Record]) -> Reply:
    """OCI paging: ``limit`` and an opaque ``page`` token; ``opc-next-page`` if more."""
    try:
        limit = int(_one(req, "limit") or DEFAULT_LIMIT)
        start = int(_one(req, "page") or 0)
    except ValueError:
        raise invalid_parameter("limit and page must be integers.") from None
    if not 1 <= limit <= MAX_LIMIT or start < 0:
        raise invalid_parameter(f"limit must be between 1 and {MAX_LIMIT}.")
    chunk = items[start:start + limit]
    headers = {}
    if start + limit < len(items):
        headers["opc-next-page"] = str(start + limit)
    return Reply(200, {"items": chunk}, headers)
