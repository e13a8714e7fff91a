"""Process stats, token/cost and execution time series, success rates."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from crewscope.query_api.models.common import OverRange
from crewscope.query_api.models.runs import RunKind


class Resolution(str, Enum):
    """Width of one time-series bucket."""

    S10 = "10s"
    M1 = "1m"
    M5 = "5m"
    H1 = "1h"
    D1 = "1d"

    @property
    def seconds(self) -> int:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[self.value[-1]]
        return int(self.value[:-1]) * unit


class SeriesGroupBy(str, Enum):
    NONE = "none"
    MODEL = "model"
    AGENT = "agent"
    CREW = "crew"


class SeriesRange(BaseModel):
    """The buckets a series response spans."""

    resolution: Resolution
    start: datetime
    end: datetime


class ProcessKey(BaseModel):
    """Which process: its service.name and PID, with the crew and agent its metrics name."""

    service: str | None
    pid: int | None
    crew: str | None = None
    agent: str | None = None


class ProcessSample(ProcessKey):
    """The latest stats of one process (OTel process semantic-convention metrics)."""

    timestamp: datetime
    cpu_utilization: float | None = Field(
        None, description="process.cpu.utilization: share of the CPUs available, 0..1"
    )
    cpu_percent: float | None = Field(None, description="cpu_utilization * 100")
    cpu_time_s: float | None = Field(None, description="process.cpu.time, all modes")
    memory_usage_bytes: float | None = None
    memory_mb: float | None = Field(None, description="memory_usage_bytes / 2**20 (RSS)")
    memory_virtual_bytes: float | None = None
    threads: int | None = None
    file_descriptors: int | None = None
    context_switches: int | None = None


class ProcessStatsResponse(OverRange):
    processes: list[ProcessSample]


class ProcessPoint(BaseModel):
    bucket: datetime
    samples: int
    cpu_cores: float | None = Field(
        None, description="rate of process.cpu.time: CPU seconds used per second"
    )
    cpu_utilization_avg: float | None = None
    cpu_utilization_max: float | None = None
    memory_usage_avg: float | None = None
    memory_usage_max: float | None = None
    memory_virtual_max: float | None = None
    threads_max: int | None = None
    file_descriptors_max: int | None = None


class ProcessSeries(ProcessKey):
    points: list[ProcessPoint]


class ProcessSeriesResponse(SeriesRange):
    series: list[ProcessSeries]


class TokenPoint(BaseModel):
    bucket: datetime
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float | None = Field(description="sum of CostUsd; null when no call had a price")
    priced_calls: int


class TokenSeries(BaseModel):
    key: str | None = Field(description="model, agent or crew when grouped; else null")
    points: list[TokenPoint]


class TokenSeriesResponse(SeriesRange):
    group_by: SeriesGroupBy
    series: list[TokenSeries]


class ExecutionPoint(BaseModel):
    bucket: datetime
    executions: int
    successful: int
    failed: int
    success_rate: float = Field(description="percent")
    avg_ms: float | None
    p50_ms: float | None = Field(description="median execution time (continuous quantile)")
    p95_ms: float | None
    p99_ms: float | None = Field(description="99th percentile (continuous quantile)")
    max_ms: float | None
    input_tokens: int
    output_tokens: int


class ExecutionSeries(BaseModel):
    agent: str | None
    points: list[ExecutionPoint]


class ExecutionSeriesResponse(SeriesRange):
    series: list[ExecutionSeries]


class RunPoint(BaseModel):
    """The top-level runs that started in one bucket (as ``GET /runs`` lists them)."""

    bucket: datetime = Field(description="start of the bucket")
    runs: int
    successful: int
    failed: int
    avg_ms: float | None = Field(description="mean run duration")
    p95_ms: float | None = Field(description="95th percentile of run duration (continuous)")
    input_tokens: int = Field(description="sum over the runs (unknown counts as 0)")
    output_tokens: int = Field(description="sum over the runs (unknown counts as 0)")
    cost_usd: float | None = Field(
        description="sum of the runs' cost_usd; null when none of them had a known price"
    )


class RunSeriesResponse(SeriesRange):
    """Top-level runs per bucket, by kickoff start time; buckets without a run are left out."""

    kind: RunKind | None = Field(description="the kind asked for; null: every kind")
    name: str | None = Field(description="the flow, crew or agent name asked for; null: all")
    points: list[RunPoint]


class AgentSuccessRate(BaseModel):
    agent: str
    executions: int
    successful: int
    failed: int
    success_ratio: float = Field(description="0..1, the value of the agent_success_rate gauge")
    success_rate: float = Field(description="percent")
    last_execution: datetime | None


class SuccessRateResponse(OverRange):
    crew: str | None
    agents: list[AgentSuccessRate]
