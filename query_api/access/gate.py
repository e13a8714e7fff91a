"""`TenantGate`: the ASGI app ``crewscope serve`` runs when an auth file is set.

Every request is authenticated before it reaches any data: a bearer token in
``Authorization`` (any request), or the sign-in cookie (pages, GET queries and the live feed
of the web UI; never ingest or jobs). The token's grant names the tenant, and the request is
handed to that tenant's own app (`crewscope.query_api.app.create_app` over the tenant's own
store), so what it can read, and where what it sends lands, follows from the token alone.

- no or unknown credential: 401 with ``WWW-Authenticate: Bearer`` (a page: the sign-in form);
- a token without the scope the route needs (`required_scope`): 403;
- public: the OpenAPI document and docs, the web UI's static files, the sign-in routes.

Error bodies have the API's one shape (``{"detail": [{"type", "loc", "msg"}]}``); a refused
WebSocket gets the same status on its handshake. No token is ever logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from http.cookies import SimpleCookie
from typing import Any

from fastapi import FastAPI

from crewscope.query_api.access.auth_file import AuthFile, Grant, Scope
from crewscope.query_api.access.sign_in import COOKIE, sign_in_app, sign_in_page

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/monitoring"
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
PUBLIC_PREFIXES = ("/ui/", "/auth/")
INGEST_PATHS = frozenset({"/v1/traces", "/v1/metrics", "/v1/logs"})
ADMIN_ROUTES = frozenset({("POST", f"{API_PREFIX}/rollups/refresh")})
SAFE_METHODS = frozenset({"GET", "HEAD"})


def required_scope(method: str, path: str) -> Scope | None:
    """The scope a request needs; None for a public one."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if path in INGEST_PATHS:
        return Scope.INGEST
    if (method, path) in ADMIN_ROUTES:
        return Scope.ADMIN
    return Scope.READ


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def credential(headers: Mapping[str, str], *, cookie_ok: bool) -> tuple[str | None, str]:
    """The presented token and where it came from (``header`` / ``cookie`` / ``none``)."""
    auth = headers.get("authorization")
    if auth is not None:
        kind, _, token = auth.partition(" ")
        return (token.strip() if kind.lower() == "bearer" else None), "header"
    if cookie_ok and "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(Exception):  # a malformed Cookie header is no credential
            jar.load(headers["cookie"])
        if COOKIE in jar:
            return jar[COOKIE].value, "cookie"
    return None, "none"


def _same_origin(headers: Mapping[str, str]) -> bool:
    """A browser's WebSocket handshake sends its page's Origin: it must be this server."""
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _error_body(status: int, kind: str, msg: str) -> bytes:
    detail = [{"type": kind, "loc": ["header", "authorization"], "msg": msg}]
    return json.dumps({"detail": detail}).encode()


class TenantGate:
    """Authenticate, authorise, and hand each request to its tenant's app (module doc)."""

    def __init__(
        self,
        auth: AuthFile,
        apps: Mapping[str, FastAPI],
        docs_app: FastAPI,
        resources: Sequence[Callable[[], AbstractContextManager[object]]] = (),
    ) -> None:
        self.auth = auth
        self.apps = dict(apps)
        self.docs_app = docs_app  # serves the public OpenAPI document and the static files
        self.resources = resources  # entered after the apps start, left before they stop
        self.sign_in = sign_in_app(auth)
        self.refused = {"unauthenticated": 0, "forbidden": 0}

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        method: str = scope.get("method", "GET") if kind == "http" else "GET"
        needed = required_scope(method, path)
        if needed is None:
            app = self.sign_in if path.startswith("/auth/") else self.docs_app
            await app(scope, receive, send)
            return
        headers = _headers(scope)
        cookie_ok = needed is Scope.READ and (
            (kind == "http" and method in SAFE_METHODS)
            or (kind == "websocket" and _same_origin(headers))
        )
        token, source = credential(headers, cookie_ok=cookie_ok)
        grant = self.auth.grant(token)
        if grant is None:
            self.refused["unauthenticated"] += 1
            why = "a bearer token is required" if source == "none" else "the token is not valid"
            await self._refuse(scope, send, headers, 401, "unauthenticated", why)
            return
        if not grant.allows(needed):
            self.refused["forbidden"] += 1
            msg = f"this token has no {needed.value!r} scope"
            await self._refuse(scope, send, headers, 403, "forbidden", msg)
            return
        scope = {**scope, "state": {**scope.get("state", {}), "grant": grant}}
        await self.apps[grant.tenant](scope, receive, send)

    async def _refuse(
        self,
        scope: dict[str, Any],
        send: Callable[[Any], Awaitable[None]],
        headers: Mapping[str, str],
        status: int,
        kind: str,
        msg: str,
    ) -> None:
        page = (
            scope["type"] == "http"
            and status == 401
            and not scope["path"].startswith((API_PREFIX, "/v1/", "/metrics"))
            and "text/html" in headers.get("accept", "")
        )
        if page:
            body, media = sign_in_page(next_path=scope["path"]), "text/html; charset=utf-8"
        else:
            body, media = _error_body(status, kind, msg), "application/json"
        response_headers = [
            (b"content-type", media.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if status == 401:
            response_headers.append((b"www-authenticate", b'Bearer realm="crewscope"'))
        if scope["type"] == "websocket":
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(
                    {"type": "websocket.http.response.start", "status": status,
                     "headers": response_headers}
                )  # fmt: skip
                await send({"type": "websocket.http.response.body", "body": body})
            else:  # a server without the denial-response extension: close before accept
                await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(
        self, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Start every tenant's app (its writer, jobs and live feed), and stop them all."""
        stack = contextlib.AsyncExitStack()
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            for app in self.apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            for resource in self.resources:
                stack.enter_context(resource())
        except Exception as exc:  # reported to the server, which exits
            logger.exception("crewscope: a tenant's store could not start")
            await stack.aclose()
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        try:
            await stack.aclose()
        finally:
            await send({"type": "lifespan.shutdown.complete"})


def grant_of(scope: Mapping[str, Any]) -> Grant | None:
    """The grant the gate put on a request's scope (None without an auth file)."""
    state = scope.get("state") or {}
    grant = state.get("grant")
    return grant if isinstance(grant, Grant) else None
