"""Where the live feed's new rows come from: one cursor strategy per engine (`cursor_for`).

A cursor answers one question per poll, "which span, process and log rows landed since
last time?", and nothing else; `feed.LiveFeed` turns the rows into messages.

- DuckDB (`RowidCursor`): one process owns the file and appended rows get increasing
  rowids, a snapshot always seeing a rowid prefix, so ``rowid BETWEEN watermark AND
  max(rowid)`` is exactly what is new (`store.rowids`). Nothing is read while no client
  listens: the watermarks just move to the end.
- ClickHouse (`ArrivalCursor`): any number of writers (stock Collectors, serve processes)
  insert, and there is no rowid. Materialized views (clickhouse/sql/schema_live.sql) copy
  what the feed needs into small tables stamped with the server's arrival time
  (``Arrived``) and a random row key (``Row``). The cursor is the newest arrival seen; as
  concurrent inserts may become visible out of order, every poll re-reads a lag window
  behind it (and, by the server's clock, no older than the window), and skips the rows it
  has seen already, remembering only the keys that are still inside the window. A row
  that becomes visible more than `lag_s` after its arrival is missed. Nothing is read
  while no client listens (each poll is three queries of the embedded engine, which would
  hold its one lock a fifth of the time at four polls a second); before the first client
  after none is added, `resume` reads the window once to learn its keys, so that client
  gets exactly what lands from then on, as on DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.store.handle import DatabaseHandle as Database
from crewscope.query_api.store.query import Query, Where, named
from crewscope.query_api.store.rowids import last_rowid, newest_rowid
from crewscope.query_api.store.session import Row, Session

MAX_ROWS_PER_POLL = 5_000  # per table, on DuckDB
MAX_LIVE_BODY = 4096  # characters of a log record's body in a live message
DEFAULT_LAG_S = 2.0

LIVE_SPANS = named("reads/live_spans")
LIVE_LOGS = named("reads/live_logs")


@dataclass
class NewRows:
    """What landed since the last poll: rows of live_spans, process points, live_logs."""

    spans: list[Row] = field(default_factory=list)
    process: list[Row] = field(default_factory=list)
    logs: list[Row] = field(default_factory=list)


class Cursor(Protocol):
    def read(self, db: Database, want_rows: bool) -> NewRows:
        """The rows that landed since the last call (read only when `want_rows`, if the
        strategy can skip them); the first call only finds the end."""
        ...

    def resume(self, db: Database) -> None:
        """Before the first client after none: from now on, what lands is new."""
        ...


# --- DuckDB: rowid watermarks ----------------------------------------------------------

TABLES = {
    "spans": "otel_traces", "sum": "otel_metrics_sum", "gauge": "otel_metrics_gauge",
    "logs": "otel_logs",
}  # fmt: skip
PROCESS_POINTS = named("reads/process_points")
NEW_SUMS = Where().add("rowid BETWEEN $lo_sum AND $hi_sum AND \"MetricName\" LIKE 'process.%'")
NEW_GAUGES = Where().add(
    "rowid BETWEEN $lo_gauge AND $hi_gauge AND \"MetricName\" LIKE 'process.%'"
)


class RowidCursor:
    """DuckDB: the next rowid to read, per table."""

    def __init__(self) -> None:
        self._marks: dict[str, int] | None = None

    def read(self, db: Database, want_rows: bool) -> NewRows:
        with db.reader() as s:
            return self._read(s, want_rows)

    def resume(self, db: Database) -> None:
        """Nothing to do: idle polls move the watermarks to the end."""

    def _read(self, s: Session, want_rows: bool) -> NewRows:
        if self._marks is None:  # start at the end: the feed shows what lands from now
            self._marks = {k: last_rowid(s, table) + 1 for k, table in TABLES.items()}
        his: dict[str, int | None] = {}
        for key, table in TABLES.items():
            newest = newest_rowid(s, table, self._marks[key])
            if newest is None and last_rowid(s, table) < self._marks[key] - 1:
                # rowids were renumbered (retention + checkpoint): restart at the end
                self._marks[key] = last_rowid(s, table) + 1
            his[key] = newest
        out = NewRows()
        lo = dict(self._marks)
        hi = {
            k: min(v, lo[k] + MAX_ROWS_PER_POLL - 1) if v is not None else lo[k] - 1
            for k, v in his.items()
        }
        if want_rows and hi["spans"] >= lo["spans"]:
            out.spans = s.rows(LIVE_SPANS, {"lo": lo["spans"], "hi": hi["spans"]})
        if want_rows and hi["logs"] >= lo["logs"]:
            out.logs = s.rows(
                LIVE_LOGS, {"lo": lo["logs"], "hi": hi["logs"], "max_body": MAX_LIVE_BODY}
            )
        if want_rows and (hi["sum"] >= lo["sum"] or hi["gauge"] >= lo["gauge"]):
            out.process = s.rows(
                PROCESS_POINTS,
                {"lo_sum": lo["sum"], "hi_sum": hi["sum"],
                 "lo_gauge": lo["gauge"], "hi_gauge": hi["gauge"]},
                sum_where=NEW_SUMS,
                gauge_where=NEW_GAUGES,
            )  # fmt: skip
        for k in hi:
            self._marks[k] = max(self._marks[k], hi[k] + 1)
        return out


# --- ClickHouse: arrival time, a lag window, and the keys seen in it ---------------------


class _Window:
    """One live table read by arrival: the cursor and the keys seen within its window."""

    def __init__(self, query: Query, lag_ns: int, **params: object) -> None:
        self.query = query
        self.lag_ns = lag_ns
        self.params = params
        self.last: dict[str, object] = {}  # the parameters of the last read
        self.cursor_ns: int | None = None  # newest arrival seen; None before the first read
        self.seen: dict[int, int] = {}  # row key -> its arrival (ns), inside the window

    def restart(self) -> None:
        """Forget the cursor and the keys: the next read finds the end again."""
        self.cursor_ns = None
        self.seen = {}

    def read(self, s: Session) -> list[Row]:
        """The rows not seen before (none on the first read: it finds the end)."""
        started = self.cursor_ns is not None
        lo = max((self.cursor_ns or 0) - self.lag_ns, 0)
        fresh: list[Row] = []
        newest = self.cursor_ns or 0
        self.last = {"lo": lo, "lag_ns": self.lag_ns, **self.params}
        for r in s.rows(self.query, self.last):
            key, arrived = int(r["rid"]), int(r["arrived_ns"])
            if key in self.seen:
                continue
            self.seen[key] = arrived
            newest = max(newest, arrived)
            if started:
                fresh.append(r)
        self.cursor_ns = newest
        if fresh or not started:
            floor = newest - self.lag_ns
            self.seen = {k: a for k, a in self.seen.items() if a >= floor}
        return fresh


def _latest_points(rows: list[Row]) -> list[Row]:
    """One point per (service, pid, time, metric, sub): the exporter keeps whole seconds,
    so points of one series sent several times a second share a time; the last to arrive
    stands for its second (as one DuckDB sample would), keeping sums over cpu modes right."""
    latest: dict[tuple[Any, ...], Row] = {}
    for r in rows:  # in arrival order
        latest[(r["service"], r["pid"], r["t_ns"], r["metric"], r["sub"])] = r
    return list(latest.values())


class ArrivalCursor:
    """ClickHouse: arrival-time cursors over schema_live.sql's tables."""

    def __init__(self, lag_s: float = DEFAULT_LAG_S) -> None:
        # imported here: the ClickHouse client is an optional dependency
        from crewscope.query_api.store.clickhouse.queries import clickhouse_query

        lag_ns = int(lag_s * 1e9)
        self.spans = _Window(LIVE_SPANS, lag_ns)
        self.logs = _Window(LIVE_LOGS, lag_ns, max_body=MAX_LIVE_BODY)
        # ClickHouse only (DuckDB reads reads/process_points by rowid)
        self.process = _Window(clickhouse_query("reads/live_process_points"), lag_ns)
        self._priced: set[tuple[Any, Any]] = set()  # (provider, model) priced by the feed
        self._current = False  # the windows' keys are those of the last poll

    def resume(self, db: Database) -> None:
        """Read the windows afresh (finding their end, publishing nothing)."""
        for window in (self.spans, self.logs, self.process):
            window.restart()
        with db.reader() as s:
            for window in (self.spans, self.logs, self.process):
                window.read(s)
        self._current = True

    def read(self, db: Database, want_rows: bool) -> NewRows:
        if not want_rows:  # no client: nothing is read, the keys go stale (module doc)
            self._current = False
            return NewRows()
        if not self._current:  # a client came without `resume`: find the end first
            self.resume(db)
            return NewRows()
        with db.reader() as s:
            spans, logs = self.spans.read(s), self.logs.read(s)
            process = _latest_points(self.process.read(s))
            self._price(db, s, spans)
        return NewRows(spans, process, logs)

    def _price(self, db: Database, s: Session, spans: list[Row]) -> None:
        """Cost of the LLM calls of a model seen for the first time: ClickHouse prices at
        read time from the models the query processes have priced (`PriceSync`, at most
        every few seconds), so price it now, once per model, and read the costs again."""
        new = {
            (r["ProviderName"], r["Model"])
            for r in spans
            if r["CostUsd"] is None and r["Model"] is not None
            and r["GenAiOperation"] in LLM_OPERATIONS
        } - self._priced  # fmt: skip
        if not new:
            return
        self._priced |= new
        db.projections.rebuild(s)  # PriceSync: price the unpriced models now
        costs = {int(r["rid"]): r["CostUsd"] for r in s.rows(self.spans.query, self.spans.last)}
        for r in spans:
            r["CostUsd"] = costs.get(int(r["rid"]), r["CostUsd"])

    def remembered(self) -> int:
        """How many row keys the windows hold (bounded by what arrived within the lag)."""
        return len(self.spans.seen) + len(self.logs.seen) + len(self.process.seen)


def cursor_for(engine: str) -> Cursor:
    """The cursor strategy of a database engine (``db.engine``)."""
    if engine == "duckdb":
        return RowidCursor()
    return ArrivalCursor()
