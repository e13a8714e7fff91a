"""``GET /metrics``: the counters computed from stored spans never go down, not even when
retention deletes the spans they counted."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from prometheus_client.parser import text_string_to_metric_families

from crewscope.query_api.dates import utcnow
from crewscope.query_api.jobs.retention import cleanup
from tests.helpers.served import Served
from tests.helpers.spans import TaskSpec, build_run

# Every counter computed from the stored spans, by the family name the parser reports.
FROM_SPANS = (
    "agent_execution",
    "agent_execution_errors",
    "agent_execution_duration_seconds",
    "crewscope_llm_calls",
    "crewscope_llm_tokens",
    "crewscope_llm_cost_usd",
)
Sample = tuple[str, tuple[tuple[str, str], ...]]


def _runs(rng: random.Random, days_ago: Sequence[int], *, model: str) -> list[ReadableSpan]:
    now = utcnow()
    spans: list[ReadableSpan] = []
    for i, days in enumerate(days_ago):
        tasks = [
            TaskSpec("Keeper", "keep", 150.0 + 400 * i, model=model),
            TaskSpec("Breaker", "break", 2500.0 * (i + 1), failed=i % 2 == 0, model=model),
        ]
        spans += build_run(rng, "counted_crew", now - timedelta(days=days), tasks).spans
    return spans


def _send(served: Served, spans: Sequence[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{served.url}/v1/traces")
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def _scrape(served: Served) -> dict[Sample, float]:
    text = httpx.get(f"{served.url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name in FROM_SPANS
        for s in family.samples
        if not s.name.endswith("_created")
    }


def _assert_buckets_cumulative(samples: dict[Sample, float]) -> None:
    per_agent: dict[str, list[tuple[float, float]]] = {}
    for (name, labels), value in samples.items():
        if name == "agent_execution_duration_seconds_bucket":
            d = dict(labels)
            per_agent.setdefault(d["agent"], []).append((float(d["le"]), value))
    assert per_agent
    for agent, buckets in per_agent.items():
        values = [v for _le, v in sorted(buckets)]
        assert values == sorted(values), agent
        count = samples[("agent_execution_duration_seconds_count", (("agent", agent),))]
        assert values[-1] == count


def test_counters_from_spans_never_decrease_across_retention(
    make_served: Callable[..., Served],
) -> None:
    served = make_served()
    served.app.state.telemetry.collector.cache_ttl_s = 0  # recompute on every scrape
    rng = random.Random(7)
    _send(served, _runs(rng, (60, 45, 40), model="old-model") + _runs(rng, (3, 1), model="gpt-4o"))
    before = _scrape(served)
    assert before[("agent_execution_total", (("agent", "Keeper"), ("status", "success")))] == 5
    assert ("crewscope_llm_calls_total", (("model", "old-model"),)) in before
    _assert_buckets_cumulative(before)

    db = served.app.state.db
    with db.reader() as s:
        deleted = cleanup(s, db.projections, 30).deleted["otel_traces"]
    assert deleted > 0
    after = _scrape(served)
    lower = {k: (v, after.get(k)) for k, v in before.items() if not after.get(k, -1.0) >= v}
    assert not lower, f"counters went down after retention: {lower}"
    _assert_buckets_cumulative(after)

    # still counting: new executions add to the kept values
    _send(served, _runs(rng, (0,), model="gpt-4o"))
    later = _scrape(served)
    assert all(later[k] >= v for k, v in after.items())
    key = ("agent_execution_total", (("agent", "Keeper"), ("status", "success")))
    assert later[key] == after[key] + 1 == 6
    calls = ("crewscope_llm_calls_total", (("model", "gpt-4o"),))
    assert later[calls] > after[calls]
    _assert_buckets_cumulative(later)
