"""An agent's activity with its log records, the same on both engines: records sent to both
apps' OTLP receivers (ClickHouse keeps them in the Collector exporter's ``otel_logs``) beside
the real crews' spans: records inside the Researcher's tasks, and records of an agent that
has no spans, some a nanosecond apart across a five-minute boundary."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

from tests.exporter.receiver.log_records import Rec, records
from tests.helpers.otlp import PB
from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines

LOG_ONLY = "Log Only Agent"
FIVE_MINUTES_NS = 300 * 10**9
# (body, level, ns after a five-minute boundary a day ago)
LOG_ONLY_RECORDS = [
    ("A just before the boundary", "warn", -1),
    ("B on the boundary", "error", 0),
    ("C a second after", "warn", 10**9),
    ("D two before the boundary", "warn", -2),
    ("E three before, fatal", "fatal", -3),
    ("F a nanosecond after", "warn", 1),
    ("G ten minutes before", "warn", -2 * FIVE_MINUTES_NS),
    ("H a day before", "error", -86_400 * 10**9),
    ("I below the threshold", "info", 2 * 10**9),
]


def _post(engines: Engines, recs: list[Rec]) -> None:
    body = encode_logs(records(recs, service="activity-app")).SerializeToString()
    for client in (engines.duckdb, engines.clickhouse):
        reply = client.post("/v1/logs", content=body, headers=PB)
        assert reply.status_code == 200, reply.text


def _total(client: Any, agent: str) -> int:
    reply = client.get(API + "/logs", params={"agent": agent, "limit": 1})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["total"])


@pytest.fixture(scope="module")
def logged(engines: Engines) -> Engines:
    tasks = engines.duckdb.get(API + "/tasks", params={"agent": "Researcher", "limit": 100})
    researcher = tasks.json()["tasks"]
    assert len(researcher) >= 2
    recs = []
    for task, (body, level) in zip(
        researcher, [("slow search", "warn"), ("search failed", "error")], strict=False
    ):
        start = datetime.fromisoformat(task["start_time"].replace("Z", "+00:00"))
        at = int(start.timestamp()) * 10**9 + start.microsecond * 1000 + 1000
        attrs = {
            "gen_ai.agent.name": "Researcher", "crewai.task.name": task["task"],
            "crewai.crew.name": task["crew"], "crewscope.run.id": task["crew_run_id"],
            "crewscope.run.root_id": task["run_id"],
        }  # fmt: skip
        recs.append(Rec(body, level, task["trace_id"], task["task_id"], attrs, at))
        recs.append(Rec(f"{body}: detail", "info", task["trace_id"], task["task_id"], attrs, at))
    day_ago = int((datetime.now(timezone.utc) - timedelta(days=1)).timestamp()) * 10**9
    boundary = day_ago - day_ago % FIVE_MINUTES_NS
    for body, level, offset in LOG_ONLY_RECORDS:
        recs.append(Rec(body, level, attributes={"gen_ai.agent.name": LOG_ONLY},
                        timestamp_ns=boundary + offset))  # fmt: skip
    # records naming no agent: an empty name, no name at all
    recs.append(Rec("empty agent", "error", attributes={"gen_ai.agent.name": ""},
                    timestamp_ns=boundary + 5))  # fmt: skip
    recs.append(Rec("no agent", "error", timestamp_ns=boundary + 6))
    _post(engines, recs)
    deadline = time.monotonic() + 30
    want = {"Researcher": 4, LOG_ONLY: len(LOG_ONLY_RECORDS)}
    while any(
        _total(c, a) < n for c in (engines.duckdb, engines.clickhouse) for a, n in want.items()
    ):
        assert time.monotonic() < deadline, "log records not stored"
        time.sleep(0.2)
    return engines


def _both(engines: Engines, agent: str, **params: Any) -> dict[str, Any]:
    got = [
        c.get(f"{API}/agents/{agent}/activity", params=params)
        for c in (engines.duckdb, engines.clickhouse)
    ]
    assert [r.status_code for r in got] == [200, 200], [r.text for r in got]
    duck, click = (r.json() for r in got)
    assert click == duck
    return dict(duck)


@pytest.mark.parametrize("limit", [1, 3, 5, 8, 50])
def test_log_only_agent_newest_first(logged: Engines, limit: int) -> None:
    lines = _both(logged, LOG_ONLY, limit=limit)["activity"]
    newest_first = "CFBADEGH"
    assert [line["kind"] for line in lines] == ["log"] * min(limit, len(newest_first))
    assert "".join(line["text"].split(": ", 1)[1][0] for line in lines) == newest_first[:limit]
    times = [line["time"] for line in lines]
    assert times == sorted(times, reverse=True)
    assert all(line["run_id"] is None and line["span_id"] is None for line in lines)


def test_researcher_with_its_records(logged: Engines) -> None:
    lines = _both(logged, "Researcher", limit=500)["activity"]
    logs = [line for line in lines if line["kind"] == "log"]
    assert sorted(line["text"] for line in logs) == [
        "ERROR: search failed", "WARN: slow search",
    ]  # fmt: skip
    assert all(line["run_id"] and line["span_id"] for line in logs)
    assert {"task_started", "llm_call"} <= {line["kind"] for line in lines}
    for limit in (2, 10):
        assert _both(logged, "Researcher", limit=limit)["activity"] == lines[:limit]


def test_agents_without_records(logged: Engines) -> None:
    writer = _both(logged, "Writer", limit=500)["activity"]
    assert writer and not [line for line in writer if line["kind"] == "log"]
    for client in (logged.duckdb, logged.clickhouse):
        assert client.get(API + "/agents/nobody/activity").status_code == 404
