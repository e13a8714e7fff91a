"""The ``crewscope`` command: serve, rollup, cleanup, stats, export, demo."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

try:
    import fastapi  # noqa: F401  (the query API; checked here for the message below)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table
except ImportError as _missing:  # the console script is installed even without the extra
    raise SystemExit(
        f"crewscope: this command needs the server extra ({_missing.name} is not installed): "
        "pip install 'crewscope[server]'"
    ) from None

from crewscope.exporter import CREWSCOPE_DB
from crewscope.query_api.dates import utcnow
from crewscope.query_api.jobs.retention import DEFAULT_RETENTION_DAYS, cleanup
from crewscope.query_api.jobs.rollups import refresh_rollups
from crewscope.query_api.models.common import ExecutionStatus, TimeRange
from crewscope.query_api.queries.export import Dataset, ExportFormat, stream_export
from crewscope.query_api.store.clickhouse.location import CREWSCOPE_STORE, parse_store
from crewscope.query_api.store.database import Database, is_lock_error

DEFAULT_DB = "./crewscope.duckdb"
err = Console(stderr=True)


class CliError(Exception):
    """A failure explained to the user in one line (exit status 2)."""


@contextmanager
def open_db(path: str) -> Iterator[Database]:
    try:
        with err.status(f"Opening {path} …"):
            db = Database(path)
    except Exception as exc:
        if is_lock_error(exc):
            raise CliError(
                f"{path} is open in another process (a running `crewscope serve` or an "
                "instrumented app); stop it, or query that server's API instead"
            ) from exc
        raise CliError(f"cannot open {path}: {exc}") from exc
    try:
        yield db
    finally:
        db.close()


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
    )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from crewscope.exporter.receiver.config import ConfigError
    from crewscope.query_api.access.auth_file import AuthFileError, auth_file_from_env
    from crewscope.query_api.access.tenant_app import tenant_gate
    from crewscope.query_api.access.tenant_stores import TenantStoreError, tenant_stores
    from crewscope.query_api.app import create_app
    from crewscope.query_api.store.errors import StoreSetupError

    store = args.store or os.environ.get(CREWSCOPE_STORE) or args.db
    retention_days = None if args.retention_days <= 0 else args.retention_days
    app: Any
    try:
        auth = auth_file_from_env()
        if auth is None:
            app = create_app(
                store, rollup_interval_s=args.rollup_interval, retention_days=retention_days,
                grpc_address=args.grpc or None,
            )  # fmt: skip
        else:
            app = tenant_gate(
                store, auth, rollup_interval_s=args.rollup_interval,
                retention_days=retention_days, grpc_address=args.grpc or None,
            )  # fmt: skip
            for tenant, where in tenant_stores(store, auth.tenants).items():
                err.print(f"crewscope: tenant {tenant}: {parse_store(where).describe()}")
    except (AuthFileError, TenantStoreError) as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:  # a bad CREWSCOPE_INGEST_* value: one line, as written
        err.print(f"crewscope: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except StoreSetupError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        if is_lock_error(exc):
            raise CliError(f"{args.db} is open in another process; only one may write it") from exc
        raise
    err.print(
        f"crewscope: serving {parse_store(store).describe()} on http://{args.host}:{args.port}"
    )
    err.print(f"crewscope: web UI at http://{args.host}:{args.port}/  (API docs: /docs)")
    err.print(
        f"crewscope: OTLP/HTTP at http://{args.host}:{args.port}/v1/traces"
        + (f", OTLP/gRPC at {args.grpc}" if args.grpc else "")
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


def cmd_clickhouse_schema(args: argparse.Namespace) -> None:
    from crewscope.query_api.store.clickhouse.cluster_ddl import cluster_ddl, single_server_ddl

    if args.cluster:
        sql = cluster_ddl(args.cluster, args.database, ttl_days=args.ttl_days)
    else:
        sql = single_server_ddl(args.database, ttl_days=args.ttl_days)
    sys.stdout.write("".join(f"{statement};\n\n" for statement in sql))


def cmd_rollup(args: argparse.Namespace) -> None:
    since = utcnow().date() - timedelta(days=args.days - 1) if args.days else None
    with open_db(args.db) as db, db.reader() as session, _progress() as progress:
        task = progress.add_task("Refreshing daily rollups", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = refresh_rollups(session, since, progress=report)
    err.print(
        f"rollups: {result.days} day(s) from {result.day_from} to {result.day_to}: "
        f"{result.agent_rows} agent rows, {result.crew_rows} crew rows ({result.seconds:.2f} s)"
    )


def cmd_cleanup(args: argparse.Namespace) -> None:
    if args.days < 0:
        raise CliError("--days must be 0 or more")
    with open_db(args.db) as db, db.reader() as session:
        with err.status("Refreshing rollups and deleting old spans …"):
            result = cleanup(session, db.projections, args.days, dry_run=args.dry_run)
    verb = "would delete" if result.dry_run else "deleted"
    for table, n in result.deleted.items():
        err.print(f"{table}: {verb} {n} row(s) before {result.cutoff.isoformat()} UTC")


def cmd_stats(args: argparse.Namespace) -> None:
    from crewscope.query_api.queries.agents import list_agents
    from crewscope.query_api.queries.dashboard import dashboard

    console = Console()
    with open_db(args.db) as db, db.session() as session:
        data = dashboard(session)
        agents = list_agents(session, TimeRange(args.time_range)).agents
    totals = Table(title="Totals")
    for col in ("period", "runs", "failed runs", "executions", "success %", "tokens", "cost $"):
        totals.add_column(col, justify="right")
    for t in data.totals:
        totals.add_row(
            t.period,
            str(t.runs),
            str(t.failed_runs),
            str(t.executions),
            "-" if t.success_rate is None else f"{t.success_rate:.1f}",
            str(t.input_tokens + t.output_tokens),
            "-" if t.cost_usd is None else f"{t.cost_usd:.4f}",
        )
    console.print(totals)
    table = Table(title=f"Agents ({args.time_range})")
    for col in ("agent", "executions", "success %", "avg ms", "p95 ms", "cost $"):
        table.add_column(col, justify="right")
    for a in agents:
        table.add_row(
            a.agent,
            str(a.total_executions),
            "-" if a.success_rate is None else f"{a.success_rate:.1f}",
            "-" if a.avg_ms is None else f"{a.avg_ms:.0f}",
            "-" if a.p95_ms is None else f"{a.p95_ms:.0f}",
            "-" if a.cost_usd is None else f"{a.cost_usd:.4f}",
        )
    console.print(table)


def cmd_export(args: argparse.Namespace) -> None:
    from crewscope.query_api.queries.executions import Started
    from crewscope.query_api.queries.export import export_filters

    dataset, fmt = Dataset(args.dataset), ExportFormat(args.format)
    status = ExecutionStatus(args.status) if args.status else None
    started = Started(status, args.start_from, args.start_to)
    where = export_filters(dataset, args.crew, args.agent, started)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        with open_db(args.db) as db, db.session() as session, _progress() as progress:
            task = progress.add_task(f"Exporting {dataset.value}", total=None)
            for chunk in stream_export(session, dataset, fmt, where):
                out.write(chunk)
                progress.advance(task, chunk.count("\n"))
    finally:
        if out is not sys.stdout:
            out.close()


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {value!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crewscope", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db_default = os.environ.get(CREWSCOPE_DB) or DEFAULT_DB

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        if name not in ("demo", "clickhouse-schema"):
            p.add_argument("--db", default=db_default, help=f"DuckDB file (default {db_default})")
        return p

    p = add("serve", "Run the query API and web UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS,
                   help="delete spans older than this many days, hourly (0 = keep all)")  # fmt: skip
    p.add_argument("--rollup-interval", type=float, default=60.0, help="seconds between rollups")
    p.add_argument("--log-level", default="info")
    p.add_argument("--grpc", default="127.0.0.1:4317", metavar="HOST:PORT",
                   help="OTLP/gRPC receiver address ('' = off); OTLP/HTTP is always on "
                   "at /v1/traces on the HTTP port")  # fmt: skip
    p.add_argument("--store", default=None, metavar="URL",
                   help="where the data is, instead of --db: clickhouse://USER:PASSWORD@HOST:8123/DATABASE "
                   "(a ClickHouse server, e.g. the one a fleet's Collectors write) or chdb:///PATH "
                   "(ClickHouse embedded in this process); env CREWSCOPE_STORE")  # fmt: skip
    p.set_defaults(fn=cmd_serve)

    p = add("rollup", "Refresh the daily rollups (idempotent)")
    p.add_argument("--days", type=int, default=0, help="only the last N days (default: all)")
    p.set_defaults(fn=cmd_rollup)

    p = add("cleanup", "Delete spans and metrics older than N days (rollups are kept)")
    p.add_argument("--days", type=int, default=DEFAULT_RETENTION_DAYS)
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    p.set_defaults(fn=cmd_cleanup)

    p = add("stats", "Print totals and per-agent statistics")
    p.add_argument("--time-range", choices=[t.value for t in TimeRange], default="7d")
    p.set_defaults(fn=cmd_stats)

    p = add("export", "Export runs, tasks or rollups as CSV or JSON")
    p.add_argument("dataset", choices=[d.value for d in Dataset])
    p.add_argument("--format", choices=[f.value for f in ExportFormat], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: stdout)")
    p.add_argument("--crew")
    p.add_argument("--agent")
    p.add_argument("--status", choices=[s.value for s in ExecutionStatus])
    p.add_argument("--from", dest="start_from", type=_iso, help="started at or after")
    p.add_argument("--to", dest="start_to", type=_iso, help="started at or before")
    p.set_defaults(fn=cmd_export)

    p = add("clickhouse-schema", "Print the ClickHouse tables and views crewscope reads, as SQL")
    p.add_argument("--cluster", metavar="NAME",
                   help="replicated tables with Distributed tables over them, ON CLUSTER NAME "
                   "(without it: the tables of one server)")  # fmt: skip
    p.add_argument("--database", default="otel", help="database (default otel)")
    p.add_argument("--ttl-days", type=int, default=0,
                   help="drop spans, logs and metric points after N days (0 = keep)")  # fmt: skip
    p.set_defaults(fn=cmd_clickhouse_schema)

    add("demo", "Run the demo crews (options: crewscope demo --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        # The demo is a program of its own (it instruments and runs crews): hand it the
        # rest of the command line as it is.
        return subprocess.call([sys.executable, "-m", "crewscope.demo", *argv[1:]])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.fn(args)
    except CliError as exc:
        err.print(f"[red]crewscope: {exc}[/red]")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
