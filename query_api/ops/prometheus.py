"""What ``GET /metrics`` serves in Prometheus text format: `ServerCollector`.

`crewscope.query_api.ops.server_telemetry.ServerTelemetry.install(app, ...)` instruments the
FastAPI app with
``opentelemetry-instrumentation-fastapi`` using providers of its own (never the global ones,
so tests and an ``opentelemetry-instrument``-ed process do not clash):

* a ``MeterProvider`` whose only reader is the OTel ``PrometheusMetricReader``, registered in
  a private ``CollectorRegistry`` (not ``prometheus_client.REGISTRY``: every app has its own);
  ``/metrics`` renders that registry. It holds the HTTP server metrics of the
  instrumentation (``http_server_duration_milliseconds`` ..., per route and status) and the
  collectors below.
* a ``TracerProvider`` whose spans (one server span per request) go into this server's own
  store through the receiver's ingest queue: a bounded buffer, flushed by a background
  thread every 0.5 s into ``queue.submit``, so a request never waits for it. The OTLP ingest
  routes (``/v1/traces``, ``/v1/metrics``), ``/metrics`` scrapes and the live WebSocket are
  never traced (their HTTP metrics are still recorded). ``/endpoints`` then shows crewscope.

Collected at scrape time (``crewscope_*`` are the server's own state, the rest is computed
from the stored spans, cached ``cache_ttl_s``):

==========================================  =======  ========================================
``crewscope_ingest_spans_accepted_total``    counter  items queued by the receiver (spans and
                                                      metric points; see ``..._by_signal``)
``crewscope_ingest_accepted_total{signal}``  counter  the same, per signal (traces / metrics)
``crewscope_ingest_spans_written_total``     counter  committed to DuckDB
``crewscope_ingest_spans_rejected_total``    counter  invalid items (partial success)
``crewscope_ingest_spans_refused_total``     counter  refused, queue full (503 + Retry-After)
``crewscope_ingest_requests_refused_total``  counter  requests refused, queue full
``crewscope_ingest_batches_written_total``   counter  commits
``crewscope_ingest_write_errors_total``      counter  failed commits
``crewscope_ingest_queue_depth`` / ``_capacity``  gauge
``crewscope_queue_depth{queue}`` / ``crewscope_queue_capacity{queue}`` /
``crewscope_queue_dropped_total{queue}``              every queue in the health registry
``crewscope_self_spans_dropped_total``       counter  own HTTP spans lost (buffer/queue full)
``crewscope_live_clients``                   gauge    WebSocket subscribers
``crewscope_live_messages_dropped_total``    counter  live messages dropped for slow clients
``agent_execution_total{agent,status}``      counter  status success / error
``agent_execution_errors_total{agent,error_type}``    failed executions
``agent_execution_duration_seconds{agent}``  histogram AGENT_DURATION_BUCKETS
``agent_success_rate{agent}``                gauge    0..1 over the last 24 h
``crewscope_runs_total{kind,name,status}``  counter  top-level runs (as the dashboard counts)
``crewscope_llm_calls_total{model}`` / ``crewscope_llm_tokens_total{model,type}`` /
``crewscope_llm_cost_usd_total{model}``               from LLM-call spans
``crewscope_app_telemetry_lost{service,signal,stage,reason}``  gauge  what apps lost before
                                                      sending it, last 24 h (the SDK's own
                                                      metrics; ``GET /system/health`` too)
==========================================  =======  ========================================

The counters computed from the stored spans (``agent_execution_total``,
``agent_execution_errors_total``, the ``agent_execution_duration_seconds`` buckets, count and
sum, ``crewscope_llm_*_total``) never decrease while the server runs, even when retention
deletes old spans: `MonotonicCounters` remembers, per series, the last value reported and an
offset; when a recomputed value is lower than the last one (spans were deleted), the
difference is added to that series' offset, so the value served is recomputed + offset and
``rate()``/``increase()`` stay right. A series whose spans are all gone keeps its last value;
histogram buckets stay cumulative (each >= the one below). Executions stored between two
recomputations (``cache_ttl_s``) in which retention deleted at least as many of the same
series are not counted (the counter only stays level). The offsets live in the server
process: a restart starts the counters again from what is stored, which Prometheus handles as
an ordinary counter reset.

Mapping to the instrumentation's own OTel metrics, which an instrumented app exposes itself
with ``OTEL_METRICS_EXPORTER=prometheus`` (names as the OTel Prometheus exporter writes them;
labels are the attribute names with dots turned into underscores):

* ``agent_execution_total{agent,status}`` = ``crewscope_agent_executions_total
  {gen_ai_agent_name, crewscope_execution_status}`` (status values are the same)
* ``agent_execution_errors_total{agent,error_type}`` = ``crewscope_agent_errors_total
  {gen_ai_agent_name, error_type}``
* ``agent_execution_duration_seconds{agent}`` = ``crewscope_agent_execution_duration_seconds
  {gen_ai_agent_name}`` (same buckets)
* ``agent_success_rate{agent}`` = ``sum by (gen_ai_agent_name) (rate(
  crewscope_agent_executions_total{crewscope_execution_status="success"}[1h])) / sum by
  (gen_ai_agent_name) (rate(crewscope_agent_executions_total[1h]))``
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from crewscope.exporter.operations import LLM_OPERATIONS
from crewscope.query_api.dates import utcnow, window
from crewscope.query_api.ops.self_telemetry import (
    QueueSpanProcessor,
)
from crewscope.query_api.store.query import named

if TYPE_CHECKING:
    from crewscope.exporter.receiver.otlp_receiver import OtlpReceiver
    from crewscope.query_api.live.feed import LiveFeed
    from crewscope.query_api.ops.health import HealthRegistry
    from crewscope.query_api.store.handle import DatabaseHandle as Database

logger = logging.getLogger(__name__)

# Same buckets as the instrumentation's crewscope.agent.execution.duration histogram.
AGENT_DURATION_BUCKETS: tuple[float, ...] = (
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
)  # fmt: skip
SUCCESS_RATE_DAYS = 1


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


SeriesKey = tuple[str, ...]
"""A series: the sample name, then its label values."""


class MonotonicCounters:
    """Counters recomputed from stored data, kept from ever going down (see the module doc).

    ``value(key, recomputed)`` returns ``recomputed + offset[key]``, raising the offset
    first if that would be below the last value returned for `key`. Not thread-safe: the
    collector calls it under its lock.
    """

    def __init__(self) -> None:
        self._last: dict[SeriesKey, float] = {}
        self._offset: dict[SeriesKey, float] = {}

    def value(self, key: SeriesKey, recomputed: float, *, at_least: float = 0.0) -> float:
        """The value to expose for `key`, >= every earlier one and >= `at_least` (used to
        keep histogram buckets cumulative)."""
        offset = self._offset.get(key, 0.0)
        value = recomputed + offset
        floor = max(self._last.get(key, 0.0), at_least)
        if value < floor:
            offset += floor - value
            self._offset[key] = offset
            value = floor
        self._last[key] = value
        return value

    def known(self, name: str) -> set[SeriesKey]:
        """Label values of every series of `name` reported so far."""
        return {key[1:] for key in self._last if key[0] == name}


class ServerCollector:
    """prometheus_client collector: ingest, queues, live feed, and data-derived metrics."""

    def __init__(
        self,
        db: Database,
        receiver: OtlpReceiver,
        health: HealthRegistry | None = None,
        live: LiveFeed | None = None,
        spans: QueueSpanProcessor | None = None,
        cache_ttl_s: float = 5.0,
    ) -> None:
        self.db, self.receiver, self.health, self.live, self.spans = (
            db,
            receiver,
            health,
            live,
            spans,
        )
        self.cache_ttl_s = cache_ttl_s
        self._cache: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()
        self._counters = MonotonicCounters()

    def describe(self) -> list[Metric]:
        return []  # names are dynamic; never checked against other collectors

    def collect(self) -> Iterable[Metric]:
        yield from self._ingest()
        yield from self._queues()
        if self.spans is not None:
            yield _counter(
                "crewscope_self_spans_dropped",
                "crewscope's own HTTP server spans not stored (buffer or ingest queue full)",
                self.spans.dropped,
            )
        if self.live is not None:
            yield _gauge("crewscope_live_clients", "live feed subscribers", len(self.live.clients))
            yield _counter(
                "crewscope_live_messages_dropped",
                "live feed messages dropped for clients reading too slowly",
                self.live.stats.messages_dropped,
            )
        yield from self._from_data()

    def _ingest(self) -> Iterable[Metric]:
        s = self.receiver.queue.stats
        q = self.receiver.queue
        items = "(spans and metric data points)"
        yield _counter("crewscope_ingest_spans_accepted", f"items queued {items}", s.spans_accepted)
        by_signal = CounterMetricFamily(
            "crewscope_ingest_accepted", "items queued, per OTLP signal", labels=["signal"]
        )
        for signal, n in sorted(dict(s.by_signal).items()):
            by_signal.add_metric([signal], n)
        yield by_signal
        yield _counter(
            "crewscope_ingest_spans_written", f"items committed {items}", s.spans_written
        )
        yield _counter(
            "crewscope_ingest_spans_rejected", f"invalid items {items}", s.spans_rejected_invalid
        )
        yield _counter(
            "crewscope_ingest_spans_refused", f"items refused, queue full {items}",
            s.spans_refused_full,
        )  # fmt: skip
        yield _counter(
            "crewscope_ingest_requests_refused", "requests refused, queue full",
            s.requests_refused_full,
        )  # fmt: skip
        reads = self.receiver.reads
        if reads is not None:
            yield _counter(
                "crewscope_ingest_writes_yielded",
                "commits that waited for queries in progress while ingest was shedding load",
                reads.waits,
            )
            yield _counter(
                "crewscope_ingest_yielded_seconds",
                "time commits waited for queries",
                reads.waited_s,
            )
        yield _counter("crewscope_ingest_batches_written", "commits", s.batches_written)
        yield _counter("crewscope_ingest_write_errors", "failed commits", s.write_errors)
        yield _gauge("crewscope_ingest_queue_depth", "items waiting to be written", q.depth)
        yield _gauge("crewscope_ingest_queue_capacity", "queue capacity", q.max_queued_spans)

    def _queues(self) -> Iterable[Metric]:
        if self.health is None:
            return
        depth = GaugeMetricFamily("crewscope_queue_depth", "queued items", labels=["queue"])
        cap = GaugeMetricFamily("crewscope_queue_capacity", "queue capacity", labels=["queue"])
        dropped = CounterMetricFamily(
            "crewscope_queue_dropped", "items dropped by an exporter/ingest queue", labels=["queue"]
        )
        for status in self.health.statuses():
            m = status.metrics
            if "depth" not in m:
                continue
            depth.add_metric([status.name], float(m.get("depth") or 0))
            cap.add_metric([status.name], float(m.get("capacity") or 0))
            dropped.add_metric([status.name], float(m.get("dropped") or 0))
        yield from (depth, cap, dropped)

    def _from_data(self) -> list[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] > self.cache_ttl_s:
                try:
                    self._cache = (now, self._compute())
                except Exception:
                    logger.warning("crewscope: data metrics failed", exc_info=True)
                    return []
            return self._cache[1]

    def _compute(self) -> list[Metric]:
        bounds = list(AGENT_DURATION_BUCKETS)
        with self.db.reader() as s:
            execs = s.tuples(named("reads/prom_agent_executions"), {"bounds": bounds})
            start, end = window(SUCCESS_RATE_DAYS)
            rates = s.tuples(
                named("reads/agent_success_rate"), {"start": start, "end": end, "crew": None}
            )
            llm = s.tuples(named("reads/prom_llm_usage"), {"llm_ops": list(LLM_OPERATIONS)})
            run_rows = s.tuples(named("reads/prom_runs"))
            loss_end = utcnow()
            losses = s.tuples(
                named("reads/telemetry_losses"),
                {"start": loss_end - timedelta(days=1), "end": loss_end},
            )
        total = CounterMetricFamily(
            "agent_execution", "task executions per agent, from stored spans",
            labels=["agent", "status"],
        )  # fmt: skip
        errors = CounterMetricFamily(
            "agent_execution_errors", "failed task executions per agent and error type",
            labels=["agent", "error_type"],
        )  # fmt: skip
        duration = HistogramMetricFamily(
            "agent_execution_duration_seconds", "task execution duration per agent",
            labels=["agent"],
        )  # fmt: skip
        counts: dict[SeriesKey, float] = {}
        errs: dict[SeriesKey, float] = {}
        hist: dict[str, list[int]] = {}
        sums: dict[str, float] = {}
        for agent, failed, error_type, bucket, n, seconds in execs:
            key = (agent, "error" if failed else "success")
            counts[key] = counts.get(key, 0) + n
            if failed:
                ek = (agent, error_type or "_OTHER")
                errs[ek] = errs.get(ek, 0) + n
            hist.setdefault(agent, [0] * (len(bounds) + 1))[bucket] += n
            sums[agent] = sums.get(agent, 0.0) + float(seconds or 0.0)
        self._add_counters(total, counts)
        self._add_counters(errors, errs)
        les = [*map(_le, bounds), "+Inf"]
        bucket_name = f"{duration.name}_bucket"
        agents = set(hist) | {key[0] for key in self._counters.known(bucket_name)}
        for agent in sorted(agents):
            per_bucket = hist.get(agent, [0] * len(les))
            cumulative, exposed, buckets = 0, 0.0, []
            for bound, n in zip(les, per_bucket, strict=True):
                cumulative += n
                exposed = self._counters.value((bucket_name, agent, bound), cumulative,
                                               at_least=exposed)  # fmt: skip
                buckets.append((bound, exposed))
            sum_value = self._counters.value((f"{duration.name}_sum", agent), sums.get(agent, 0.0))
            duration.add_metric([agent], buckets, sum_value=sum_value)
        rate = GaugeMetricFamily(
            "agent_success_rate",
            f"share of successful task executions per agent, 0..1, last {SUCCESS_RATE_DAYS * 24} h",
            labels=["agent"],
        )
        for agent, _n, _ok, _failed, ratio, _last in rates:
            rate.add_metric([agent], float(ratio))
        calls = CounterMetricFamily("crewscope_llm_calls", "LLM calls per model", labels=["model"])
        tokens = CounterMetricFamily(
            "crewscope_llm_tokens", "LLM tokens per model and type", labels=["model", "type"]
        )
        cost = CounterMetricFamily(
            "crewscope_llm_cost_usd", "LLM cost (USD, known prices) per model", labels=["model"]
        )
        per_model: dict[SeriesKey, float] = {}
        per_token: dict[SeriesKey, float] = {}
        per_cost: dict[SeriesKey, float] = {}
        for model, n, inp, out, usd in llm:
            per_model[(model,)] = n
            per_token[(model, "input")] = inp
            per_token[(model, "output")] = out
            per_cost[(model,)] = float(usd)
        self._add_counters(calls, per_model)
        self._add_counters(tokens, per_token)
        self._add_counters(cost, per_cost)
        runs = CounterMetricFamily(
            "crewscope_runs", "top-level runs (flow, crew or agent kickoffs) by outcome",
            labels=["kind", "name", "status"],
        )  # fmt: skip
        self._add_counters(runs, {(kind, name, st): n for kind, name, st, n in run_rows})
        lost = GaugeMetricFamily(
            "crewscope_app_telemetry_lost",
            "items apps lost before sending them in the last 24 h, as their OpenTelemetry SDK "
            "counts them (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED)",
            labels=["service", "signal", "stage", "reason"],
        )
        for service, signal, stage, reason, n, _last in losses:
            lost.add_metric([service or "", signal, stage, reason or ""], float(n))
        return [total, errors, duration, rate, calls, tokens, cost, runs, lost]

    def _add_counters(self, family: CounterMetricFamily, values: dict[SeriesKey, float]) -> None:
        """One sample per series, recomputed now or reported before, never below the last."""
        name = f"{family.name}_total"
        for labels in sorted(set(values) | self._counters.known(name)):
            family.add_metric(
                list(labels), self._counters.value((name, *labels), values.get(labels, 0))
            )


def _le(bound: float) -> str:
    return repr(float(bound))
