"""The DDL of a ClickHouse cluster that a fleet's Collectors write and crewscope reads.

On one server the exporter's tables and crewscope's derived objects are plain MergeTree
tables (`database.create_schema`). On a cluster every table becomes a pair:

- ``<name>_local``: a ``Replicated*MergeTree`` table created ``ON CLUSTER``, holding each
  shard's part of the data, replicated within the shard;
- ``<name>``: a ``Distributed`` table over the ``_local`` ones, under the name the single
  server uses, so the Collectors insert into it (``create_schema: false``) and every query
  of crewscope reads it unchanged.

Spans and logs are sharded by ``cityHash64(TraceId)``: a run is a trace, so all of a run's
spans land on one shard, and each shard's materialized views (attached to the
``_local`` tables, where inserts arrive) derive complete run, task and per-run rows
there. Reads through ``Distributed`` tables then need two things the queries keep to:
``FINAL`` and the merge of summing/aggregating tables happen per shard, which is right
because each key lives on one shard; and a JOIN or ``IN`` whose right side is itself
distributed runs with ``distributed_product_mode = 'global'`` (the session sets it when
the store names a cluster), so joins across agents, not only within a trace, see every
shard. Metric points are spread at random (no crewscope view joins them across shards).

`cluster_ddl` rewrites the single-server statements instead of keeping a second copy of
them, so the two cannot drift; a statement of a shape it does not know is refused.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crewscope.query_api.store.clickhouse.exporter_ddl import (
    METRIC_TABLE_SUFFIXES,
    cluster_string,
    render_exporter_ddl,
    table_engine,
)
from crewscope.query_api.store.clickhouse.layout import derived_statements
from crewscope.query_api.store.clickhouse.retention import TTL_COLUMNS, ttl_clause

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "LOCAL_SUFFIX",
    "REPLICA_ARGS",
    "cluster_ddl",
    "cluster_objects",
    "derived_statements",
    "missing_objects",
    "single_server_ddl",
]

LOCAL_SUFFIX = "_local"
REPLICA_ARGS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
"""Where each replicated table keeps its replication log (the server's ``{shard}`` and
``{replica}`` macros; ``{database}`` and ``{table}`` are filled in by ClickHouse)."""

_BY_TRACE = "cityHash64(TraceId)"
_WRITTEN_KEYS = {"crewscope_prices": 'cityHash64("Provider", "Model")'}
"""Sharding keys of the derived tables a serve process writes through their Distributed
table (the others are filled by materialized views on each shard's local table): one
model's price rows meet on one shard, where ReplacingMergeTree keeps the newest."""

_CREATE_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\s*\(", re.S)
_ENGINE = re.compile(r"ENGINE\s*=\s*(\w*)MergeTree\b(?:\s*\(([^)]*)\))?")
_CREATE_MV = re.compile(r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\b")
_CREATE_VIEW = re.compile(r"^CREATE OR REPLACE VIEW (\w+) AS\b")
_CREATE_FUNCTION = re.compile(r"^CREATE FUNCTION IF NOT EXISTS (\w+) AS\b")
_CREATE_DICTIONARY = re.compile(r"^CREATE DICTIONARY IF NOT EXISTS (\w+)\s*\(")


def _local(name: str) -> str:
    return name + LOCAL_SUFFIX


def _exporter_tables() -> list[tuple[str, str, str]]:
    """(Distributed name, local name, sharding key) of each exporter table."""
    tables = [
        ("otel_traces", _local("otel_traces"), _BY_TRACE),
        ("otel_logs", _local("otel_logs"), _BY_TRACE),
    ]
    for suffix, _ in METRIC_TABLE_SUFFIXES:  # the exporter appends the suffix to the name
        tables.append(("otel_metrics" + suffix, "otel_metrics" + LOCAL_SUFFIX + suffix, "rand()"))
    return tables


def _distributed(cluster: str, database: str, name: str, local: str, key: str) -> str:
    on = cluster_string(cluster)
    quoted = cluster.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"CREATE TABLE IF NOT EXISTS {name} {on} AS {local} "
        f"ENGINE = Distributed('{quoted}', '{database}', '{local}', {key})"
    )


def _to_local(sql: str, local: dict[str, str]) -> str:
    """`sql` reading the local table of each table in `local` (a materialized view fires on
    inserts into the table it selects from: on a cluster, the shard's local table)."""
    if not local:
        return sql
    names = sorted(local, key=len, reverse=True)
    pattern = re.compile(r'(?<![\w."])("?)(' + "|".join(map(re.escape, names)) + r')\1(?![\w"])')
    return pattern.sub(lambda m: m.group(1) + local[m.group(2)] + m.group(1), sql)


def _replicated_engine(sql: str) -> str:
    def engine(m: re.Match[str]) -> str:
        args = (m.group(2) or "").strip()
        return (
            f"ENGINE = Replicated{m.group(1)}MergeTree({REPLICA_ARGS}{', ' + args if args else ''})"
        )

    out, count = _ENGINE.subn(engine, sql, count=1)
    if count != 1:
        raise ValueError(f"a table without a MergeTree engine: {sql[:80]!r}")
    return out


def _with_ttl(create: str, days: int) -> str:
    """`create` with retention's TTL when the table has one of `TTL_COLUMNS`."""
    columns = set(re.findall(r'^\s*"(\w+)"\s+\S', create, re.M))
    column = next((c for c in TTL_COLUMNS if c in columns), None)
    if not days or column is None:
        return create
    # the TTL comes before the table's settings and comment
    at = min(
        i for i in (create.find("\nSETTINGS "), create.find(" COMMENT '"), len(create)) if i >= 0
    )
    return create[:at] + " " + ttl_clause('"' + column + '"', days) + create[at:]


def _derived_on_cluster(
    sql: str, cluster: str, database: str, sharded: dict[str, str], ttl_days: int = 0
) -> list[str]:
    on = cluster_string(cluster)
    if m := _CREATE_TABLE.match(sql):
        name = m.group(1)
        local = f"CREATE TABLE IF NOT EXISTS {_local(name)} {on} (" + sql[m.end() :]
        local = _with_ttl(local, ttl_days)
        sharded[name] = _local(name)
        return [
            _replicated_engine(local),
            _distributed(cluster, database, name, _local(name), _WRITTEN_KEYS.get(name, "rand()")),
        ]
    if m := _CREATE_MV.match(sql):
        head = (
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {m.group(1)} {on} TO {_local(m.group(2))} AS"
        )
        return [head + _to_local(sql[m.end() :], sharded)]
    if m := _CREATE_VIEW.match(sql):
        return [f"CREATE OR REPLACE VIEW {m.group(1)} {on} AS" + sql[m.end() :]]
    if m := _CREATE_FUNCTION.match(sql):
        return [f"CREATE FUNCTION IF NOT EXISTS {m.group(1)} {on} AS" + sql[m.end() :]]
    if m := _CREATE_DICTIONARY.match(sql):
        return [f"CREATE DICTIONARY IF NOT EXISTS {m.group(1)} {on} (" + sql[m.end() :]]
    raise ValueError(f"no cluster form for this statement: {sql[:80]!r}")


def single_server_ddl(database: str = "otel", *, ttl_days: int = 0) -> list[str]:
    """What `database.create_schema` runs on one server: the exporter's tables (as a
    Collector with ``create_schema: true`` and ``ttl`` makes them), then crewscope's."""
    return [*render_exporter_ddl(database, ttl_days=ttl_days), f"USE {database}",
            *derived_statements(database)]  # fmt: skip


def cluster_ddl(cluster: str, database: str = "otel", *, ttl_days: int = 0) -> list[str]:
    """Every statement that sets up `database` on `cluster`: the exporter's tables as
    replicated ``_local`` tables with ``Distributed`` tables over them, then crewscope's
    derived objects in the same form. Run them once, on any node, before the Collectors
    start (they then run with ``create_schema: false``)."""
    if not cluster:
        raise ValueError("a cluster name is needed")
    engine = table_engine("ReplicatedMergeTree", REPLICA_ARGS)
    out = render_exporter_ddl(
        database,
        cluster=cluster,
        engine=engine,
        ttl_days=ttl_days,
        traces_table=_local("otel_traces"),
        logs_table=_local("otel_logs"),
        metrics_table="otel_metrics" + LOCAL_SUFFIX,
    )
    # Unqualified names below (crewscope's objects) are created in `database`.
    out.insert(1 if out and out[0].startswith("CREATE DATABASE") else 0, f"USE {database}")
    sharded: dict[str, str] = {}
    for name, local, key in _exporter_tables():
        out.append(_distributed(cluster, database, name, local, key))
        sharded[name] = local
    for sql in derived_statements(database):
        out.extend(_derived_on_cluster(sql, cluster, database, sharded, ttl_days))
    return out


_CREATED = re.compile(
    r"^CREATE (?:TABLE|MATERIALIZED VIEW|DICTIONARY|OR REPLACE VIEW) (?:IF NOT EXISTS )?"
    r'(?:[`"]?\w+[`"]?\.)?[`"]?(\w+)[`"]?'
)


def cluster_objects(cluster: str, database: str = "otel") -> set[str]:
    """The names of the tables, views and dictionaries `cluster_ddl` creates."""
    return {m.group(1) for sql in cluster_ddl(cluster, database) if (m := _CREATED.match(sql))}


def missing_objects(client: Client, cluster: str, database: str) -> list[str]:
    """What `cluster_ddl` creates that `database` lacks, or whose tables crewscope reads are
    not Distributed: a serve process on a cluster never creates tables itself (a plain
    table on one node would hide the other shards)."""
    rows = client.query(
        "SELECT name, engine FROM system.tables WHERE database = {db:String}",
        parameters={"db": database},
    ).result_rows
    engines = {str(name): str(engine) for name, engine in rows}
    missing = sorted(cluster_objects(cluster, database) - set(engines))
    if engines.get("otel_traces", "Distributed") != "Distributed":
        missing.append("otel_traces (is not a Distributed table)")
    return missing
