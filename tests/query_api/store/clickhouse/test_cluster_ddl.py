"""The cluster DDL (``crewscope clickhouse-schema --cluster``): parsed by the embedded
engine (there is no cluster to run it on), checked for the layout the query layer relies
on, and compared with the single-server schema it is rewritten from."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from crewscope.query_api.store.clickhouse.cluster_ddl import (
    LOCAL_SUFFIX,
    cluster_ddl,
    cluster_objects,
    single_server_ddl,
)
from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase, StoreSetupError
from crewscope.query_api.store.clickhouse.location import StoreLocation, parse_store
from tests.helpers.chdb import chdb_client, chdb_dir, unique_database

CLUSTER = "fleet"
DDL = cluster_ddl(CLUSTER, "otel", ttl_days=30)
_NAME = r'(?:[`"]?\w+[`"]?\.)?[`"]?(\w+)[`"]?'


def _parsed(statement: str) -> str:
    """`statement` as the embedded engine parses and formats it (a syntax error raises)."""
    rows = chdb_client().query("SELECT formatQuery({q:String})", parameters={"q": statement})
    return str(rows.result_rows[0][0])


@pytest.mark.parametrize("index", range(len(DDL)))
def test_every_statement_parses_on_cluster(index: int) -> None:
    statement = DDL[index]
    if statement.startswith("USE "):
        assert statement == "USE otel"
        return
    formatted = _parsed(statement)
    assert f"ON CLUSTER {CLUSTER}" in formatted


def test_tables_are_replicated_with_distributed_tables_over_them() -> None:
    local, distributed = {}, {}
    for statement in DDL:
        if m := re.match(
            rf"CREATE TABLE IF NOT EXISTS {_NAME} ON CLUSTER `fleet` AS (\w+) ", statement
        ):
            assert "ENGINE = Distributed('fleet', 'otel', " in statement
            distributed[m.group(1)] = m.group(2)
        elif m := re.match(rf"CREATE TABLE IF NOT EXISTS {_NAME} ON CLUSTER", statement):
            engine = re.search(r"ENGINE = (\w+)\(", statement)
            assert engine and engine.group(1).startswith("Replicated"), statement[:200]
            assert "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" in statement
            local[m.group(1)] = statement
    # Every table the queries read exists under its single-server name as a Distributed
    # table over a local one; the only local tables without one are the exporter's
    # trace-id lookup, which crewscope does not read.
    assert set(distributed.values()) <= set(local)
    assert set(local) - set(distributed.values()) == {"otel_traces_local_trace_id_ts"}
    for name in ("otel_traces", "otel_logs", "crewscope_run_rows", "crewscope_run_sums"):
        assert name in distributed
    spans = next(s for s in DDL if s.startswith("CREATE TABLE IF NOT EXISTS otel_traces "))
    assert spans.endswith("cityHash64(TraceId))")  # a run's spans on one shard
    # TTLs go on the local tables, where the data is.
    assert "TTL toDateTime(Timestamp) + toIntervalDay(30)" in local["otel_traces_local"]


def test_materialized_views_read_and_fill_local_tables() -> None:
    distributed_names = {
        m.group(1)
        for s in DDL
        if (m := re.match(rf"CREATE TABLE IF NOT EXISTS {_NAME} ON CLUSTER `fleet` AS ", s))
    }
    views = [s for s in DDL if s.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) >= 7
    for view in views:
        target = re.search(r"\bTO " + _NAME, view)
        assert target and LOCAL_SUFFIX in target.group(1), view[:200]
        for source in re.findall(r"\b(?:FROM|JOIN)\s+" + _NAME, view):
            # An insert into a shard's local table fires the view; a view reading a
            # Distributed table would never fire (inserts do not go through it there).
            assert source not in distributed_names, (source, view[:200])


def test_the_cluster_has_every_object_of_one_server() -> None:
    single = {
        m.group(1)
        for s in single_server_ddl("otel")
        if (
            m := re.match(
                rf"CREATE (?:TABLE|MATERIALIZED VIEW|DICTIONARY|OR REPLACE VIEW) (?:IF NOT EXISTS )?{_NAME}",
                s,
            )
        )
    }
    on_cluster = cluster_objects(CLUSTER, "otel")
    # The exporter's lookup table and its view take the local table's name on a cluster.
    renamed = {"otel_traces_trace_id_ts", "otel_traces_trace_id_ts_mv"}
    assert single - renamed <= on_cluster
    assert {f"otel_traces{LOCAL_SUFFIX}_trace_id_ts"} <= on_cluster


def test_single_server_ddl_runs() -> None:
    client = chdb_client()
    database = unique_database("single")
    for statement in single_server_ddl(database):
        if statement.startswith("USE "):
            client.database = database
            continue
        client.command(statement)
    tables = {r[0] for r in client.query(
        "SELECT name FROM system.tables WHERE database = {d:String}", parameters={"d": database}
    ).result_rows}  # fmt: skip
    assert {"otel_traces", "crewscope_run_rows", "crewscope_prices_dict"} <= tables


def test_unknown_statement_shapes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from crewscope.query_api.store.clickhouse import cluster_ddl as module

    monkeypatch.setattr(
        module, "derived_statements", lambda db: ["ALTER TABLE x ADD COLUMN y Int8"]
    )
    with pytest.raises(ValueError, match="no cluster form"):
        module.cluster_ddl(CLUSTER)


def test_serve_on_a_cluster_never_creates_tables() -> None:
    database = unique_database("nocluster")
    location = StoreLocation("chdb", path=chdb_dir(), database=database, cluster=CLUSTER)
    with pytest.raises(StoreSetupError, match="clickhouse-schema --cluster fleet"):
        ClickHouseDatabase(location)
    tables = (
        chdb_client()
        .query(
            "SELECT count() FROM system.tables WHERE database = {d:String}",
            parameters={"d": database},
        )
        .result_rows
    )
    assert tables == [(0,)]


def test_store_url_names_the_cluster() -> None:
    location = parse_store("clickhouse://u:pw@ch.internal:8123/otel?cluster=fleet")
    assert location.cluster == "fleet" and location.database == "otel"
    assert location.describe() == "clickhouse://u@ch.internal:8123/otel?cluster=fleet"


def test_cli_prints_the_statements() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crewscope.query_api.cli", "clickhouse-schema", "--cluster",
         CLUSTER, "--ttl-days", "30"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    expected = cluster_ddl(CLUSTER, "otel", ttl_days=30)
    assert [s.strip() for s in out.split(";\n\n") if s.strip()] == [s.strip() for s in expected]
