"""Log records: a run's, a task's (its span and every span beneath it), across runs; and an
agent's activity lines (its spans and its log records at WARNING or above)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.dates import as_utc, to_naive_utc
from crewscope.query_api.models.logs import (
    ActivityKind,
    ActivityLine,
    AgentActivity,
    LogListResponse,
    LogRecord,
    LogSeverity,
)
from crewscope.query_api.queries.rows import as_api
from crewscope.query_api.queries.tasks import TASK_BY_ID
from crewscope.query_api.store.query import Where, named
from crewscope.query_api.store.session import Session

LOG_LIST = named("reads/log_list")
LOG_COUNT = named("reads/log_count")
LOG_SPAN_SUBTREE = named("reads/log_span_subtree")
RUN_WINDOW = named("reads/run_window")
AGENT_ACTIVITY = named("reads/agent_activity")
AGENT_ACTIVITY_WINDOW = named("reads/agent_activity_window")
AGENT_LOGS = named("reads/agent_logs")
ACTIVITY_MIN_SEVERITY = LogSeverity.WARN
MAX_TEXT = 300


@dataclass(frozen=True)
class LogFilters:
    """What every log list may be narrowed by."""

    severity: LogSeverity | None = None
    q: str | None = None
    service: str | None = None
    agent: str | None = None
    crew: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self, where: Where) -> Where:
        if self.severity is not None:
            where.add('"SeverityNumber" >= $min_severity', min_severity=self.severity.number)
        if self.q:
            where.add(""""Body" ILIKE $body_like ESCAPE '!'""", body_like=f"%{_escape(self.q)}%")
        where.add_if(self.service, '"ServiceName" = $service', "service")
        where.add_if(self.agent, '"AgentName" = $agent', "agent")
        where.add_if(self.crew, '"CrewName" = $crew', "crew")
        where.add_if(to_naive_utc(self.start), '"Timestamp" >= $start', "start")
        where.add_if(to_naive_utc(self.end), '"Timestamp" <= $end', "end")
        return where


def _escape(text: str) -> str:
    """`text` as a literal inside an ILIKE pattern (``!`` escapes ``%``, ``_`` and itself: a
    character both engines parse in ``ESCAPE``, where ClickHouse refuses a backslash)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _record(row: dict[str, Any]) -> LogRecord:
    return LogRecord(
        time=as_utc(row["Timestamp"]),
        severity=LogSeverity.of(row["SeverityNumber"]),
        severity_text=row["SeverityText"],
        severity_number=row["SeverityNumber"],
        body=row["Body"],
        **as_api(row, "ServiceName", "ScopeName", "EventName", "RunId", "RootRunId"),
        **as_api(row, "CrewName", "AgentName", "TaskName"),
        trace_id=row["TraceId"] or None,
        span_id=row["SpanId"] or None,
        attributes=dict(row["LogAttributes"] or {}),
    )


def list_logs(
    s: Session, where: Where, limit: int, offset: int, *, newest_first: bool = False
) -> LogListResponse:
    total = int(s.scalar(LOG_COUNT, where=where) or 0)
    params = {"limit": limit, "offset": offset, "newest_first": newest_first}
    rows = s.rows(LOG_LIST, params, where=where)
    return LogListResponse(logs=[_record(r) for r in rows], total=total, limit=limit, offset=offset)


def run_logs_where(s: Session, run_id: str, filters: LogFilters) -> Where | None:
    """The records of a run: those naming it (as their run or top-level run), and those of
    its trace within the run span's time window that name no run. None for an unknown run;
    a trace id (32 hex) stands for its first top-level run, as in ``GET /runs/{id}``."""
    if len(run_id) == 32:
        lookup = Where().add('"TraceId" = $trace_id AND "ParentRunId" IS NULL', trace_id=run_id)
    else:
        lookup = Where().add('"SpanId" = $run_id', run_id=run_id)
    run = s.one(RUN_WINDOW, where=lookup)
    if run is None:
        return None
    where = Where().add(
        """("RunId" = $log_run_id OR "RootRunId" = $log_run_id
            OR ("TraceId" = $log_trace_id AND coalesce("RunId", '') = ''
                AND coalesce("RootRunId", '') = '' AND "Timestamp" BETWEEN $log_lo AND $log_hi))""",
        log_run_id=run["SpanId"],
        log_trace_id=run["TraceId"],
        log_lo=run["Timestamp"],
        log_hi=run["EndTime"],
    )
    return filters.where(where)


def task_logs_where(s: Session, task_id: str, filters: LogFilters) -> Where | None:
    """The records whose span is the task span or any span beneath it; None for an unknown
    task."""
    task = s.one(TASK_BY_ID, {"task_id": task_id})
    if task is None:
        return None
    subtree = {"trace_id": task["TraceId"], "root_id": task_id}
    window = {"lo": task["Timestamp"], "hi": task["EndTime"]}
    span_ids = [row[0] for row in s.tuples(LOG_SPAN_SUBTREE, {**subtree, **window})]
    where = Where().add(
        '"TraceId" = $trace_id AND list_contains($span_ids, "SpanId")',
        trace_id=task["TraceId"],
        span_ids=span_ids,
    )
    return filters.where(where)


def _tokens(row: dict[str, Any]) -> str:
    inp, out = row["input_tokens"], row["output_tokens"]
    if inp is None and out is None:
        return ""
    return f" ({inp or 0} in / {out or 0} out tokens)"


def _error(row: dict[str, Any]) -> str:
    if row["status"] != "error":
        return ""
    reason = ": ".join(str(p) for p in (row["error_type"], row["message"]) if p)
    return f" failed: {reason}" if reason else " failed"


def _text(kind: ActivityKind, row: dict[str, Any]) -> str:
    name = row["name"] or "?"
    if kind is ActivityKind.TASK_STARTED:
        text = f"task {name} started"
    elif kind is ActivityKind.TASK_FINISHED:
        text = f"task {name} finished{_tokens(row)}"
    elif kind is ActivityKind.TASK_FAILED:
        text = f"task {name}{_error(row)}"
    elif kind is ActivityKind.STEP:
        text = f"step {row['detail'] or ''}".rstrip() + f" of task {name}{_error(row)}"
    elif kind is ActivityKind.TOOL_CALL:
        text = f"tool {name}" + (_error(row) or " ok")
    elif kind is ActivityKind.LLM_CALL:
        text = f"LLM call {name}{_tokens(row)}{_error(row)}"
    else:
        level = LogSeverity.of(row["severity"])
        text = f"{(level.value if level else 'log').upper()}: {row['message'] or ''}"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def agent_activity(s: Session, agent: str, limit: int) -> AgentActivity:
    params = {
        "agent": agent,
        "limit": limit,
        "llm_ops": list(LLM_OPERATIONS),
        "min_severity": ACTIVITY_MIN_SEVERITY.number,
    }
    window = s.one(AGENT_ACTIVITY_WINDOW, params)
    far = datetime(9999, 1, 1)  # no span: only log records
    bounds = {"cutoff": far, "since": far} if window is None else window
    lines = []
    for row in s.rows(AGENT_ACTIVITY, {**params, **bounds}, agent_logs=AGENT_LOGS):
        kind = ActivityKind(row["kind"])
        level = LogSeverity.of(row["severity"]) if kind is ActivityKind.LOG else None
        if level is not None:
            status = level.value
        elif kind is ActivityKind.TASK_STARTED:
            status = "unset"
        else:  # a finished span: its outcome (Unset means nothing went wrong)
            status = "error" if row["status"] == "error" else "ok"
        lines.append(
            ActivityLine(
                time=as_utc(row["time"]),
                kind=kind,
                text=_text(kind, row),
                run_id=row["run_id"],
                span_id=row["span_id"],
                status=status,
            )
        )
    return AgentActivity(agent=agent, limit=limit, activity=lines)
