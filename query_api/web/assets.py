"""The UI's static files, read once from the installed package, with gzip copies and ETags."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    guessed = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


class Assets:
    """Files under ``crewscope.query_api.web/static``; unknown or escaping paths are None."""

    def __init__(self) -> None:
        self._root: Traversable = resources.files("crewscope.query_api.web").joinpath("static")
        self._cache: dict[str, Asset] = {}  # files found only: any URL may be asked for
        self._lock = threading.Lock()

    def get(self, path: str) -> Asset | None:
        with self._lock:
            found = self._cache.get(path)
        if found is not None:
            return found
        asset = self._load(path)
        if asset is not None:
            with self._lock:
                self._cache[path] = asset
        return asset

    def _load(self, path: str) -> Asset | None:
        parts = path.split("/")
        if not path or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        node = self._root
        for part in parts:
            node = node.joinpath(part)
        if not node.is_file():
            return None
        body = node.read_bytes()
        media_type = _media_type(parts[-1])
        compress = media_type.startswith(COMPRESSIBLE) and len(body) > 512
        return Asset(
            body=body,
            gzipped=gzip.compress(body, 9, mtime=0) if compress else None,
            media_type=media_type,
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        )
