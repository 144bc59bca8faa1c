"""Who may call the page's routes: the browser that logged in, on this server only.

* ``ocift ui`` prints a login URL with a one-time token (``/login?token=...``); opening
  it sets a session cookie (HttpOnly, SameSite=Strict, this server's port in its name)
  and the token is spent. Every other route answers 401 without that session, so the
  page (and the write token in it) is served to the session's browser only.
* Every request must name this server in ``Host`` (127.0.0.1 or localhost with
  our port): a DNS-rebinding page on another name is refused.
* A browser that says the request is cross-site (``Sec-Fetch-Site``) is refused.
* Writes and paid calls (upload, playground, redrive) also need the token the
  page was served with (``X-Ocift-Token``, compared in constant time) and, when
  the browser sends ``Origin``, our own origin.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from shared.ui.errors import UiError

TOKEN_HEADER = "X-Ocift-Token"  # noqa: S105 - a header name, not a secret
ALLOWED_FETCH_SITES = ("same-origin", "none")


class Guard:
    """Checks one request's headers against this server's origin and token."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.cookie = f"ocift_session_{port}"
        self._login: str | None = secrets.token_urlsafe(32)
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    @property
    def login_token(self) -> str | None:
        """The one-time login token (``None`` once it was used)."""
        return self._login

    def login(self, given: str) -> str:
        """Spend the login token; the ``Set-Cookie`` value of the new session."""
        with self._lock:
            expected = self._login
            if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
                raise UiError(403, "bad_login", "this login link is wrong or was used "
                              "already: restart 'ocift ui' and open the URL it prints")
            self._login = None
            session = secrets.token_urlsafe(32)
            self._sessions.add(session)
        return (f"{self.cookie}={session}; HttpOnly; SameSite=Strict; Path=/")

    def check_session(self, headers: Mapping[str, str]) -> None:
        self.check_read(headers)
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(headers.get("Cookie") or "")
        morsel = jar.get(self.cookie)
        given = morsel.value.encode() if morsel is not None else b""
        with self._lock:
            known = [s.encode() for s in self._sessions]
        if not given or not any(hmac.compare_digest(given, s) for s in known):
            raise UiError(401, "no_session", "this page needs the login link 'ocift ui' "
                          "printed (http://127.0.0.1:PORT/login?token=...); open it in this "
                          "browser (restarting 'ocift ui' prints a new one)")

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
