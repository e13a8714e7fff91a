"""One instrumentation variant in its own process, driven by bench_overhead.py over stdin.

    python bench/_crew_worker.py VARIANT BASE_URL WORKDIR

Reads commands from stdin, one per line: ``gc`` runs a full garbage collection (before a
measured chunk, so every chunk starts from the same collector state); ``run N`` runs N
kickoffs of the demo crew (two
agents, two tasks, one tool) against the fake LLM at BASE_URL, flushes the tracer provider
(so export work lands inside the measured window) and answers one JSON line with the CPU
time (user+sys of this whole process, every thread) and wall time of the chunk, and how many
spans were exported. ``quit`` exits. Variants: bare, crewscope, crewscope_metrics,
openllmetry, openinference (the last two need bench/setup_peers.sh on PYTHONPATH).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any


def setup(variant: str, workdir: str) -> tuple[Any, Any]:
    """Instrument this process; returns (tracer provider or None, DuckDB exporter or None)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from crewscope.exporter import DuckDBSpanExporter

    db = os.path.join(workdir, f"{variant}.duckdb")
    if variant == "bare":
        return None, None
    if variant in ("crewscope", "crewscope_metrics", "crewscope_local"):
        from crewscope.instrumentation.configure import configure

        tel = configure(
            exporters=["duckdb"],
            metrics_exporters=["duckdb"] if variant == "crewscope_metrics" else [],
            db_path=db,
            service_name="bench",
            set_global=variant != "crewscope_local",
        )
        return tel.tracer_provider, tel.exporters[0]
    # diagnostics (--variants): where an overhead comes from
    if variant == "crewscope_nop":  # our wrappers and spans, no processor: nothing exported
        from crewscope.instrumentation import CrewAIInstrumentor

        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        CrewAIInstrumentor().instrument(tracer_provider=provider)
        return provider, None
    if variant in (
        "crewscope_null",
        "crewscope_convert",
    ):  # BSP with a no-op / convert-only exporter
        from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

        from crewscope.exporter.span_exporter import spans_to_table
        from crewscope.instrumentation import CrewAIInstrumentor

        convert = variant == "crewscope_convert"

        class _Exporter(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                if convert:
                    spans_to_table(spans)
                return SpanExportResult.SUCCESS

        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        provider.add_span_processor(BatchSpanProcessor(_Exporter()))
        CrewAIInstrumentor().instrument(tracer_provider=provider)
        return provider, None
    if variant == "sdk_only":  # the SDK pipeline as global provider, no instrumentation
        from opentelemetry import trace

        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        exporter = DuckDBSpanExporter(db)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        return provider, exporter
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    exporter = DuckDBSpanExporter(db)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if variant == "openllmetry":
        from opentelemetry.instrumentation.crewai import CrewAIInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    elif variant == "openinference":
        from openinference.instrumentation.crewai import (  # type: ignore[no-redef]
            CrewAIInstrumentor,
        )
        from openinference.instrumentation.openai import (  # type: ignore[no-redef]
            OpenAIInstrumentor,
        )
    else:
        raise SystemExit(f"unknown variant {variant!r}")
    CrewAIInstrumentor().instrument(tracer_provider=provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider, exporter


def main() -> None:
    variant, base_url, workdir = sys.argv[1:4]
    os.environ["HOME"] = workdir  # CrewAI writes under ~/.local/share
    from crewscope.demo.env import apply_offline_env

    apply_offline_env()
    provider, exporter = setup(variant, workdir)
    from crewscope.demo.crew import build_crew, make_llm

    crew = build_crew(make_llm(base_url))
    crew.kickoff(inputs={"topic": "warm-up"})  # imports, caches, connections
    if provider is not None:
        provider.force_flush()
    print(json.dumps({"ready": variant, "pid": os.getpid()}), flush=True)
    collections = [0, 0, 0]  # garbage collections per generation during `run`
    gc.callbacks.append(
        lambda phase, info: collections.__setitem__(
            info["generation"], collections[info["generation"]] + (phase == "stop")
        )
    )
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "gc":  # full collection outside the measured window: same start state
            gc.collect()
            print(json.dumps({"gc": True}), flush=True)
            continue
        n = int(cmd[1])
        collections[:] = [0, 0, 0]
        before = exporter.stats.spans_written if exporter is not None else 0
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(n):
            crew.kickoff(inputs={"topic": f"topic {i}"})
        if provider is not None:
            provider.force_flush()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        spans = (exporter.stats.spans_written - before) if exporter is not None else 0
        print(
            json.dumps({"n": n, "cpu": cpu, "wall": wall, "spans": spans, "gc": collections}),
            flush=True,
        )
    if provider is not None:
        provider.shutdown()


if __name__ == "__main__":
    main()
