"""API keys, ``Authorization`` headers and LLM client credentials land in no attribute,
event or log record: not in the DuckDB file, not in any OTLP request body.

Every credential variable CrewAI reads for its providers gets a unique canary value; the
crew's LLMs get an ``api_key=`` canary and ``Authorization`` / ``X-Api-Key`` header canaries
(a second agent's LLM reads ``OPENAI_API_KEY``), the OTLP exporters an ``authorization``
header canary. The crew then runs with content capture on, logs exported from DEBUG and the
root logger at DEBUG (the OpenAI client's own debug records of each request are exported
too), and the app itself puts canaries where crewscope records text: the crew's inputs, a
tool's result, a warning it logs and the exception of a tool that fails.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from crewscope.instrumentation.configure import configure
from crewscope.instrumentation.redaction import REDACTED
from tests.helpers.otlp_sink import OtlpSink, file_bytes, stored_rows

EXTRA_CREDENTIALS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "CREWAI_ENTERPRISE_ACTION_AUTH_TOKEN",
)
"""Read by CrewAI's native providers and tools; the lists below add the rest."""


def provider_credentials() -> list[str]:
    """The credential variables of every provider CrewAI knows: its CLI's provider table,
    its OpenAI-compatible providers, Snowflake's token variables, and `EXTRA_CREDENTIALS`."""
    from crewai.constants import ENV_VARS
    from crewai.llms.providers.openai_compatible.completion import OPENAI_COMPATIBLE_PROVIDERS
    from crewai.llms.providers.snowflake.completion import SNOWFLAKE_TOKEN_ENV_VARS

    names = {
        entry["key_name"]
        for entries in ENV_VARS.values()
        for entry in entries
        if any(word in entry.get("key_name", "") for word in ("KEY", "TOKEN", "SECRET"))
    }
    names |= {config.api_key_env for config in OPENAI_COMPATIBLE_PROVIDERS.values()}
    names |= set(SNOWFLAKE_TOKEN_ENV_VARS) | set(EXTRA_CREDENTIALS)
    return sorted(names)


def _canary(label: str) -> str:
    """Unique and shaped like no known key format: only its exact value can give it away."""
    return f"cnry{label.lower().replace('_', '')[:10]}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    out = {name: _canary(name) for name in provider_credentials()}
    for name, value in out.items():
        monkeypatch.setenv(name, value)
    for label in ("llm_api_key", "llm_bearer", "llm_x_api_key", "otlp_bearer"):
        out[label] = _canary(label)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=Bearer {out['otlp_bearer']}")
    return out


@pytest.fixture
def debug_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(level)


def _crew(base_url: str, canaries: dict[str, str]) -> Any:
    from crewai import LLM, Agent, Crew, Task
    from crewai.tools import BaseTool

    class Vault(BaseTool):
        name: str = "vault"
        description: str = "Reads the credentials the app holds."

        def _run(self, text: str) -> str:
            logging.getLogger("app.vault").warning(
                "vault opened with %s", os.environ["AWS_SECRET_ACCESS_KEY"]
            )
            return f"{os.environ['ANTHROPIC_API_KEY']} {canaries['llm_bearer']}"

    class Broken(BaseTool):
        name: str = "broken"
        description: str = "Always fails."

        def _run(self, text: str) -> str:
            raise PermissionError(f"auth failed for {os.environ['GEMINI_API_KEY']}")

    keyed = LLM(
        model="gpt-4o-mini",
        base_url=base_url,
        api_key=canaries["llm_api_key"],
        default_headers={
            "Authorization": f"Bearer {canaries['llm_bearer']}",
            "X-Api-Key": canaries["llm_x_api_key"],
        },
    )
    from_env = LLM(model="gpt-4o-mini", base_url=base_url)  # OPENAI_API_KEY
    assert keyed.api_key == canaries["llm_api_key"]
    assert from_env.api_key == canaries["OPENAI_API_KEY"]
    first = Agent(role="Keeper", goal="Use the vault", backstory="b", llm=keyed, tools=[Vault()])
    second = Agent(role="Fixer", goal="Try", backstory="b", llm=from_env, tools=[Broken()])
    return Crew(
        name="secret_crew",
        agents=[first, second],
        tasks=[
            Task(name="open", description="Open the vault for {topic}.", expected_output="x",
                 agent=first),
            Task(name="fix", description="Fix {topic}.", expected_output="x", agent=second),
        ],
    )  # fmt: skip


def _all_rows(db: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
    return [row for table in tables for row in stored_rows(db, table)]


def test_no_credential_lands_in_any_stored_or_exported_record(
    tmp_path, llm_server, canaries, debug_logging
):
    db = tmp_path / "secrets.duckdb"
    with OtlpSink() as sink:
        telemetry = configure(
            exporters=["duckdb", "otlp"],
            metrics_exporters=["duckdb", "otlp"],
            logs_exporters=["duckdb", "otlp"],
            db_path=str(db),
            otlp_endpoint=sink.url,
            capture_content="SPAN_AND_EVENT",
            log_level="DEBUG",
            crewai_log_level="DEBUG",
            set_global=False,
            process_metrics=False,
        )
        try:
            crew = _crew(llm_server.base_url, canaries)
            topic = f"rotating {canaries['llm_api_key']} and {canaries['OPENAI_API_KEY']}"
            result = crew.kickoff(inputs={"topic": topic})
        finally:
            telemetry.shutdown()
        requests = list(sink.requests)
    assert result.raw
    assert {r.path for r in requests} >= {"/v1/traces", "/v1/logs", "/v1/metrics"}
    # the OTLP header canary was in use: sent as a header, never in a body
    assert all(r.headers["authorization"] == f"Bearer {canaries['otlp_bearer']}" for r in requests)

    rows = _all_rows(db)
    stored = "\n".join(repr(row) for row in rows)
    raw = [(name, data) for name, data in file_bytes(db)]
    raw += [(r.path, r.body) for r in requests]
    found = {
        label: [
            where for where, data in [("rows", stored.encode()), *raw] if value.encode() in data
        ]
        for label, value in canaries.items()
    }
    assert {label: where for label, where in found.items() if where} == {}

    # where the app put them, crewscope recorded text, with the credentials redacted
    spans = {r["SpanName"]: r for r in rows if "SpanName" in r}
    vault = spans["execute_tool vault"]["SpanAttributes"]
    assert vault["gen_ai.tool.call.result"] == f"{REDACTED} {REDACTED}"
    crew_inputs = spans["invoke_workflow secret_crew"]["SpanAttributes"]["crewai.crew.inputs"]
    assert f"rotating {REDACTED} and {REDACTED}" in crew_inputs
    broken = spans["execute_tool broken"]
    assert broken["StatusMessage"] == f"PermissionError: auth failed for {REDACTED}"
    [event] = broken["Events"]
    assert event["Attributes"]["exception.message"] == f"auth failed for {REDACTED}"
    bodies = [r["Body"] for r in rows if "Body" in r]
    assert f"vault opened with {REDACTED}" in bodies
    assert any(b and b.startswith("Request options:") for b in bodies)  # the client's debug log
