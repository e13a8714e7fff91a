"""Exporter ingest: DuckDBSpanExporter vs a raw DuckDB Arrow insert of the same prepared rows.

    .venv/bin/python bench/bench_exporter.py [--spans 50000] [--batches 512,8192]

For each batch size, paired and interleaved: each round (1) converts one batch of SDK
`ReadableSpan`s to Arrow (conversion only), (2) exports it through `DuckDBSpanExporter`
(conversion + insert + commit, the real hot path) and (3) inserts the already-converted
Arrow table through the same `SpanStore.append` into a second file of the same schema
(insert + commit: the physical limit of this storage layout). Medians per span. DuckDB runs
with its defaults (the exporter sets none): commit per batch, WAL, automatic checkpoint at
`checkpoint_threshold`. The spans look like crew runs (workflow, steps, priced chat calls,
tool calls, an exception event) with realistic attributes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import duckdb
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from crewscope.exporter import DuckDBSpanExporter, SpanStore
from crewscope.exporter.span_exporter import spans_to_table

TARGET_SPANS_S = 100_000
TARGET_RATIO = 0.5


def make_spans(n: int) -> list[ReadableSpan]:
    """`n` finished SDK spans shaped like crew runs."""
    mem = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    tp.add_span_processor(SimpleSpanProcessor(mem))
    tr = tp.get_tracer("crewscope.instrumentation", "0.1.0")
    common = {"crewai.crew.name": "research crew", "crewai.task.name": "write report",
              "gen_ai.agent.name": "Senior Researcher"}  # fmt: skip
    while len(mem.get_finished_spans()) < n:
        with tr.start_as_current_span("invoke_workflow research crew", attributes={
            "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "research crew",
            "crewai.crew.name": "research crew", "crewai.crew.id": "4f1c2d",
            "crewai.crew.process": "sequential", "crewai.crew.input_keys": ("topic", "year"),
            "gen_ai.usage.input_tokens": 4000, "gen_ai.usage.output_tokens": 900}):  # fmt: skip
            for step in range(4):
                with tr.start_as_current_span("step Senior Researcher", attributes={
                        **common, "crewai.step.index": step + 1,
                        "crewai.step.type": "tool_call"}):  # fmt: skip
                    with tr.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT,
                                                  attributes={
                            **common, "gen_ai.operation.name": "chat",
                            "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                            "gen_ai.usage.input_tokens": 1000 + step,
                            "gen_ai.usage.output_tokens": 200}):  # fmt: skip
                        pass
                    with tr.start_as_current_span("execute_tool search", attributes={
                            **common, "gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": "search", "gen_ai.tool.type": "function",
                            "gen_ai.tool.call.id": "call_abc",
                            "crewai.tool.from_cache": False}) as s:  # fmt: skip
                        if step == 3:
                            s.record_exception(ValueError("boom"))
    return list(mem.get_finished_spans()[:n])


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def run_size(batch: list[ReadableSpan], total: int, tmp: str) -> dict[str, Any]:
    size = len(batch)
    table, _ = spans_to_table(batch)
    rounds = max(3, total // size)
    exp = DuckDBSpanExporter(os.path.join(tmp, f"exporter_{size}.duckdb"))
    store = SpanStore(os.path.join(tmp, f"raw_{size}.duckdb"))
    exp.export(batch[:1]), store.append(table.slice(0, 1))  # open files, warm caches
    conv, expo, raw = [], [], []
    for _ in range(rounds):
        conv.append(timed(lambda: spans_to_table(batch)))
        expo.append(timed(lambda: exp.export(batch)))
        raw.append(timed(lambda: store.append(table)))
    exp.shutdown(), store.close()
    assert exp.stats.spans_written == rounds * size + 1, exp.stats

    def us(xs: list[tuple[float, float]], i: int) -> float:  # median µs per span
        return statistics.median(x[i] for x in xs) / size * 1e6

    return {
        "batch": size, "rounds": rounds,
        "conv_us": us(conv, 0), "conv_cpu_us": us(conv, 1),
        "export_us": us(expo, 0), "export_cpu_us": us(expo, 1),
        "raw_us": us(raw, 0), "raw_cpu_us": us(raw, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=50_000, help="spans per batch size")
    p.add_argument("--batches", default="512,8192")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.batches.split(",")]
    spans = make_spans(max(sizes))
    tmp = tempfile.mkdtemp(prefix="crewscope_bench_exporter_")
    try:
        results = [run_size(spans[:size], args.spans, tmp) for size in sizes]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    con = duckdb.connect()
    threshold = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    print(f"duckdb {duckdb.__version__}: checkpoint_threshold {threshold[0]} (default), "
          f"threads {threads[0]}, WAL, one commit per batch; medians per span")  # fmt: skip
    print(f"{'batch':>6s} {'':32s} {'wall µs':>8s} {'cpu µs':>8s} {'spans/s':>10s}")
    for r in results:
        for label, key in (("conversion only", "conv"), ("exporter: convert+insert+commit",
                           "export"), ("raw Arrow insert+commit", "raw")):  # fmt: skip
            print(f"{r['batch']:6d} {label:32s} {r[key + '_us']:8.2f} {r[key + '_cpu_us']:8.2f} "
                  f"{1e6 / r[key + '_us']:10,.0f}")  # fmt: skip
        ratio = r["raw_us"] / r["export_us"]
        rate = 1e6 / r["export_us"]
        print(f"{r['batch']:6d} exporter/raw throughput {ratio:.2f} "
              f"(target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'}); "
              f"exporter {rate:,.0f} spans/s (target >= {TARGET_SPANS_S:,}: "
              f"{'met' if rate >= TARGET_SPANS_S else 'MISSED'})")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
