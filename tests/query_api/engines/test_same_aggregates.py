"""The dashboard, the time series, agent activity and success rates, aggregated agent
metrics, endpoint performance, daily rollups and the run / task / rollup exports answer the
same on DuckDB and on ClickHouse for the same real runs. DuckDB's rollups are built by its
job (run here first); ClickHouse's are kept by materialized views, so spans inserted later
(by anyone, straight into ``otel_traces``) count in the hourly and daily numbers at once."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crewscope.query_api import create_app
from crewscope.query_api.store.clickhouse.database import connect
from crewscope.query_api.store.clickhouse.location import parse_store
from tests.helpers.engines import chdb_store
from tests.helpers.served import API
from tests.query_api.engines.conftest import Engines
from tests.query_api.engines.test_same_answers import _close, both


def _ids(v: Any) -> str:
    if isinstance(v, dict):
        return ",".join(f"{k}={x}" for k, x in v.items()) or "default"
    return str(v)


@pytest.fixture(scope="module", autouse=True)
def duckdb_rollups(engines: Engines) -> None:
    """DuckDB's rollups come from its job: refresh them once (idempotent)."""
    r = engines.duckdb.post(API + "/rollups/refresh")
    assert r.status_code == 200, r.text
    assert r.json()["agent_rows"] > 0 and r.json()["crew_rows"] > 0


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


NOW = datetime.now(timezone.utc)
NEAR = {"start": _iso(NOW - timedelta(hours=3)), "end": _iso(NOW + timedelta(hours=1))}
WIDE = {"start": _iso(NOW - timedelta(days=40)), "end": _iso(NOW + timedelta(days=1))}


def _no_stamps(answer: Any) -> Any:
    """`answer` without the fields that say when each engine answered or refreshed."""
    if isinstance(answer, dict):
        return {
            k: _no_stamps(v)
            for k, v in answer.items()
            if k not in {"generated_at", "window_start", "window_end", "refreshed_at",
                         "rollup_refreshed_at"}
        }  # fmt: skip
    if isinstance(answer, list):
        return [_no_stamps(v) for v in answer]
    return answer


# -- the dashboard -------------------------------------------------------------------------


def test_dashboard(engines: Engines) -> None:
    d, c = both(engines, "/dashboard")
    periods = {p["period"]: p for p in d["totals"]}
    assert list(periods) == ["24h", "7d", "30d"]
    month = periods["30d"]
    assert month["runs"] == 4 and month["failed_runs"] >= 1
    assert month["executions"] > 0 and month["failed_executions"] >= 1
    assert month["input_tokens"] > 0 and month["cost_usd"]
    assert d["executions_trend"] and d["top_agents"]
    _close(_no_stamps(d), _no_stamps(c), "dashboard")


# -- time series ---------------------------------------------------------------------------

EXECUTION_SERIES = [
    {"resolution": "1m", **NEAR},
    {"resolution": "10s", **NEAR},
    {"resolution": "5m", **NEAR, "agent": "Researcher"},
    {"resolution": "1h", **NEAR, "crew": "flaky_crew"},
    {"resolution": "1d", **WIDE},
    {"resolution": "1m", **NEAR, "agent": "nobody"},
]


@pytest.mark.parametrize("params", EXECUTION_SERIES, ids=_ids)
def test_execution_series(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/metrics/executions/series", **params)
    points = [p for s in d["series"] for p in s["points"]]
    if params.get("agent") == "nobody":
        assert not points
    else:
        assert sum(p["executions"] for p in points) > 0
    _close(d, c, "executions")


def _a_model(engines: Engines) -> str:
    d, _ = both(engines, "/metrics/tokens/series", resolution="1d", group_by="model", **WIDE)
    models = [s["key"] for s in d["series"] if s["key"]]
    assert models
    return str(models[0])


TOKEN_SERIES = [
    {"resolution": "1m", **NEAR},
    {"resolution": "10s", **NEAR, "group_by": "model"},
    {"resolution": "5m", **NEAR, "group_by": "agent"},
    {"resolution": "1h", **NEAR, "group_by": "crew"},
    {"resolution": "1d", **WIDE, "group_by": "agent", "crew": "research_crew"},
    {"resolution": "1m", **NEAR, "agent": "Writer"},
    {"resolution": "1m", **NEAR, "crew": "nobody"},
]


@pytest.mark.parametrize("params", TOKEN_SERIES, ids=_ids)
def test_token_series(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/metrics/tokens/series", **params)
    points = [p for s in d["series"] for p in s["points"]]
    if params.get("crew") == "nobody":
        assert not points
    else:
        assert sum(p["total_tokens"] for p in points) > 0
    _close(d, c, "tokens")


def test_token_series_by_model(engines: Engines) -> None:
    model = _a_model(engines)
    d, c = both(engines, "/metrics/tokens/series", resolution="1m", model=model, **NEAR)
    assert {s["key"] for s in d["series"]} == {None} and d["series"][0]["points"]
    _close(d, c, "tokens")


RUN_SERIES = [
    {"resolution": "1m", **NEAR},
    {"resolution": "10s", **NEAR, "kind": "crew"},
    {"resolution": "1h", **NEAR, "kind": "flow"},
    {"resolution": "1d", **WIDE, "name": "research_crew"},
    {"resolution": "1m", **NEAR, "kind": "agent"},
]


@pytest.mark.parametrize("params", RUN_SERIES, ids=_ids)
def test_run_series(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/metrics/runs/series", **params)
    if params.get("kind") != "agent":
        assert sum(p["runs"] for p in d["points"]) > 0
    if "kind" not in params and "name" not in params:
        assert sum(p["runs"] for p in d["points"]) == 4
        assert sum(p["failed"] for p in d["points"]) >= 1
        assert any(p["cost_usd"] for p in d["points"])
    _close(d, c, "runs")


SUCCESS_RATES = [{}, {"time_range": "7d"}, {"crew": "flaky_crew"}, {"crew": "nobody"}]


@pytest.mark.parametrize("params", SUCCESS_RATES, ids=_ids)
def test_success_rate(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/metrics/success-rate", **params)
    if params.get("crew") != "nobody":
        assert d["agents"] and any(a["failed"] for a in d["agents"]) or params
    _close(d, c, "success-rate")


# -- agents --------------------------------------------------------------------------------

ACTIVITY = [("Researcher", {}), ("Writer", {"limit": 5}), ("Researcher", {"limit": 500})]


@pytest.mark.parametrize(("agent", "params"), ACTIVITY, ids=_ids)
def test_agent_activity(engines: Engines, agent: str, params: dict[str, Any]) -> None:
    d, c = both(engines, f"/agents/{agent}/activity", **params)
    kinds = {line["kind"] for line in d["activity"]}
    assert d["activity"] and len(d["activity"]) <= params.get("limit", 50)
    if params.get("limit") == 500:
        assert {"task_started", "task_finished", "llm_call"} <= kinds
    _close(d, c, "activity")


def test_agent_activity_unknown(engines: Engines) -> None:
    for client in (engines.duckdb, engines.clickhouse):
        assert client.get(API + "/agents/nobody/activity").status_code == 404


AGGREGATED = [
    ("Researcher", {}),
    ("Researcher", {"time_range": "30d"}),
    ("Writer", {"time_range": "1d"}),
    ("Writer", {"time_range": "90d"}),
]


@pytest.mark.parametrize(("agent", "params"), AGGREGATED, ids=_ids)
def test_agent_metrics_aggregated(engines: Engines, agent: str, params: dict[str, Any]) -> None:
    d, c = both(engines, f"/agents/{agent}/metrics", metric_type="aggregated", **params)
    assert d["total_executions"] > 0 and d["execution_times"]["p95_ms"] is not None
    assert c["rollup_refreshed_at"] is not None  # when a span last counted in its rollup
    d.pop("top_errors"), c.pop("top_errors")  # test_aggregated_top_errors
    _close(_no_stamps(d), _no_stamps(c), agent)


def test_aggregated_top_errors(engines: Engines) -> None:
    d, c = both(engines, "/agents/Researcher/metrics", metric_type="aggregated")
    assert d["top_errors"]  # the broken crew's LLM failures
    _close(d["top_errors"], c["top_errors"], "top_errors")


def test_agent_metrics_aggregated_equals_realtime(engines: Engines) -> None:
    """All the runs are today: the rollups hold exactly what the spans hold."""
    path = API + "/agents/Researcher/metrics"
    agg = engines.clickhouse.get(path, params={"metric_type": "aggregated"}).json()
    real = engines.clickhouse.get(path, params={"metric_type": "realtime"}).json()
    for key in ("total_executions", "failed_executions", "input_tokens", "output_tokens"):
        assert agg[key] == real[key], key
    _close(agg["execution_times"], real["execution_times"], "execution_times")
    _close(agg["cost_usd"], real["cost_usd"], "cost_usd")


# -- endpoint performance ------------------------------------------------------------------

ENDPOINTS = [{"service": "engine-crews"}, {"service": "engine-crews", "time_range": "7d"}]


@pytest.mark.parametrize("params", ENDPOINTS, ids=_ids)
def test_endpoints(engines: Engines, params: dict[str, Any]) -> None:
    """The crews' service has no HTTP server spans (the apps' own requests are traced under
    their own service, each engine's with its own timings: not comparable)."""
    d, c = both(engines, "/endpoints", **params)
    assert d["endpoints"] == []
    _close(d, c, "endpoints")


def test_endpoints_own_requests(engines: Engines) -> None:
    _, c = both(engines, "/endpoints")
    routes = {(e["method"], e["route"]): e for e in c["endpoints"]}
    dash = routes[("GET", API + "/dashboard")]
    assert dash["requests"] >= 1 and dash["server_errors"] == 0
    assert dash["p50_ms"] <= dash["p99_ms"]


# -- rollups -------------------------------------------------------------------------------

TODAY = NOW.date()
ROLLUPS = [
    {},
    {"group_by": "crew"},
    {"group_by": "agent", "agent": "Researcher"},
    {"group_by": "crew", "crew": "flaky_crew"},
    {"limit": 2, "offset": 1},
    {"date_from": (TODAY - timedelta(days=400)).isoformat(), "date_to": TODAY.isoformat()},
    {"date_from": (TODAY - timedelta(days=9)).isoformat(),
     "date_to": (TODAY - timedelta(days=2)).isoformat()},
]  # fmt: skip


@pytest.mark.parametrize("params", ROLLUPS, ids=_ids)
def test_rollups(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/rollups/daily", **params)
    if "date_to" not in params or params["date_to"] == TODAY.isoformat():
        assert d["rows"] and d["total"] >= len(d["rows"])
    else:
        assert not d["rows"]
    assert all(r["refreshed_at"] for r in c["rows"])
    _close(_no_stamps(d), _no_stamps(c), "rollups")


def test_refresh_on_clickhouse_counts_the_rows_it_keeps(engines: Engines) -> None:
    d = engines.duckdb.post(API + "/rollups/refresh").json()
    r = engines.clickhouse.post(API + "/rollups/refresh")
    assert r.status_code == 200, r.text
    c = r.json()
    for key in ("date_from", "date_to", "days", "agent_rows", "crew_rows"):
        assert c[key] == d[key], key
    week = {"date_from": (TODAY - timedelta(days=6)).isoformat(), "date_to": TODAY.isoformat()}
    c = engines.clickhouse.post(API + "/rollups/refresh", params=week).json()
    assert c["days"] == 7 and c["agent_rows"] == d["agent_rows"]


@pytest.mark.parametrize(
    "params",
    [{"start_date_from": "1677-01-01T00:00:00Z"}, {"start_date_to": "2300-01-01T00:00:00Z"},
     {"start_date_from": "0001-01-01T00:00:00Z", "start_date_to": "9999-12-31T23:59:59Z"}],
    ids=_ids,
)  # fmt: skip
def test_dates_beyond_what_clickhouse_holds(engines: Engines, params: dict[str, Any]) -> None:
    d, c = both(engines, "/runs", **params)
    assert d["total"] == c["total"]


# -- exports -------------------------------------------------------------------------------

EXPORTS = [
    ("runs", {}),
    ("runs", {"status": "failed"}),
    ("runs", {"crew": "research_crew"}),
    ("tasks", {}),
    ("tasks", {"agent": "Researcher"}),
    ("tasks", {"crew": "flaky_crew", "status": "completed"}),
    ("tasks", {"start_date_from": _iso(NOW - timedelta(days=1))}),
    ("rollups_agent", {}),
    ("rollups_agent", {"agent": "Writer"}),
    ("rollups_crew", {}),
    ("rollups_crew", {"start_date_from": _iso(NOW + timedelta(days=2))}),
]


def _cell(value: str) -> Any:
    """A CSV cell as JSON would carry it: numbers as numbers, '' as None."""
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _csv(text: str) -> list[dict[str, Any]]:
    rows = list(csv.reader(io.StringIO(text)))
    return [dict(zip(rows[0], map(_cell, r), strict=True)) for r in rows[1:]]


@pytest.mark.parametrize(("dataset", "params"), EXPORTS, ids=_ids)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exports(engines: Engines, fmt: str, dataset: str, params: dict[str, Any]) -> None:
    answers = []
    for client in (engines.duckdb, engines.clickhouse):
        r = client.get(f"{API}/export/{dataset}", params={"format": fmt, **params})
        assert r.status_code == 200, r.text
        answers.append(json.loads(r.text) if fmt == "json" else _csv(r.text))
    d, c = answers
    if "start_date_from" in params and dataset == "rollups_crew":
        assert d == []
    else:
        assert d, "nothing exported"
    if dataset == "runs" and not params:
        assert len(d) == 4  # the top-level runs
    _close(d, c, dataset)


# -- spans inserted later: the hourly and daily numbers follow without a job ------------------


RETAINED_BY = ("Timestamp", "TimeUnix", "Start", "Hour", "LastSeen")
"""The time columns retention's TTL reads on ClickHouse (a table with none is kept)."""


def _retained(ch: Client, database: str) -> list[str]:
    rows = ch.query(
        "SELECT DISTINCT t.name FROM system.tables AS t "
        "JOIN system.columns AS c ON c.database = t.database AND c.table = t.name "
        "WHERE t.database = {db:String} AND t.engine LIKE '%MergeTree' "
        "AND c.name IN {cols:Array(String)} ORDER BY t.name",
        parameters={"db": database, "cols": list(RETAINED_BY)},
    ).result_rows
    return [r[0] for r in rows]


def _rows_by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in keys): r for r in rows}


@pytest.fixture
def later(engines: Engines) -> Iterator[tuple[TestClient, Client, str, str]]:
    """A ClickHouse store of its own (empty), a client on the embedded engine (the one its
    sessions share), the database holding the engines' spans and the new one."""
    store = chdb_store("later")
    target = parse_store(store)
    app = cast(FastAPI, engines.clickhouse.app)
    source: str = app.state.db.location.database
    assert target.database != source
    ch, _ = connect(target)  # queries below name their database
    with TestClient(create_app(store, rollup_interval_s=0, retention_days=None)) as client:
        yield client, ch, source, target.database


def test_later_spans_count_at_once(
    engines: Engines, later: tuple[TestClient, Client, str, str]
) -> None:
    client, ch, source, target = later
    research = ch.query(
        f"SELECT TraceId FROM {source}.crewscope_runs "
        'WHERE "Name" = \'research_crew\' AND "ParentRunId" IS NULL'
    ).result_rows
    assert len(research) == 1
    trace = research[0][0]

    def insert(sql: str) -> None:
        """Insert as an outside writer would, then price the models it brought now (the
        serve process does so before a request at most every 2 s)."""
        ch.command(sql)
        db = cast(FastAPI, client.app).state.db
        with db.reader() as s:
            db.projections.sync(s, force=True)

    def get(path: str, **params: Any) -> Any:
        r = client.get(API + path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    empty = get("/dashboard")
    assert [p["executions"] for p in empty["totals"]] == [0, 0, 0]
    assert get("/rollups/daily")["rows"] == []

    # 1: the research crew's spans, as they are (today)
    insert(
        f"INSERT INTO {target}.otel_traces SELECT * FROM {source}.otel_traces "
        f"WHERE TraceId = '{trace}'"
    )
    duck_tasks = engines.duckdb.get(API + "/tasks", params={"run_id": trace, "limit": 1}).json()[
        "total"
    ]
    assert duck_tasks > 0
    today = get("/dashboard")
    assert [p["runs"] for p in today["totals"]] == [1, 1, 1]
    assert [p["executions"] for p in today["totals"]] == [duck_tasks] * 3
    rows = get("/rollups/daily")["rows"]
    assert {r["day"] for r in rows} == {TODAY.isoformat()}
    assert sum(r["executions"] for r in rows) == duck_tasks
    crews = get("/rollups/daily", group_by="crew")["rows"]
    assert [(c["crew"], c["executions"]) for c in crews] == [("research_crew", 1)]
    assert crews[0]["cost_usd"] and crews[0]["p50_ms"] is not None

    # 2: every other span, two days earlier (so whole hours: the hourly sums answer)
    insert(
        f"INSERT INTO {target}.otel_traces "
        "SELECT * REPLACE (Timestamp - toIntervalDay(2) AS Timestamp) "
        f"FROM {source}.otel_traces WHERE TraceId != '{trace}'"
    )
    after = get("/dashboard")
    duck = engines.duckdb.get(API + "/dashboard").json()
    # the week and the month hold every run on both; the last day only the research crew
    by_period = _rows_by(after["totals"], "period")
    duck_by_period = _rows_by(duck["totals"], "period")
    for period in ("7d", "30d"):
        _close(by_period[(period,)], duck_by_period[(period,)], period)
    assert by_period[("24h",)] == today["totals"][0]
    trend = {p["day"]: p for p in after["executions_trend"]}
    two_days_ago = (TODAY - timedelta(days=2)).isoformat()
    assert set(trend) == {TODAY.isoformat(), two_days_ago}
    [duck_today] = duck["executions_trend"]
    assert (
        trend[TODAY.isoformat()]["executions"] + trend[two_days_ago]["executions"]
        == (duck_today["executions"])
    )
    assert trend[two_days_ago]["failed"] == duck_today["failed"]  # the research crew succeeds

    # the daily rollups: per crew, the runs moved two days earlier are DuckDB's (the
    # research crew ran on its own, today, and in the flow, moved)
    crews_after = _rows_by(get("/rollups/daily", group_by="crew")["rows"], "crew", "day")
    duck_crews = _rows_by(
        engines.duckdb.get(API + "/rollups/daily", params={"group_by": "crew"}).json()["rows"],
        "crew",
        "day",
    )
    assert {c for c, _ in crews_after} == {c for c, _ in duck_crews}
    for (crew, day), want in duck_crews.items():
        moved = (date.fromisoformat(day) - timedelta(days=2)).isoformat()
        if crew != "research_crew":
            assert (crew, day) not in crews_after
            _close(_no_stamps(crews_after[(crew, moved)]), {**_no_stamps(want), "day": moved}, crew)
            continue
        parts = [crews_after[(crew, day)], crews_after[(crew, moved)]]
        for key in ("executions", "failed", "input_tokens", "output_tokens", "cost_usd"):
            _close(sum(p[key] for p in parts), want[key], f"{crew}.{key}")
        assert min(p["min_ms"] for p in parts) == pytest.approx(want["min_ms"])
        assert max(p["max_ms"] for p in parts) == pytest.approx(want["max_ms"])

    # per agent, over the whole window: the sums and exact percentiles are DuckDB's
    for agent in ("Researcher", "Writer"):
        d = engines.duckdb.get(
            API + f"/agents/{agent}/metrics", params={"metric_type": "aggregated"}
        ).json()
        c = get(f"/agents/{agent}/metrics", metric_type="aggregated")
        for key in ("total_executions", "successful_executions", "input_tokens",
                    "output_tokens", "cost_usd", "execution_times"):  # fmt: skip
            _close(c[key], d[key], f"{agent}.{key}")
        days = get("/rollups/daily", agent=agent)["rows"]
        assert {r["day"] for r in days} <= {TODAY.isoformat(), two_days_ago}
        assert sum(r["executions"] for r in days) == d["total_executions"]

    # 3: retention drops the spans and everything derived from them row by row (as its TTL
    # would): the daily rollups stay, but for the cost of crew runs, which is read per run
    kept_agents = get("/rollups/daily")["rows"]
    kept_crews = get("/rollups/daily", group_by="crew")["rows"]
    retained = _retained(ch, target)
    assert {"otel_traces", "crewscope_task_rows", "crewscope_agent_hourly_sums"} <= set(retained)
    assert not [t for t in retained if "daily" in t]
    for table in retained:
        ch.command(f"TRUNCATE TABLE {target}.{table}")
    assert [p["executions"] for p in get("/dashboard")["totals"]] == [0, 0, 0]
    _close(_no_stamps(get("/rollups/daily")["rows"]), _no_stamps(kept_agents), "agents kept")
    crews_kept = get("/rollups/daily", group_by="crew")["rows"]
    assert all(r["cost_usd"] is None for r in crews_kept)
    _close(
        _no_stamps(crews_kept),
        [{**r, "cost_usd": None} for r in _no_stamps(kept_crews)],
        "crews kept",
    )


def test_later_server_spans(later: tuple[TestClient, Client, str, str]) -> None:
    """HTTP server spans written straight into the exporter's table: /endpoints counts them
    (the engines' runs have none)."""
    client, ch, _, target = later
    now = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    rows = [
        ("GET", "/items", "200", 10), ("GET", "/items", "200", 20), ("GET", "/items", "404", 30),
        ("GET", "/items", "500", 40), ("POST", "/items", "201", 100),
    ]  # fmt: skip
    values = ", ".join(
        f"('{now:%Y-%m-%d %H:%M:%S}', 'api', 'Server', {ms * 1_000_000}, "
        f"map('http.request.method', '{m}', 'http.route', '{route}', "
        f"'http.response.status_code', '{status}'), 'span{i}', 'trace{i}')"
        for i, (m, route, status, ms) in enumerate(rows)
    )
    ch.command(
        f"INSERT INTO {target}.otel_traces "
        "(Timestamp, ServiceName, SpanKind, Duration, SpanAttributes, SpanId, TraceId) "
        f"VALUES {values}"
    )
    answer = client.get(API + "/endpoints", params={"service": "api"}).json()
    routes = {(e["method"], e["route"]): e for e in answer["endpoints"]}
    get = routes[("GET", "/items")]
    assert get["requests"] == 4 and get["client_errors"] == 1 and get["server_errors"] == 1
    assert get["client_error_rate"] == 25.0 and get["avg_ms"] == 25.0
    assert get["p50_ms"] == pytest.approx(25.0) and get["p90_ms"] == pytest.approx(37.0)
    assert routes[("POST", "/items")]["requests"] == 1
    assert client.get(API + "/endpoints", params={"service": "other"}).json()["endpoints"] == []
