"""The Collector ``clickhouseexporter``'s own DDL: vendored verbatim, rendered as its Go code
renders it, and accepted by the real ClickHouse engine (embedded, chDB).

The module comes from the Go module proxy through ``scripts/clickhouse_exporter_module.sh``
(``go mod download`` into the per-machine Go module cache); those tests skip only when no
Go toolchain is installed.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crewscope.query_api.store.clickhouse import exporter_ddl
from crewscope.query_api.store.clickhouse.exporter_ddl import (
    EXPORTER_TABLES,
    EXPORTER_VERSION,
    TEMPLATE_FILES,
    generate_ttl_expr,
    insert_columns,
    render_exporter_ddl,
    table_engine,
)
from crewscope.query_api.store.clickhouse.go_format import go_quote, go_sprintf, render_go_template
from tests.helpers.chdb import chdb_client, unique_database

REPO = Path(__file__).resolve().parents[4]
MODULE_SCRIPT = REPO / "scripts" / "clickhouse_exporter_module.sh"
VENDORED = REPO / "query_api" / "store" / "clickhouse" / "vendor" / "exporter_tables"
GO_RENDERER = Path(__file__).with_name("exporter_render_test.go")

REPLICATED = "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"

# What exporter_traces.go appends for each column of traces_insert.sql (the Go value's
# ClickHouse type): time.Time, hex strings, pdata enums as strings, attribute maps,
# Duration as uint64 nanoseconds, events and links as arrays of the Nested columns.
TRACES_INSERT_TYPES = {
    "Timestamp": "DateTime64(9)",
    "TraceId": "String",
    "SpanId": "String",
    "ParentSpanId": "String",
    "TraceState": "String",
    "SpanName": "LowCardinality(String)",
    "SpanKind": "LowCardinality(String)",
    "ServiceName": "LowCardinality(String)",
    "ResourceAttributes": "Map(LowCardinality(String), String)",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "SpanAttributes": "Map(LowCardinality(String), String)",
    "Duration": "UInt64",
    "StatusCode": "LowCardinality(String)",
    "StatusMessage": "String",
    "Events.Timestamp": "Array(DateTime64(9))",
    "Events.Name": "Array(LowCardinality(String))",
    "Events.Attributes": "Array(Map(LowCardinality(String), String))",
    "Links.TraceId": "Array(String)",
    "Links.SpanId": "Array(String)",
    "Links.TraceState": "Array(String)",
    "Links.Attributes": "Array(Map(LowCardinality(String), String))",
}


# --- the Go module -------------------------------------------------------------------


def _find_go() -> str | None:
    return shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")


def _go_env() -> dict[str, str]:
    """The caller's environment with the account's real HOME (tests/conftest.py points HOME
    at a throwaway directory; Go's module and build caches live under the real one)."""
    env = dict(os.environ)
    env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    go = _find_go()
    if go is not None:
        env["PATH"] = os.pathsep.join([str(Path(go).parent), env.get("PATH", "")])
    return env


@pytest.fixture(scope="session")
def exporter_module_dir() -> Path:
    """The clickhouseexporter module at the manifest's version, in the Go module cache."""
    if _find_go() is None:
        pytest.skip("no Go toolchain: cannot fetch the clickhouseexporter module")
    proc = subprocess.run(
        [str(MODULE_SCRIPT)], capture_output=True, text=True, env=_go_env(), timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    module = Path(proc.stdout.strip().splitlines()[-1])
    assert module.name == f"clickhouseexporter@{EXPORTER_VERSION}"
    return module


def test_pinned_version_is_the_manifests() -> None:
    proc = subprocess.run(
        [str(MODULE_SCRIPT), "--version"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == EXPORTER_VERSION
    assert EXPORTER_VERSION in (VENDORED / "README.md").read_text()


def test_vendored_templates_are_byte_identical(exporter_module_dir: Path) -> None:
    templates = exporter_module_dir / "internal" / "sqltemplates"
    for name in TEMPLATE_FILES:
        assert (VENDORED / name).read_bytes() == (templates / name).read_bytes(), name
    assert (VENDORED / "LICENSE").read_bytes() == (exporter_module_dir / "LICENSE").read_bytes()
    vendored = {p.name for p in VENDORED.glob("*.sql")}
    assert vendored == set(TEMPLATE_FILES)
    # The templates rendered here are the ones the exporter embeds for these statements.
    embed = (templates / "embed.go").read_text()
    for name, variable in [
        ("traces_table.sql", "TracesCreateTable"),
        ("traces_id_ts_lookup_table.sql", "TracesCreateTsTable"),
        ("traces_id_ts_lookup_mv.sql", "TracesCreateTsView"),
        ("logs_table.sql", "LogsCreateTable"),
        ("metrics_gauge_table.sql", "MetricsGaugeCreateTable"),
        ("metrics_sum_table.sql", "MetricsSumCreateTable"),
        ("metrics_histogram_table.sql", "MetricsHistogramCreateTable"),
        ("metrics_exp_histogram_table.sql", "MetricsExpHistogramCreateTable"),
        ("metrics_summary_table.sql", "MetricsSummaryCreateTable"),
    ]:
        assert f"//go:embed {name}\nvar {variable} string" in embed, name


# Each case: the exporter's settings, and the same as render_exporter_ddl arguments.
GO_CASES: list[dict[str, Any]] = [
    {"name": "defaults", "database": "otel", "server_major": 25, "server_minor": 8},
    {"name": "defaults_new_server", "database": "otel", "server_major": 26, "server_minor": 9},
    {
        "name": "cluster",
        "database": "otel",
        "cluster": "crewscope",
        "engine_name": "ReplicatedMergeTree",
        "engine_params": "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'",
        "ttl_nanos": 7 * 24 * 3600 * 10**9,
        "server_major": 26,
        "server_minor": 2,
    },
    {"name": "ttl_hours", "database": "otel", "ttl_nanos": 36 * 3600 * 10**9},
    {"name": "ttl_minutes", "database": "otel", "ttl_nanos": 90 * 60 * 10**9},
    {"name": "ttl_seconds", "database": "otel", "ttl_nanos": 1_500_000_000},
    {"name": "default_database", "database": "default", "engine_params": "ignored"},
    {
        "name": "odd_names",
        "database": 'crew"scope\\é\tx\u00ad',
        "cluster": "a`b",
        "engine_name": "SharedMergeTree",
        "traces_table": "spans`1",
        "logs_table": "log`s",
        "metrics_table": "m",
    },
]


def _python_render(case: dict[str, Any]) -> list[str]:
    return render_exporter_ddl(
        case["database"],
        cluster=case.get("cluster"),
        engine=table_engine(case.get("engine_name", ""), case.get("engine_params", "")),
        ttl=timedelta(microseconds=case.get("ttl_nanos", 0) // 1000),
        full_text_search=(case.get("server_major", 0), case.get("server_minor", 0)) >= (26, 2),
        traces_table=case.get("traces_table", "otel_traces"),
        logs_table=case.get("logs_table", "otel_logs"),
        metrics_table=case.get("metrics_table", "otel_metrics"),
    )


@pytest.fixture(scope="session")
def go_rendered(
    exporter_module_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """The statements the exporter's own Go code renders for `GO_CASES` (see
    exporter_render_test.go), from a writable copy of the module."""
    work = tmp_path_factory.mktemp("clickhouseexporter")
    module = work / "module"
    shutil.copytree(exporter_module_dir, module)
    for path in [module, *module.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    for test in module.glob("*_test.go"):
        test.unlink()
    shutil.copy(GO_RENDERER, module / GO_RENDERER.name)
    env = _go_env()
    # The module's go.mod points its contrib siblings at ../..; use their published
    # versions instead (go -mod=mod records their checksums in the copy's go.sum).
    edit = subprocess.run(
        ["go", "mod", "edit", "-json"], cwd=module, env=env, capture_output=True, text=True
    )
    assert edit.returncode == 0, edit.stderr
    for replace in json.loads(edit.stdout).get("Replace") or []:
        drop = f"-dropreplace={replace['Old']['Path']}"
        subprocess.run(["go", "mod", "edit", drop], cwd=module, env=env, check=True)
    cases, out = work / "cases.json", work / "out.json"
    cases.write_text(json.dumps(GO_CASES))
    env.update(
        CGO_ENABLED="0",
        GOFLAGS="-mod=mod -modcacherw -buildvcs=false",
        CREWSCOPE_RENDER_CASES=str(cases),
        CREWSCOPE_RENDER_OUT=str(out),
    )
    proc = subprocess.run(
        ["go", "test", "-count=1", "-run", "^TestCrewscopeRenderDDL$", "."],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rendered: dict[str, list[str]] = json.loads(out.read_text())
    return rendered


# The first case pays for `go test` (module downloads and compiling on a cold machine).
@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", GO_CASES, ids=[c["name"] for c in GO_CASES])
def test_rendering_matches_the_exporters_go_code(
    go_rendered: dict[str, list[str]], case: dict[str, Any]
) -> None:
    go = go_rendered[case["name"]]
    ours = _python_render(case)
    # Database, traces (3) and logs in order; the metric tables in Go map order.
    assert ours[:-5] == go[:-5]
    assert sorted(ours[-5:]) == sorted(go[-5:])


# --- the embedded engine ---------------------------------------------------------------


@pytest.fixture
def database() -> Iterator[str]:
    name = unique_database("exporter_ddl")
    yield name
    chdb_client().command(f"DROP DATABASE IF EXISTS {name}")


def _tables(database: str) -> dict[str, str]:
    rows = (
        chdb_client()
        .query(
            "SELECT name, engine_full FROM system.tables WHERE database = {db:String}",
            parameters={"db": database},
        )
        .result_rows
    )
    return {str(name): str(engine) for name, engine in rows}


@pytest.mark.parametrize("full_text_search", [False, True], ids=["bloom_filter", "text_index"])
def test_default_ddl_creates_every_table(database: str, full_text_search: bool) -> None:
    client = chdb_client()
    statements = render_exporter_ddl(database, full_text_search=full_text_search)
    assert statements[0] == f'CREATE DATABASE IF NOT EXISTS "{database}" '
    for statement in statements:
        client.command(statement)
    assert set(_tables(database)) == set(EXPORTER_TABLES)

    columns = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} "
        "AND table = 'otel_traces' ORDER BY position",
        parameters={"db": database},
    ).result_rows
    written = insert_columns("traces_insert.sql")
    assert list(written) == list(TRACES_INSERT_TYPES)
    assert [(name, TRACES_INSERT_TYPES[name]) for name in written] == columns

    logs = {
        name
        for (name,) in client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'otel_logs'",
            parameters={"db": database},
        ).result_rows
    }
    # The exporter adds EventName to its insert when the table has the column.
    assert {*insert_columns("logs_insert.sql"), "EventName"} <= logs


def test_a_span_written_like_the_exporter_reaches_the_lookup_view(database: str) -> None:
    client = chdb_client()
    for statement in render_exporter_ddl(database, signals=("traces",)):
        client.command(statement)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    row = [
        now, "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "", "Crew Created",
        "Internal", "crewai-app", {"service.name": "crewai-app"}, "crewai.telemetry", "1.0",
        {"crewai.crew.id": "c1"}, 1_500_000, "Ok", "", [now], ["started"], [{"k": "v"}],
        [], [], [], [],
    ]  # fmt: skip
    client.insert(
        "otel_traces", [row], column_names=list(insert_columns("traces_insert.sql")),
        database=database,
    )  # fmt: skip
    lookup = client.query(
        f"SELECT TraceId, Start <= End FROM {database}.otel_traces_trace_id_ts"
    ).result_rows
    assert lookup == [("5b8efff798038103d269b633813fc60c", True)]
    assert client.query(
        f"SELECT Duration, Events.Name, SpanAttributes['crewai.crew.id'] FROM {database}.otel_traces"
    ).result_rows == [(1_500_000, ["started"], "c1")]


def test_cluster_ddl_has_on_cluster_and_parses() -> None:
    client = chdb_client()
    statements = render_exporter_ddl(
        "otel_cluster", cluster="crewscope", engine=REPLICATED, ttl_days=7
    )
    assert statements[0] == 'CREATE DATABASE IF NOT EXISTS "otel_cluster" ON CLUSTER `crewscope`'
    assert len(statements) == 1 + len(EXPORTER_TABLES)
    for statement in statements:
        assert "ON CLUSTER `crewscope`" in statement
        # Parsed (not executed: there is no cluster) by the embedded engine.
        ast = client.query(f"EXPLAIN AST {statement}").result_rows
        assert ast and str(ast[0][0]).startswith("CreateQuery otel_cluster")
        formatted = str(
            client.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows[
                0
            ][0]
        )
        assert "ON CLUSTER crewscope" in formatted
        if "MATERIALIZED VIEW" not in statement and "DATABASE" not in statement:
            assert f"ENGINE = {REPLICATED}" in formatted


def test_ttl_of_seven_days(database: str) -> None:
    statements = render_exporter_ddl(database, ttl_days=7)
    by_table = {_created(s): s for s in statements[1:]}
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in by_table["otel_traces"]
    assert "TTL toDateTime(Start) + toIntervalDay(7)" in by_table["otel_traces_trace_id_ts"]
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in by_table["otel_logs"]
    for suffix, _ in exporter_ddl.METRIC_TABLE_SUFFIXES:
        assert "TTL toDateTime(TimeUnix) + toIntervalDay(7)" in by_table[f"otel_metrics{suffix}"]
    assert "TTL" not in by_table["otel_traces_trace_id_ts_mv"]
    assert not any("TTL" in s for s in render_exporter_ddl(database))

    client = chdb_client()
    for statement in statements:
        client.command(statement)
    engines = _tables(database)
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in engines["otel_traces"]
    assert "TTL toDateTime(TimeUnix) + toIntervalDay(7)" in engines["otel_metrics_sum"]


def _created(statement: str) -> str:
    match = re.match(
        r'CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS "[^"]*"\."([^"]*)"', statement
    )
    match = match or re.match(r"CREATE TABLE IF NOT EXISTS `[^`]*`\.`([^`]*)`", statement)
    assert match, statement[:80]
    return match.group(1)


# --- the Go emulation, without Go ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "expr"),
    [
        (timedelta(0), ""),
        (timedelta(seconds=-5), ""),
        (timedelta(days=7), "TTL t + toIntervalDay(7)"),
        (timedelta(hours=36), "TTL t + toIntervalHour(36)"),
        (timedelta(minutes=90), "TTL t + toIntervalMinute(90)"),
        (timedelta(seconds=45), "TTL t + toIntervalSecond(45)"),
        (timedelta(milliseconds=1500), "TTL t + toIntervalSecond(1)"),
        (timedelta(milliseconds=500), "TTL t + toIntervalSecond(0)"),
    ],
)
def test_generate_ttl_expr(ttl: timedelta, expr: str) -> None:
    assert generate_ttl_expr(ttl, "t") == expr


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("otel", '"otel"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\n\t\a\x00\x7f", '"\\n\\t\\a\\x00\\x7f"'),
        ("é😀", '"é😀"'),
        ("\u00ad\u2028\U000e0001", '"\\u00ad\\u2028\\U000e0001"'),
    ],
)
def test_go_quote(value: str, quoted: str) -> None:
    assert go_quote(value) == quoted


def test_go_sprintf_rejects_what_go_would_misrender() -> None:
    assert go_sprintf("%q.%s 100%%", "a", "b") == '"a".b 100%'
    with pytest.raises(ValueError, match="missing"):
        go_sprintf("%s %s", "a")
    with pytest.raises(ValueError, match="extra"):
        go_sprintf("%s", "a", "b")
    with pytest.raises(ValueError, match="verb"):
        go_sprintf("%d", "1")


def test_render_go_template() -> None:
    template = "A {{ident .T}}\n{{- if .F}}\nyes{{.X}}\n{{- else}}\nno\n{{- end}} -{{- .X -}}  B"
    assert render_go_template(template, {"T": "a`b", "F": True, "X": "x"}) == "A `a\\`b`\nyesx -xB"
    assert render_go_template(template, {"T": "t", "F": False, "X": ""}) == "A `t`\nno -B"
    with pytest.raises(ValueError, match="unsupported"):
        render_go_template("{{range .X}}{{end}}", {"X": "1"})
    with pytest.raises(ValueError, match="no value"):
        render_go_template("{{.Y}}", {})


def test_render_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="not both"):
        render_exporter_ddl(ttl_days=1, ttl=timedelta(hours=1))
    with pytest.raises(ValueError, match="unknown signal"):
        render_exporter_ddl(signals=("profiles",))  # type: ignore[arg-type]
    assert table_engine() == "MergeTree()"
    assert table_engine("", "ignored") == "MergeTree()"
    assert table_engine("ReplacingMergeTree", "ver") == "ReplacingMergeTree(ver)"
    only_traces = render_exporter_ddl("default", signals=("traces",))
    assert len(only_traces) == 3 and not any("DATABASE" in s for s in only_traces)
