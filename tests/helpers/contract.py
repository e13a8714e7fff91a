"""What the OpenAPI contract tests check with schemathesis, and the app they call."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from crewscope.query_api import create_app
from tests.helpers.served import API

SKIPPED_PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs", f"{API}/rollups/refresh")
"""Not fuzzed: the OTLP ingest routes (protobuf bodies) and the rollup job (slow, admin)."""
RULES = {"range_reversed", "range_too_large"}
"""The 422 `type`s of rules the schema cannot express (documented in every 422, deps.INVALID)."""


def valid_input_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """positive_data_acceptance, but a schema-valid request may break a documented rule."""
    if response.status_code == 422:
        errors = response.json()["detail"]
        if errors and all(error["type"] in RULES for error in errors):
            return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    valid_input_accepted,
]


class NoLifespan:
    """The app without its lifespan: schemathesis opens a client (and a lifespan) per call,
    and the app's lifespan closes the file at its end; the fixture runs the real one once."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return


def published_schema() -> dict[str, Any]:
    """The app's OpenAPI document (from an app over an empty file, closed again)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"{tmp}/schema.duckdb", rollup_interval_s=0, retention_days=None)
        with TestClient(app):
            return app.openapi()


def fuzzed_schema(document: dict[str, Any], max_examples: int) -> Any:
    """`document` as schemathesis tests it: every generation mode, deterministic, no
    stateful phase, without the `SKIPPED_PATHS`."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_dict(document, config=config).exclude(path=list(SKIPPED_PATHS))


def fuzz_settings(max_examples: int) -> Any:
    """Hypothesis settings of a contract test: derandomized, no database, no deadline."""
    return settings(
        max_examples=max_examples, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
