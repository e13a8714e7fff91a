"""Content capture off by default; when on, the redaction hook and then truncation apply to
every content value before it is stored (DuckDB) or exported (OTLP/HTTP); a failing hook
drops the value and leaves the app alone."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crewscope.demo.crew import make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation.configure import configure
from crewscope.instrumentation.redaction import REDACTED, scrub_secrets
from tests.helpers.otlp_sink import OtlpSink, file_bytes, stored_rows

MARKER = "ZEBRA7731QX"
"""Stands for private text: in the crew's inputs, the tool's arguments and its result."""
ANSWER = "everything checks out"  # in each of the fake LLM's final answers
PLACEHOLDER = "[pii]"
LIMIT = 200
CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "crewai.crew.inputs",
    "crewscope.output.preview",
}
TOOL = "archive_lookup"


def env_hook(key: str, text: str) -> str:
    """For ``CREWSCOPE_REDACT=tests.instrumentation.test_redaction:env_hook``."""
    return text.replace(MARKER, "[env-hook]")


def _crew(base_url: str) -> Any:
    """One agent whose role and task description are templates (``{topic}``), one tool
    returning private text."""
    from crewai import Agent, Crew, Task
    from crewai.tools import BaseTool

    class ArchiveLookup(BaseTool):
        name: str = TOOL
        description: str = "Looks a text up in the archive."

        def _run(self, text: str) -> str:
            return f"{MARKER} is in the archive"

    agent = Agent(
        role="{topic} Researcher",
        goal="Find facts about {topic}",
        backstory="A careful analyst.",
        llm=make_llm(base_url),
        tools=[ArchiveLookup()],
    )
    task = Task(
        description="Research {topic} with the archive.",
        expected_output="Key facts.",
        agent=agent,
    )
    return Crew(name="private_crew", agents=[agent], tasks=[task])


TOPIC = f"{MARKER} " + "word " * 60  # longer than LIMIT: cut after the hook saw it whole


def _kickoff(llm_server: Any) -> Any:
    llm_server.script_tool_call(TOOL, {"text": f"look up {MARKER}"})
    return _crew(llm_server.base_url).kickoff(inputs={"topic": TOPIC})


@pytest.fixture
def sink() -> Iterator[OtlpSink]:
    with OtlpSink() as server:
        yield server


@pytest.fixture
def run(
    tmp_path: Path, llm_server: Any, sink: OtlpSink, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Any, Path]]:
    """run(**configure_kwargs) -> (crew output, DuckDB file): one kickoff, with spans and log
    records to a DuckDB file and over OTLP/HTTP to `sink`, all flushed and closed."""
    monkeypatch.setenv("CREWSCOPE_CAPTURE_MAX_LENGTH", str(LIMIT))

    def go(**kwargs: Any) -> tuple[Any, Path]:
        db = tmp_path / "runs.duckdb"
        telemetry = configure(
            exporters=["duckdb", "otlp"],
            metrics_exporters=[],
            logs_exporters=["duckdb", "otlp"],
            db_path=str(db),
            otlp_endpoint=sink.url,
            set_global=False,
            process_metrics=False,
            **kwargs,
        )
        try:
            result = _kickoff(llm_server)
        finally:
            telemetry.shutdown()
        return result, db

    return go


def _everything(db: Path, sink: OtlpSink) -> tuple[str, bytes]:
    """(every stored span and log row as text, the DuckDB file and every OTLP body)."""
    rows = stored_rows(db, "otel_traces") + stored_rows(db, "otel_logs")
    raw = b"".join(body for _, body in file_bytes(db)) + b"".join(sink.bodies())
    return "\n".join(repr(row) for row in rows), raw


def _content(db: Path) -> dict[str, list[str]]:
    """Stored content attributes of spans and log records, by key."""
    found: dict[str, list[str]] = {}
    for table, column in (("otel_traces", "SpanAttributes"), ("otel_logs", "LogAttributes")):
        for row in stored_rows(db, table):
            for key, value in (row[column] or {}).items():
                if key in CONTENT_KEYS:
                    found.setdefault(key, []).append(value)
    return found


def _text_parts(messages_json: str) -> list[str]:
    return [
        p["content"] for m in json.loads(messages_json) for p in m["parts"] if p["type"] == "text"
    ]


def test_hook_then_truncation_on_every_content_value_stored_and_exported(run, sink):
    seen: list[tuple[str, str]] = []

    def hook(key: str, text: str) -> str:
        seen.append((key, text))
        return text.replace(MARKER, PLACEHOLDER).replace(ANSWER, PLACEHOLDER)

    result, db = run(capture_content="SPAN_AND_EVENT", redact=hook)
    assert ANSWER in result.raw  # the app's own result is untouched
    assert {key for key, _ in seen} == CONTENT_KEYS
    assert any(len(text) > LIMIT for key, text in seen if key == "crewai.crew.inputs")
    text, raw = _everything(db, sink)
    for secret in (MARKER, MARKER[:5], ANSWER):  # nor a piece left by a cut before the hook
        assert secret not in text and secret.encode() not in raw, secret
    content = _content(db)
    assert set(content) == CONTENT_KEYS
    for key, values in content.items():
        assert any(PLACEHOLDER in v for v in values), key
    [arguments] = content["gen_ai.tool.call.arguments"]
    assert json.loads(arguments) == {"text": f"look up {PLACEHOLDER}"}
    assert content["gen_ai.tool.call.result"] == [f"{PLACEHOLDER} is in the archive"]
    [inputs] = content["crewai.crew.inputs"]  # the value and then the JSON cut to the limit
    assert inputs.startswith(f'{{"topic": "{PLACEHOLDER} word') and len(inputs) <= LIMIT
    for messages in content["gen_ai.input.messages"]:
        assert all(len(part) <= LIMIT for part in _text_parts(messages))
    # the inference log events carry the same redacted messages, over OTLP too
    assert PLACEHOLDER.encode() in b"".join(sink.bodies("/v1/traces"))
    assert PLACEHOLDER.encode() in b"".join(sink.bodies("/v1/logs"))


def test_capture_off_by_default_records_no_content(run, sink, monkeypatch):
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    calls: list[str] = []
    result, db = run(redact=lambda key, text: calls.append(key) or text)
    assert ANSWER in result.raw
    assert calls == []
    text, raw = _everything(db, sink)
    assert MARKER not in text and MARKER.encode() not in raw
    assert ANSWER not in text and ANSWER.encode() not in raw
    assert _content(db) == {}
    spans = stored_rows(db, "otel_traces")
    # names are the templates as written: the kickoff inputs are not filled in
    assert "invoke_agent {topic} Researcher" in {s["SpanName"] for s in spans}
    [task] = [s for s in spans if s["SpanName"].startswith("invoke_agent")]
    assert task["SpanAttributes"]["crewai.task.name"] == "Research {topic} with the archive."
    assert [s for s in spans if s["SpanName"] == f"execute_tool {TOOL}"]


def test_a_raising_hook_drops_the_value_and_the_crew_result_is_the_same(
    run, sink, llm_server, caplog
):
    bare = _kickoff(llm_server)  # not instrumented

    def hook(key: str, text: str) -> str:
        raise ValueError(f"cannot redact {text}")

    caplog.set_level(logging.WARNING, logger="crewscope.instrumentation.redaction")
    result, db = run(capture_content="SPAN_ONLY", redact=hook)
    assert result.raw == bare.raw
    assert [t.raw for t in result.tasks_output] == [t.raw for t in bare.tasks_output]
    text, raw = _everything(db, sink)
    assert MARKER not in text and MARKER.encode() not in raw
    content = _content(db)
    assert "gen_ai.tool.call.result" not in content
    assert "gen_ai.tool.call.arguments" not in content
    assert "crewscope.output.preview" not in content
    assert json.loads(content["crewai.crew.inputs"][0]) == {}
    for messages in content["gen_ai.input.messages"] + content["gen_ai.output.messages"]:
        for message in json.loads(messages):  # roles and tool-call names, no text
            assert all(p["type"] != "text" and "arguments" not in p for p in message["parts"])
    warnings = [r for r in caplog.records if r.name == "crewscope.instrumentation.redaction"]
    assert len(warnings) == 1 and "ValueError" in warnings[0].getMessage()
    assert MARKER not in warnings[0].getMessage()


@pytest.fixture
def traced(_tracing: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """traced(**instrument_kwargs) -> the finished in-memory spans of one kickoff."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    provider, exporter = _tracing
    instrumentor = CrewAIInstrumentor()

    def go(llm_server: Any, **kwargs: Any) -> Any:
        exporter.clear()
        instrumentor.instrument(tracer_provider=provider, **kwargs)
        try:
            _kickoff(llm_server)
        finally:
            instrumentor.uninstrument()
        return exporter.get_finished_spans()

    yield go
    exporter.clear()


def _span_text(spans: Any) -> str:
    return json.dumps([dict(s.attributes) for s in spans], default=str)


def test_zero_code_hook_from_the_environment(traced, llm_server, monkeypatch):
    monkeypatch.setenv("CREWSCOPE_REDACT", "tests.instrumentation.test_redaction:env_hook")
    text = _span_text(traced(llm_server))
    assert MARKER not in text and "[env-hook] is in the archive" in text


def test_a_hook_that_cannot_be_loaded_records_no_content(traced, llm_server, monkeypatch, caplog):
    monkeypatch.setenv("CREWSCOPE_REDACT", "tests.no_such_module:redact")
    caplog.set_level(logging.ERROR, logger="crewscope.instrumentation.redaction")
    spans = traced(llm_server)
    text = _span_text(spans)
    assert MARKER not in text and ANSWER not in text
    assert not any("gen_ai.tool.call.result" in s.attributes for s in spans)
    assert any("cannot be loaded" in r.getMessage() for r in caplog.records)


def test_secret_scrubber_on_content_by_default_and_off_when_asked(traced, llm_server):
    key = "sk-proj-" + "Q7" * 12

    def with_key(k: str, text: str) -> str:
        return text.replace(MARKER, key)  # as if the app's text held an API key

    text = _span_text(traced(llm_server, redact=with_key))
    assert key not in text and f"{REDACTED} is in the archive" in text
    text = _span_text(traced(llm_server, redact=with_key, redact_secrets=False))
    assert f"{key} is in the archive" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-abcdefghijklmnop1234 here", f"key {REDACTED} here"),
        ("sk-ant-api03-abcdefghijklmnopqrstu", REDACTED),
        ("Authorization: Bearer abc123def456ghi", f"Authorization: Bearer {REDACTED}"),
        ('{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', f'{{"authorization": "Basic {REDACTED}"}}'),
        ("AKIAIOSFODNN7EXAMPLE", REDACTED),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         f"aws_secret_access_key={REDACTED}"),
        ("AIzaSyA-1234567890abcdefghijklmnopqrstu", REDACTED),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", REDACTED),
        ("hf_abcdefghijklmnopqrstuvwx", REDACTED),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", REDACTED),
        ("api_key='hunter2hunter2' password: correcthorse",
         f"api_key='{REDACTED}' password: {REDACTED}"),
        # prose and token counts are not secrets
        ("Bearer bonds need a basic understanding", None),
        ("max_tokens=1000, input_tokens: 123456789, 12345678 tokens", None),
        ('Action Input: {"text": "observability for crewai agents"}', None),
    ],
)  # fmt: skip
def test_secret_patterns(text: str, expected: str | None) -> None:
    assert scrub_secrets(text) == (text if expected is None else expected)
