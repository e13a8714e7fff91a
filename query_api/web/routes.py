"""Routes of the web UI: the HTML shell at every view's URL and the assets under /ui/."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from crewscope.query_api.web.assets import Asset, Assets

router = APIRouter(include_in_schema=False)
_assets = Assets()
VIEW_PATHS = ("/", "/agents", "/agents/{agent}", "/runs", "/runs/{run_id}", "/usage")
SHELL_HEADERS = {
    "Cache-Control": "no-cache",
    # every asset, API call and WebSocket goes to this server
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _respond(request: Request, asset: Asset, headers: dict[str, str]) -> Response:
    headers = {**headers, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    if asset.gzipped is not None and accepts_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def shell(request: Request) -> Response:
    asset = _assets.get("index.html")
    if asset is None:  # a broken install
        raise HTTPException(500, "the web UI's files are missing from the installed package")
    return _respond(request, asset, SHELL_HEADERS)


for _path in VIEW_PATHS:
    router.add_api_route(_path, shell, methods=["GET"])


@router.get("/ui/{path:path}")
def asset(path: str, request: Request) -> Response:
    found = _assets.get(path)
    if found is None or path == "index.html":
        raise HTTPException(404, "no such file")
    return _respond(
        request, found, {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    )


@router.get("/dashboard")
def dashboard() -> RedirectResponse:
    """The overview's former address."""
    return RedirectResponse("/", status_code=308)


@router.get("/auth/session")
def session() -> dict[str, object]:
    """Who the web UI is signed in as: nobody, on a server without access control (with an
    auth file the gate answers this route, `crewscope.query_api.access.sign_in`)."""
    return {"tenant": None, "scopes": []}
