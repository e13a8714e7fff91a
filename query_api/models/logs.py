"""Log records (otel_logs) and an agent's activity lines."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from crewscope.query_api.models.common import Paged


class LogSeverity(str, Enum):
    """A minimum level: the records at or above its OTLP severity number."""

    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    FATAL = "fatal"

    @property
    def number(self) -> int:
        """The lowest OTLP SeverityNumber of the level (DEBUG 5, INFO 9, WARN 13, ...)."""
        return SEVERITY_NUMBERS[self]

    @classmethod
    def of(cls, number: int | None) -> LogSeverity | None:
        """The level of an OTLP severity number (1..4 TRACE count as debug); None for 0."""
        if not number:
            return None
        level = cls.DEBUG
        for severity, lowest in SEVERITY_NUMBERS.items():
            if number >= lowest:
                level = severity
        return level


SEVERITY_NUMBERS = {
    LogSeverity.DEBUG: 5,
    LogSeverity.INFO: 9,
    LogSeverity.WARN: 13,
    LogSeverity.ERROR: 17,
    LogSeverity.FATAL: 21,
}


class LogRecord(BaseModel):
    """One stored log record."""

    time: datetime
    severity: LogSeverity | None = Field(description="the level of severity_number")
    severity_text: str | None
    severity_number: int
    body: str | None
    service: str | None
    scope: str | None = Field(description="the logger (instrumentation scope) name")
    event_name: str | None
    trace_id: str | None
    span_id: str | None
    run_id: str | None = Field(description="the run it was emitted in (crewscope.run.id)")
    root_run_id: str | None
    crew: str | None
    agent: str | None
    task: str | None
    attributes: dict[str, str]


class LogListResponse(Paged):
    logs: list[LogRecord]


class ActivityKind(str, Enum):
    TASK_STARTED = "task_started"
    TASK_FINISHED = "task_finished"
    TASK_FAILED = "task_failed"
    STEP = "step"
    TOOL_CALL = "tool_call"
    LLM_CALL = "llm_call"
    LOG = "log"


class ActivityLine(BaseModel):
    """One line of an agent's activity: from a span, or a log record at WARNING or above."""

    time: datetime
    kind: ActivityKind
    text: str
    run_id: str | None
    span_id: str | None
    status: str = Field(
        description="ok or error for finished spans, unset for a task start; the level "
        "(warn, error, fatal) for log records"
    )


class AgentActivity(BaseModel):
    agent: str
    limit: int
    activity: list[ActivityLine] = Field(description="newest first")
