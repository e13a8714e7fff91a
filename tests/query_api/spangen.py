"""Generated spans in the otel_traces layout (exporter/sql/schema.sql), as SPANS.md describes.

`RunBuilder` writes one crew run (crew span, task spans, steps, chat and tool spans, memory
spans) with explicit times; `insert_spans` puts the rows into a DuckDB file with plain SQL.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "SpanAttributes", "Duration", "StatusCode",
    "StatusMessage", "Events", "Links", "GenAiOperation", "CrewName", "TaskName", "AgentName",
    "ToolName", "Model", "ProviderName", "InputTokens", "OutputTokens", "CostUsd", "ErrorType",
)  # fmt: skip

INSERT = (
    "INSERT INTO otel_traces ("
    + ", ".join(f'"{c}"' for c in COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in COLUMNS)
    + ")"
)


def insert_spans(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    con.executemany(INSERT, [[row.get(c) for c in COLUMNS] for row in rows])


@dataclass
class RunBuilder:
    """Builds the spans of one trace; every method returns the new span's id."""

    rng: random.Random
    trace_id: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.trace_id:
            self.trace_id = f"{self.rng.getrandbits(128):032x}"

    def span(
        self,
        name: str,
        parent: str,
        start: datetime,
        duration_ms: float,
        *,
        kind: str = "Internal",
        status: str = "Unset",
        message: str | None = None,
        attributes: dict[str, str] | None = None,
        events: list[dict[str, Any]] | None = None,
        **promoted: Any,
    ) -> str:
        span_id = f"{self.rng.getrandbits(64):016x}"
        row = {
            "Timestamp": start,
            "TraceId": self.trace_id,
            "SpanId": span_id,
            "ParentSpanId": parent,
            "SpanName": name,
            "SpanKind": kind,
            "ServiceName": "crew-app",
            "ResourceAttributes": {"service.name": "crew-app"},
            "ScopeName": "crewscope.instrumentation",
            "SpanAttributes": attributes or {},
            "Duration": int(duration_ms * 1e6),
            "StatusCode": status,
            "StatusMessage": message,
            "Events": events or [],
            "Links": [],
        }
        row.update(promoted)
        self.rows.append(row)
        return span_id


@dataclass
class TaskSpec:
    agent: str
    task: str
    duration_ms: float
    failed: bool = False
    error: str = "ValueError: bad input"
    steps: int = 2
    tool: str | None = "search"
    tool_fails: bool = False
    model: str = "gpt-4o-mini"
    input_tokens: int = 100
    output_tokens: int = 20
    cost: float | None = 0.001


def build_run(
    rng: random.Random,
    crew: str,
    start: datetime,
    tasks: list[TaskSpec],
    *,
    inputs: dict[str, Any] | None = None,
    memory_agent: str | None = None,
) -> RunBuilder:
    """One crew kickoff: tasks run one after another; each step = one chat (+ one tool)."""
    run = RunBuilder(rng)
    rows_before = len(run.rows)
    t = start + timedelta(milliseconds=1)
    task_rows: list[tuple[str, TaskSpec, datetime]] = []
    crew_id = run.span("placeholder", "", start, 0)  # fixed below, once the length is known
    for spec in tasks:
        task_id = run.span(
            f"invoke_agent {spec.agent}",
            crew_id,
            t,
            spec.duration_ms,
            status="Error" if spec.failed else "Ok",
            message=spec.error if spec.failed else None,
            attributes={"gen_ai.agent.name": spec.agent, "crewai.task.name": spec.task},
            GenAiOperation="invoke_agent",
            CrewName=crew,
            AgentName=spec.agent,
            TaskName=spec.task,
            InputTokens=spec.input_tokens * spec.steps,
            OutputTokens=spec.output_tokens * spec.steps,
            ErrorType=spec.error.split(":")[0] if spec.failed else None,
        )
        step_ms = spec.duration_ms / (spec.steps + 1)
        for i in range(spec.steps):
            st = t + timedelta(milliseconds=step_ms * i + 0.1)
            common = {"CrewName": crew, "AgentName": spec.agent, "TaskName": spec.task}
            step_id = run.span(
                f"step {spec.agent}",
                task_id,
                st,
                step_ms * 0.9,
                attributes={"crewai.step.index": str(i + 1)},
                **common,
            )
            run.span(
                f"chat {spec.model}",
                step_id,
                st + timedelta(microseconds=50),
                step_ms * 0.5,
                kind="Client",
                attributes={"gen_ai.request.model": spec.model},
                GenAiOperation="chat",
                Model=spec.model,
                ProviderName="openai",
                InputTokens=spec.input_tokens,
                OutputTokens=spec.output_tokens,
                CostUsd=spec.cost,
                **common,
            )
            if spec.tool and i < spec.steps - 1:
                fails = spec.tool_fails and i == 0
                run.span(
                    f"execute_tool {spec.tool}",
                    step_id,
                    st + timedelta(milliseconds=step_ms * 0.6),
                    step_ms * 0.2,
                    status="Error" if fails else "Unset",
                    message="tool exploded" if fails else None,
                    events=[
                        {
                            "Timestamp": st,
                            "Name": "exception",
                            "Attributes": {"exception.type": "RuntimeError"},
                        }
                    ]
                    if fails
                    else [],
                    GenAiOperation="execute_tool",
                    ToolName=spec.tool,
                    ErrorType="RuntimeError" if fails else None,
                    **common,
                )
        if memory_agent == spec.agent:
            for op in ("query", "save"):
                run.span(
                    f"memory {op}",
                    task_id,
                    t,
                    1.5,
                    attributes={"crewai.memory.operation": op, "gen_ai.agent.name": spec.agent},
                    AgentName=spec.agent,
                )
        task_rows.append((task_id, spec, t))
        t += timedelta(milliseconds=spec.duration_ms + 1)
    failed = any(s.failed for s in tasks)
    total_ms = (t - start).total_seconds() * 1000 + 1
    attrs = {"crewai.crew.name": crew, "crewai.crew.input_keys": json.dumps(list(inputs or {}))}
    if inputs:
        attrs["crewai.crew.inputs"] = json.dumps(inputs)
    crew_row = run.rows[rows_before]
    crew_row.update(
        SpanName=f"invoke_workflow {crew}",
        Duration=int(total_ms * 1e6),
        StatusCode="Error" if failed else "Ok",
        StatusMessage=next((s.error for s in tasks if s.failed), None),
        SpanAttributes=attrs,
        GenAiOperation="invoke_workflow",
        CrewName=crew,
        InputTokens=sum(s.input_tokens * s.steps for s in tasks),
        OutputTokens=sum(s.output_tokens * s.steps for s in tasks),
        ErrorType=next((s.error.split(":")[0] for s in tasks if s.failed), None),
    )
    return run


def http_span(
    rng: random.Random, route: str, status: int, start: datetime, duration_ms: float
) -> dict[str, Any]:
    run = RunBuilder(rng)
    run.span(
        f"GET {route}",
        "",
        start,
        duration_ms,
        kind="Server",
        status="Error" if status >= 500 else "Unset",
        attributes={
            "http.route": route,
            "http.request.method": "GET",
            "http.response.status_code": str(status),
        },
    )
    return run.rows[0]
