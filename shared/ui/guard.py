"""Who may call the page's routes: same-origin pages of this server only.

* Every request must name this server in ``Host`` (127.0.0.1 or localhost with
  our port): a DNS-rebinding page on another name is refused.
* A browser that says the request is cross-site (``Sec-Fetch-Site``) is refused.
* Writes and paid calls (upload, playground, redrive) also need the token the
  page was served with (``X-Ocift-Token``, compared in constant time) and, when
  the browser sends ``Origin``, our own origin.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from shared.ui.errors import UiError

TOKEN_HEADER = "X-Ocift-Token"  # noqa: S105 - a header name, not a secret
ALLOWED_FETCH_SITES = ("same-origin", "none")


class Guard:
    """Checks one request's headers against this server's origin and token."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    def check_read(self, headers: Mapping[str, str]) -> None:
        host = (headers.get("Host") or "").lower()
        if host not in self.hosts:
            raise UiError(421, "wrong_host", f"this server answers only for "
                          f"{' or '.join(sorted(self.hosts))}, not {host or 'an empty Host'}")
        site = headers.get("Sec-Fetch-Site")
        if site is not None and site not in ALLOWED_FETCH_SITES:
            raise UiError(403, "cross_site", f"refused a {site} request: open the page from "
                          "this server's own address")

    def check_write(self, headers: Mapping[str, str]) -> None:
        self.check_read(headers)
        origin = headers.get("Origin")
        if origin is not None and origin not in self.origins:
            raise UiError(403, "cross_origin", f"refused a request from origin {origin!r}: "
                          "use the page this server serves")
        given = headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise UiError(403, "bad_token", f"missing or wrong {TOKEN_HEADER} header: reload "
                          "the page (the token changes when 'ocift ui' restarts)")
