"""Retention on ClickHouse is table TTLs: set on every retained table at serve start (only
where it differs), and ClickHouse drops old spans and what was derived from them while
daily rollups stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from crewscope.query_api import create_app
from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
from crewscope.query_api.store.clickhouse.exporter_ddl import insert_columns
from crewscope.query_api.store.clickhouse.location import parse_store
from tests.helpers.chdb import chdb_client, chdb_url, unique_database

RETAINED = {
    "otel_traces", "otel_logs", "otel_metrics_gauge", "otel_metrics_sum",
    "otel_metrics_histogram", "otel_metrics_exponential_histogram", "otel_metrics_summary",
    "otel_traces_trace_id_ts", "crewscope_run_rows", "crewscope_task_rows",
    "crewscope_llm_call_rows", "crewscope_tool_call_rows", "crewscope_memory_op_rows",
    "crewscope_run_sums",
}  # fmt: skip


def _crew_span(trace: str, span: str, at: datetime) -> list[object]:
    attributes = {
        "gen_ai.operation.name": "invoke_workflow",
        "crewai.crew.name": "old_crew" if at < datetime.now() - timedelta(days=1) else "new_crew",
    }
    return [
        at, trace, span, "", "", "crew.kickoff", "Internal", "app", {"service.name": "app"},
        "crewai", "1.0", attributes, 2_000_000, "Ok", "", [], [], [], [], [], [], [],
    ]  # fmt: skip


def _engine_full(database: str) -> dict[str, str]:
    rows = (
        chdb_client()
        .query(
            "SELECT name, engine_full FROM system.tables WHERE database = {d:String}",
            parameters={"d": database},
        )
        .result_rows
    )
    return {str(n): str(e) for n, e in rows}


def test_ttls_set_once_and_old_rows_dropped() -> None:
    database = unique_database("retention")
    db = ClickHouseDatabase(parse_store(chdb_url(database)))
    changed = db.retain(5)
    assert RETAINED <= set(changed)
    engines = _engine_full(database)
    for table in RETAINED:
        assert "+ toIntervalDay(5)" in engines[table], (table, engines[table])
    for kept in ("crewscope_prices",):  # no time column: never expires
        assert "TTL" not in engines[kept]
    assert db.retain(5) == []  # already so: nothing altered
    assert set(db.retain(9)) == set(changed)  # a new number of days replaces the old TTL

    client = chdb_client()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        _crew_span("a" * 32, "a" * 16, now - timedelta(days=20)),
        _crew_span("b" * 32, "b" * 16, now),
    ]
    client.insert(
        "otel_traces", rows, column_names=list(insert_columns("traces_insert.sql")),
        database=database,
    )  # fmt: skip
    names = f"SELECT Name FROM {database}.crewscope_run_rows ORDER BY Name"
    # A background merge may apply the TTL at any moment (the old run can be gone already);
    # OPTIMIZE ... FINAL makes it happen now.
    assert "new_crew" in [r[0] for r in client.query(names).result_rows]
    for table in ("otel_traces", "crewscope_run_rows", "crewscope_run_sums"):
        client.command(f"OPTIMIZE TABLE {database}.{table} FINAL")  # TTL applies at merge
    assert [r[0] for r in client.query(names).result_rows] == ["new_crew"]
    spans = client.query(f"SELECT SpanId FROM {database}.otel_traces").result_rows
    assert spans == [("b" * 16,)]
    sums = client.query(f"SELECT RunId FROM {database}.crewscope_run_sums").result_rows
    assert sums == [("b" * 32,)]  # a span naming no run counts under its trace
    db.close()


def test_serve_applies_retention_at_start() -> None:
    database = unique_database("serve_retention")
    with TestClient(create_app(chdb_url(database), rollup_interval_s=0, retention_days=12)) as c:
        assert c.get("/api/v1/monitoring/system/health").status_code == 200
    assert "+ toIntervalDay(12)" in _engine_full(database)["otel_traces"]
    with TestClient(create_app(chdb_url(database), rollup_interval_s=0, retention_days=None)):
        pass  # no retention: the TTLs stay as they are
    assert "+ toIntervalDay(12)" in _engine_full(database)["crewscope_run_rows"]
