"""Flow analytics: per flow, its runs' outcome, duration, tokens and cost; per method, its
executions and duration."""

from __future__ import annotations

from itertools import groupby

from crewscope.query_api.dates import window
from crewscope.query_api.models.agents import ExecutionTimes
from crewscope.query_api.models.common import TimeRange
from crewscope.query_api.models.flows import FlowListResponse, FlowMethodStats, FlowStats
from crewscope.query_api.store.query import named
from crewscope.query_api.store.session import Session


def flow_stats(s: Session, time_range: TimeRange, flow: str | None = None) -> FlowListResponse:
    start, end = window(time_range.days)
    params = {"start": start, "end": end, "flow": flow}
    methods = {
        name: [FlowMethodStats(**{k: r[k] for k in FlowMethodStats.model_fields}) for r in rows]
        for name, rows in groupby(s.rows(named("reads/flow_methods"), params), lambda r: r["flow"])
    }
    flows = []
    for r in s.rows(named("reads/flow_stats"), params):
        q = r["q"] or [None, None, None]
        flows.append(
            FlowStats(
                flow=r["flow"],
                runs=r["runs"],
                successful=r["successful"],
                failed=r["failed"],
                success_rate=100.0 * r["successful"] / r["runs"],
                duration=ExecutionTimes(
                    avg_ms=r["avg_ms"],
                    min_ms=r["min_ms"],
                    max_ms=r["max_ms"],
                    p50_ms=q[0],
                    p95_ms=q[1],
                    p99_ms=q[2],
                ),  # fmt: skip
                crew_runs=r["crew_runs"],
                input_tokens=int(r["input_tokens"]),
                output_tokens=int(r["output_tokens"]),
                cost_usd=r["cost_usd"],
                methods=methods.get(r["flow"], []),
            )
        )
    return FlowListResponse(time_range=time_range, flows=flows)
