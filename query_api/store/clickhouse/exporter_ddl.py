"""The DDL of the OpenTelemetry Collector ``clickhouseexporter``, rendered as the exporter does.

crewscope reads the very tables a stock Collector's ``clickhouseexporter`` creates
(``create_schema: true``). The exporter's SQL templates are vendored verbatim in
``vendor/exporter_tables/`` (module
``github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter``
at `EXPORTER_VERSION`, the version ``scripts/ocb-manifest.yaml`` builds; Apache-2.0,
see ``vendor/exporter_tables/LICENSE``), and `render_exporter_ddl` fills them in exactly like
the exporter's Go code:

- ``exporter_traces.go``: ``otel_traces`` (``fmt.Sprintf`` with ``%q`` for database and
  table), ``otel_traces_trace_id_ts`` and its materialized view ``otel_traces_trace_id_ts_mv``
  (``"%s"``, no escaping), TTL on ``toDateTime(Timestamp)`` / ``toDateTime(Start)``;
- ``exporter_logs.go``: ``otel_logs`` through ``text/template`` (identifiers in backticks
  by the template's ``ident`` function); the exporter picks the ``text()`` index variant
  when the server is ClickHouse 26.2 or newer (`full_text_search`), bloom filters before;
- ``internal/metrics/metrics_model.go``: ``otel_metrics_gauge`` / ``_sum`` / ``_histogram`` /
  ``_exponential_histogram`` / ``_summary`` (``"%s"``), TTL on ``toDateTime(TimeUnix)``;
- ``internal/clickhouse.go``: ``CREATE DATABASE IF NOT EXISTS %q %s`` first (skipped for
  ``default``, which always exists) and ``GenerateTTLExpr``;
- ``config.go``: the ``ON CLUSTER `name``` string and the engine string ``Name(Params)``
  (`table_engine`; ``MergeTree()`` by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from importlib import resources
from typing import Literal

from crewscope.query_api.store.clickhouse.go_format import (
    TEMPLATE_ACTION,
    go_sprintf,
    render_go_template,
)

__all__ = [
    "DEFAULT_DATABASE",
    "EXPORTER_MODULE",
    "EXPORTER_TABLES",
    "EXPORTER_VERSION",
    "METRIC_TABLE_SUFFIXES",
    "TEMPLATE_FILES",
    "Signal",
    "cluster_string",
    "generate_ttl_expr",
    "insert_columns",
    "read_template",
    "render_exporter_ddl",
    "table_engine",
]

EXPORTER_MODULE = (
    "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
)
EXPORTER_VERSION = "v0.161.0"

DEFAULT_DATABASE = "default"  # internal.DefaultDatabase: never created by the exporter

Signal = Literal["traces", "logs", "metrics"]

# Metric type -> (table name suffix, template), in the order rendered here (the exporter
# ranges over a Go map, so its own order varies from run to run).
METRIC_TABLE_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_gauge", "metrics_gauge_table.sql"),
    ("_sum", "metrics_sum_table.sql"),
    ("_histogram", "metrics_histogram_table.sql"),
    ("_exponential_histogram", "metrics_exp_histogram_table.sql"),
    ("_summary", "metrics_summary_table.sql"),
)

# Every template vendored in vendor/exporter_tables/ (byte-identical to the module's).
TEMPLATE_FILES: tuple[str, ...] = (
    "traces_table.sql",
    "traces_id_ts_lookup_table.sql",
    "traces_id_ts_lookup_mv.sql",
    "traces_insert.sql",
    "logs_table.sql",
    "logs_insert.sql",
    *(template for _, template in METRIC_TABLE_SUFFIXES),
    "metrics_gauge_insert.sql",
    "metrics_sum_insert.sql",
    "metrics_histogram_insert.sql",
    "metrics_exp_histogram_insert.sql",
    "metrics_summary_insert.sql",
)

# The tables (and the one view) the exporter creates with its default names.
EXPORTER_TABLES: tuple[str, ...] = (
    "otel_traces",
    "otel_traces_trace_id_ts",
    "otel_traces_trace_id_ts_mv",
    "otel_logs",
    *(f"otel_metrics{suffix}" for suffix, _ in METRIC_TABLE_SUFFIXES),
)


def read_template(name: str) -> str:
    """The text of one vendored template (``vendor/exporter_tables/<name>``)."""
    if name not in TEMPLATE_FILES:
        raise ValueError(f"not a vendored clickhouseexporter template: {name!r}")
    package = __name__.rpartition(".")[0]
    return (
        resources.files(package)
        .joinpath("vendor", "exporter_tables", name)
        .read_text(encoding="utf-8")
    )


# --- config.go and internal/clickhouse.go -------------------------------------------


def table_engine(name: str = "", params: str = "") -> str:
    """``Config.tableEngineString``: ``table_engine.name`` / ``.params`` -> ``Name(Params)``;
    no name means ``MergeTree()`` (params are then ignored)."""
    if not name:
        return "MergeTree()"
    return f"{name}({params})"


def cluster_string(cluster: str | None) -> str:
    """``Config.clusterString``: ``ON CLUSTER `name``` (backticks doubled), or empty."""
    if not cluster:
        return ""
    return "ON CLUSTER `{}`".format(cluster.replace("`", "``"))


_NANOS_PER_MICRO = 1_000
_NANOS_PER_SECOND = 1_000_000_000
_NANOS_PER_MINUTE = 60 * _NANOS_PER_SECOND
_NANOS_PER_HOUR = 60 * _NANOS_PER_MINUTE
_NANOS_PER_DAY = 24 * _NANOS_PER_HOUR


def generate_ttl_expr(ttl: timedelta, time_field: str) -> str:
    """``internal.GenerateTTLExpr``: the coarsest whole unit (day, hour, minute, else
    seconds, truncated) of a positive TTL; empty for none."""
    nanos = (ttl // timedelta(microseconds=1)) * _NANOS_PER_MICRO
    if nanos <= 0:
        return ""
    if nanos % _NANOS_PER_DAY == 0:
        return f"TTL {time_field} + toIntervalDay({nanos // _NANOS_PER_DAY})"
    if nanos % _NANOS_PER_HOUR == 0:
        return f"TTL {time_field} + toIntervalHour({nanos // _NANOS_PER_HOUR})"
    if nanos % _NANOS_PER_MINUTE == 0:
        return f"TTL {time_field} + toIntervalMinute({nanos // _NANOS_PER_MINUTE})"
    return f"TTL {time_field} + toIntervalSecond({nanos // _NANOS_PER_SECOND})"


# --- the statements ------------------------------------------------------------------


def render_exporter_ddl(
    database: str = "otel",
    *,
    cluster: str | None = None,
    engine: str = "MergeTree()",
    ttl_days: int = 0,
    ttl: timedelta | None = None,
    signals: Iterable[Signal] = ("traces", "logs", "metrics"),
    full_text_search: bool = False,
    traces_table: str = "otel_traces",
    logs_table: str = "otel_logs",
    metrics_table: str = "otel_metrics",
) -> list[str]:
    """The statements a ``clickhouseexporter`` (`EXPORTER_VERSION`) with ``create_schema: true``
    runs, in an order that can be executed one by one.

    ``database``, ``cluster`` (``cluster_name``), ``engine`` (see `table_engine`), the TTL
    (``ttl_days`` or, for the exporter's other units, ``ttl``), the table names
    (``traces_table_name``, ``logs_table_name``, ``metrics_table_name`` whose suffixes name
    the five metric tables) mean what the exporter's settings of those names mean.
    ``full_text_search`` selects the logs table's ``text()`` indexes, which the exporter
    uses on ClickHouse 26.2 and newer. ``CREATE DATABASE`` comes first unless the database
    is ``default``.
    """
    if ttl is not None and ttl_days:
        raise ValueError("give ttl_days or ttl, not both")
    if ttl_days < 0:
        raise ValueError("ttl_days must not be negative")
    wanted = set(signals)
    unknown = wanted - {"traces", "logs", "metrics"}
    if unknown:
        raise ValueError(f"unknown signal(s): {sorted(unknown)}")
    if not database:
        database = DEFAULT_DATABASE
    duration = ttl if ttl is not None else timedelta(days=ttl_days)
    on_cluster = cluster_string(cluster)

    statements: list[str] = []
    if database != DEFAULT_DATABASE:
        statements.append(go_sprintf("CREATE DATABASE IF NOT EXISTS %q %s", database, on_cluster))
    if "traces" in wanted:
        statements.append(
            go_sprintf(
                read_template("traces_table.sql"),
                database,
                traces_table,
                on_cluster,
                engine,
                generate_ttl_expr(duration, "toDateTime(Timestamp)"),
            )
        )
        statements.append(
            go_sprintf(
                read_template("traces_id_ts_lookup_table.sql"),
                database,
                traces_table,
                on_cluster,
                engine,
                generate_ttl_expr(duration, "toDateTime(Start)"),
            )
        )
        statements.append(
            go_sprintf(
                read_template("traces_id_ts_lookup_mv.sql"),
                database,
                traces_table,
                on_cluster,
                database,
                traces_table,
                database,
                traces_table,
            )
        )
    if "logs" in wanted:
        statements.append(
            render_go_template(
                read_template("logs_table.sql"),
                {
                    "Database": database,
                    "TableName": logs_table,
                    "ClusterString": on_cluster,
                    "Engine": engine,
                    "TTL": generate_ttl_expr(duration, "toDateTime(Timestamp)"),
                    "HasFullTextSearch": full_text_search,
                },
            )
        )
    if "metrics" in wanted:
        metrics_ttl = generate_ttl_expr(duration, "toDateTime(TimeUnix)")
        for suffix, template in METRIC_TABLE_SUFFIXES:
            statements.append(
                go_sprintf(
                    read_template(template),
                    database,
                    metrics_table + suffix,
                    on_cluster,
                    engine,
                    metrics_ttl,
                )
            )
    return statements


def insert_columns(template: str) -> tuple[str, ...]:
    """The columns an ``*_insert.sql`` template lists, in order (template actions such as
    the logs insert's ``{{.FeatureColumnNames}}``, which adds ``EventName`` when the table
    has it, are left out)."""
    text = read_template(template)
    head = text.partition("(")[2].partition(") VALUES")[0]
    columns = (part.strip() for part in TEMPLATE_ACTION.sub("", head).split(","))
    return tuple(column for column in columns if column)
