"""The OpenAPI document of a server with an auth file: bearer security on every operation,
and its 401 and 403 answers, in the API's one error shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crewscope.query_api.deps import ERROR_BODY

SCHEME = "bearer"
ANSWERS: dict[str, dict[str, Any]] = {
    "401": {
        "description": "No bearer token, or one this server does not know (`type` "
        "`unauthenticated`); the body is that of a 422.",
        "content": ERROR_BODY,
    },
    "403": {
        "description": "The token lacks the scope this operation needs (`read`, `ingest` or "
        "`admin`; `type` `forbidden`); the body is that of a 422.",
        "content": ERROR_BODY,
    },
}


def secure_openapi(app: FastAPI) -> FastAPI:
    """`app`, its OpenAPI document stating that every operation needs a bearer token."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A token of the server's auth file (CREWSCOPE_AUTH_FILE); its "
            "tenant decides which data the call sees or writes.",
        }
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                operation["security"] = [{SCHEME: []}]
                for status, answer in ANSWERS.items():
                    operation["responses"].setdefault(status, answer)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
