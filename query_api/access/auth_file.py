"""The auth file (``CREWSCOPE_AUTH_FILE``): bearer tokens, each with a tenant and scopes.

::

    {"tokens": [
        {"token": "…", "tenant": "team-a", "scopes": ["ingest", "read"]},
        {"token": "…", "tenant": "team-a", "scopes": ["admin"]}
    ]}

``ingest``: send OTLP (HTTP and gRPC); ``read``: queries, exports, pages, the live feed and
``/metrics``; ``admin``: the rollup and retention jobs. A token is at least 16 characters and
appears once. The file is read once, at start; tokens are kept only as SHA-256 digests and
compared in constant time, and no message ever holds one.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from crewscope.exporter.tenant import TenantNameError, check_tenant

CREWSCOPE_AUTH_FILE = "CREWSCOPE_AUTH_FILE"
MIN_TOKEN_CHARS = 16


class Scope(str, enum.Enum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


class AuthFileError(ValueError):
    """The auth file cannot be used; the message says where and why (never a token)."""


@dataclass(frozen=True)
class Grant:
    """What one token allows: its tenant and scopes."""

    tenant: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class AuthFile:
    """The tokens of an auth file, as digests, and the tenants they name."""

    path: str
    digests: tuple[tuple[bytes, Grant], ...]

    @property
    def tenants(self) -> list[str]:
        """Every tenant named, in the order first named."""
        return list(dict.fromkeys(grant.tenant for _, grant in self.digests))

    def grant(self, token: str | None) -> Grant | None:
        """The grant of `token`, or None. Every entry is compared, each in constant time, so
        the time taken tells nothing of which entry (or how much of one) matched."""
        if not token:
            return None
        given = _digest(token)
        found: Grant | None = None
        for digest, grant in self.digests:
            if hmac.compare_digest(given, digest):
                found = grant
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def load_auth_file(path: str | os.PathLike[str]) -> AuthFile:
    """Read and check the auth file at `path`; raises `AuthFileError`."""
    where = str(path)
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise AuthFileError(f"{where}: cannot be read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuthFileError(f"{where}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("tokens"), list):
        raise AuthFileError(f'{where}: expected an object {{"tokens": [...]}}')
    entries: list[tuple[bytes, Grant]] = []
    seen: set[bytes] = set()
    for i, entry in enumerate(document["tokens"]):
        at = f"{where}: tokens[{i}]"
        if not isinstance(entry, dict):
            raise AuthFileError(f"{at}: expected an object with token, tenant and scopes")
        unknown = set(entry) - {"token", "tenant", "scopes", "name"}
        if unknown:
            raise AuthFileError(f"{at}: unknown field(s) {sorted(unknown)}")
        token, tenant, scopes = entry.get("token"), entry.get("tenant"), entry.get("scopes")
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise AuthFileError(f"{at}: token must be a string of {MIN_TOKEN_CHARS}+ characters")
        if token != token.strip() or any(c.isspace() or not c.isprintable() for c in token):
            raise AuthFileError(f"{at}: token must hold no spaces or control characters")
        if not isinstance(tenant, str):
            raise AuthFileError(f"{at}: tenant must be a string")
        try:
            check_tenant(tenant, at)
        except TenantNameError as exc:
            raise AuthFileError(str(exc)) from None
        valid = {s.value for s in Scope}
        if (
            not isinstance(scopes, list)
            or not scopes
            or not all(isinstance(s, str) and s in valid for s in scopes)
        ):
            raise AuthFileError(f"{at}: scopes must be a non-empty list of {sorted(valid)}")
        digest = _digest(token)
        if digest in seen:
            raise AuthFileError(f"{at}: the same token appears twice")
        seen.add(digest)
        entries.append((digest, Grant(tenant, frozenset(Scope(s) for s in scopes))))
    if not entries:
        raise AuthFileError(f"{where}: no tokens: nobody could read or send anything")
    return AuthFile(where, tuple(entries))


def auth_file_from_env() -> AuthFile | None:
    """The auth file ``CREWSCOPE_AUTH_FILE`` names, or None when it is unset or empty."""
    path = os.environ.get(CREWSCOPE_AUTH_FILE, "").strip()
    return load_auth_file(path) if path else None
