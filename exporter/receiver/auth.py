"""The ingest bearer token check shared by OTLP/HTTP and OTLP/gRPC."""

from __future__ import annotations

import hmac


def bearer_token_ok(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` value is exactly ``Bearer <token>``.

    Compared in constant time (`hmac.compare_digest` on the UTF-8 bytes), so the time taken
    tells nothing about how much of the token was right. Neither value is ever logged.
    """
    given = (authorization or "").encode("utf-8", "surrogatepass")
    expected = f"Bearer {token}".encode("utf-8", "surrogatepass")
    return hmac.compare_digest(given, expected)
