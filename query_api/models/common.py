"""Enums and types shared by the response models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel


class ExecutionStatus(str, Enum):
    """Outcome of a finished run or task (spans are exported when they end)."""

    COMPLETED = "completed"
    FAILED = "failed"


class TimeRange(str, Enum):
    D1 = "1d"
    D7 = "7d"
    D30 = "30d"
    D90 = "90d"

    @property
    def days(self) -> int:
        return int(self.value[:-1])


class MetricType(str, Enum):
    REALTIME = "realtime"
    AGGREGATED = "aggregated"


class Paged(BaseModel):
    """The paging envelope of a list: the rows matching in all, and the page asked for."""

    total: int
    limit: int
    offset: int


class OverRange(BaseModel):
    """A response over a window of days ending now."""

    time_range: TimeRange


class Timed(BaseModel):
    """When a span started and ended (a run's and a task's: their span's)."""

    start_time: datetime
    end_time: datetime
    duration_ms: float


class Execution(Timed):
    """What a run and a task summary share: timing, outcome, tokens and error."""

    status: ExecutionStatus
    input_tokens: int | None = None
    output_tokens: int | None = None
    error_type: str | None = None
    error_preview: str | None = None
