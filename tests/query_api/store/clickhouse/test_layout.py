"""A store made by an older crewscope opens: its derived tables of another layout are
rebuilt from what they derive from, sums kept beside them count nothing twice, tables of
the same layout are only stamped, and the views fill every table again afterwards."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
from crewscope.query_api.store.clickhouse.exporter_ddl import insert_columns
from crewscope.query_api.store.clickhouse.layout import STAMP, derived_statements
from crewscope.query_api.store.clickhouse.location import parse_store
from tests.helpers.chdb import chdb_client, chdb_url, unique_database


def _task_span(i: int, at: datetime) -> list[object]:
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": f"agent_{i % 2}",
        "crewai.task.name": f"task_{i}",
        "gen_ai.usage.input_tokens": str(10 * i),
    }
    return [
        at, f"{i:032x}", f"{i:016x}", "", "", "invoke_agent", "Internal", f"svc_{i % 3}",
        {"service.name": f"svc_{i % 3}"}, "crewai", "1.0", attributes, 2_000_000, "Ok", "",
        [], [], [], [], [], [], [],
    ]  # fmt: skip


def _insert(database: str, first: int, count: int) -> None:
    at = datetime.now().replace(microsecond=0) - timedelta(hours=3)
    rows = [_task_span(i, at + timedelta(seconds=i)) for i in range(first, first + count)]
    chdb_client().insert(
        "otel_traces", rows, column_names=list(insert_columns("traces_insert.sql")),
        database=database,
    )  # fmt: skip


def _one(sql: str) -> object:
    return chdb_client().query(sql).result_rows[0][0]


def _older_task_rows(database: str) -> None:
    """crewscope_task_rows as the release before the layout stamps made it: sorted by span id,
    no service column, no indexes, no comment (its view too)."""
    client = chdb_client()
    statements = derived_statements(database)
    table = next(
        s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS crewscope_task_rows ")
    )
    view = next(s for s in statements if "crewscope_task_rows_mv TO" in s)
    old_table = re.sub(r",\s*\"ServiceName\".*?\)\s*ENGINE", "\n) ENGINE", table, flags=re.S)
    old_table = re.sub(
        r"ORDER BY \([^)]*\).*", 'ORDER BY ("SpanId", "TraceId")', old_table, flags=re.S
    )
    old_view = re.sub(r',\s*ServiceName AS "ServiceName"', "", view)
    client.command(f"DROP TABLE {database}.crewscope_task_rows_mv")
    client.command(f"DROP TABLE {database}.crewscope_task_rows")
    client.database = database
    client.command(old_table)
    client.command(old_view)
    assert "ServiceName" not in str(
        _one(
            f"SELECT create_table_query FROM system.tables WHERE database = '{database}' AND name = 'crewscope_task_rows'"
        )
    )


def _table(database: str, name: str) -> tuple[str, str]:
    rows = (
        chdb_client()
        .query(
            "SELECT comment, sorting_key FROM system.tables WHERE database = {d:String} "
            "AND name = {n:String}",
            parameters={"d": database, "n": name},
        )
        .result_rows
    )
    return str(rows[0][0]), str(rows[0][1])


def test_an_older_store_opens_rebuilt() -> None:
    database = unique_database("layout")
    store = parse_store(chdb_url(database))
    ClickHouseDatabase(store).close()
    _older_task_rows(database)
    _insert(database, 0, 6)
    executions = f"SELECT sum(Executions) FROM {database}.crewscope_agent_hourly_sums"
    assert _one(executions) == 6
    assert _one(f"SELECT count() FROM {database}.crewscope_task_rows") == 6
    stamped, _ = _table(database, "crewscope_llm_call_rows")
    client = chdb_client()
    client.command(f"ALTER TABLE {database}.crewscope_run_sums MODIFY COMMENT '{STAMP}0'")
    client.command(f"ALTER TABLE {database}.crewscope_tool_call_rows MODIFY COMMENT ''")
    client.command(  # a row the views never wrote: kept unless the table is rebuilt
        f"INSERT INTO {database}.crewscope_tool_call_rows (Timestamp, SpanId, Failed, Duration) "
        "VALUES (now(), 'marker', false, 1)"
    )

    ClickHouseDatabase(store).close()  # opened by this release

    comment, key = _table(database, "crewscope_task_rows")
    assert comment.startswith(STAMP) and key.startswith("Timestamp")
    services = f"SELECT groupArray(DISTINCT ServiceName) FROM {database}.crewscope_task_rows"
    assert sorted(_one(services)) == ["svc_0", "svc_1", "svc_2"]  # rebuilt from the spans
    assert _one(f"SELECT count() FROM {database}.crewscope_task_rows") == 6
    assert _one(executions) == 6  # the hourly sums kept theirs and counted nothing twice
    assert _one(f"SELECT sum(Spans) FROM {database}.crewscope_run_sums") == 6  # rebuilt, once
    assert _table(database, "crewscope_run_sums")[0] != f"{STAMP}0"
    tools = f"SELECT count() FROM {database}.crewscope_tool_call_rows WHERE SpanId = 'marker'"
    assert _one(tools) == 1  # same layout, only stamped
    assert _table(database, "crewscope_tool_call_rows")[0].startswith(STAMP)
    assert _table(database, "crewscope_llm_call_rows")[0] == stamped

    _insert(database, 6, 2)  # the views write into the rebuilt tables again
    assert _one(f"SELECT count() FROM {database}.crewscope_task_rows") == 8
    assert _one(executions) == 8
    assert _one(f"SELECT sum(Spans) FROM {database}.crewscope_run_sums") == 8

    ClickHouseDatabase(store).close()  # of this layout now: nothing rebuilt
    assert _one(f"SELECT count() FROM {database}.crewscope_task_rows") == 8
    assert _one(tools) == 1
