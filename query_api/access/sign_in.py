"""Signing in to the web UI: a token typed once, kept in an HttpOnly, SameSite=Strict cookie.

``GET /auth/sign-in`` shows the form (a page opened without a credential shows it too, with
status 401); ``GET /auth/session`` says who the cookie signs in as (tenant and scopes, 401
when signed out); ``POST /auth/session`` checks the token (it must have the ``read`` scope), sets
the cookie and goes back to the page (``next``, a path on this server); ``POST
/auth/sign-out`` clears it. The cookie is accepted only for reading (pages, GET queries, the
live feed from this server's own pages), so another site can neither send nor change data
with it.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crewscope.query_api.access.auth_file import AuthFile, Scope

COOKIE = "crewscope_token"
MAX_FORM_BYTES = 4096
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _safe_next(value: str | None) -> str:
    """A path on this server (never another host: ``//evil`` or ``/\\evil`` become ``/``)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def sign_in_page(*, next_path: str = "/", error: str | None = None) -> bytes:
    """The sign-in form, going back to `next_path` once signed in."""
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · crewscope</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/ui/favicon.svg"><link rel="stylesheet" href="/ui/style.css"></head>
<body><main class="sign-in">
<h1>crewscope</h1>
<p>This server needs an access token. Ask whoever runs it for one with the
<code>read</code> scope.</p>
{message}
<form method="post" action="/auth/session">
<input type="hidden" name="next" value="{html.escape(_safe_next(next_path))}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form></main></body></html>
""".encode()


def sign_in_app(auth: AuthFile) -> Starlette:
    async def form(request: Request) -> Response:
        body = sign_in_page(next_path=request.query_params.get("next", "/"))
        return HTMLResponse(body, headers=_HEADERS)

    async def session(request: Request) -> Response:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                return HTMLResponse(
                    sign_in_page(error="That form was too large."), 413, headers=_HEADERS
                )
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=8)
        token = (fields.get("token") or [""])[0].strip()
        next_path = _safe_next((fields.get("next") or ["/"])[0])
        grant = auth.grant(token)
        if grant is None or not grant.allows(Scope.READ):
            error = "That token is not valid here." if grant is None else (
                "That token cannot read: it needs the read scope."
            )  # fmt: skip
            status = 401 if grant is None else 403
            page = sign_in_page(next_path=next_path, error=error)
            return HTMLResponse(page, status, headers=_HEADERS)
        response = RedirectResponse(next_path, status_code=303, headers=_HEADERS)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", path="/",
            secure=request.url.scheme == "https",
        )  # fmt: skip
        return response

    async def whoami(request: Request) -> Response:
        grant = auth.grant(request.cookies.get(COOKIE))
        if grant is None:
            detail = [
                {"type": "unauthenticated", "loc": ["cookie", COOKIE], "msg": "not signed in"}
            ]
            return JSONResponse({"detail": detail}, 401, headers=_HEADERS)
        scopes = sorted(scope.value for scope in grant.scopes)
        return JSONResponse({"tenant": grant.tenant, "scopes": scopes}, headers=_HEADERS)

    async def sign_out(request: Request) -> Response:
        response = RedirectResponse("/auth/sign-in", status_code=303, headers=_HEADERS)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return Starlette(
        routes=[
            Route("/auth/sign-in", form, methods=["GET"]),
            Route("/auth/session", whoami, methods=["GET"]),
            Route("/auth/session", session, methods=["POST"]),
            Route("/auth/sign-out", sign_out, methods=["POST"]),
        ]
    )
