"""OTLP into `crewscope serve --store chdb://...`: the official OTLP exporter sends a real crew
run to the receiver, which writes the Collector exporter's otel_traces in embedded ClickHouse;
the API's numbers are the fake LLM's usage."""

from __future__ import annotations

import time
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from crewscope.demo.crew import build_crew, make_llm
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.query_api.app import create_app
from tests.helpers.engines import chdb_store
from tests.helpers.served import API, serve_app


def test_otlp_into_clickhouse_matches_llm_usage(fake_llm: Any) -> None:
    app = create_app(chdb_store("receiver"), rollup_interval_s=0, retention_days=None)
    server, thread, port = serve_app(app)
    url = f"http://127.0.0.1:{port}"
    provider = TracerProvider(resource=Resource.create({"service.name": "ch-crew"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        fake_llm.reset()
        build_crew(make_llm(fake_llm.base_url, max_retries=0), name="ch_crew").kickoff(
            inputs={"topic": "clickhouse"}
        )
        calls = list(fake_llm.calls)
        provider.force_flush()
        deadline = time.monotonic() + 30
        runs: dict[str, Any] = {}
        while time.monotonic() < deadline:
            runs = httpx.get(f"{url}{API}/runs").json()
            # done, and priced: a serve process prices models new to it at most every 2 s
            done = runs["total"] and runs["runs"][0]["status"] != "running"
            if done and runs["runs"][0]["cost_usd"] is not None:
                break
            time.sleep(0.2)
        assert runs["total"] == 1, runs
        run = runs["runs"][0]
        assert run["crew"] == "ch_crew" and run["status"] == "completed"
        assert run["input_tokens"] == sum(c.prompt_tokens for c in calls)
        assert run["output_tokens"] == sum(c.completion_tokens for c in calls)
        assert run["llm_calls"] == len(calls)
        assert run["cost_usd"] is not None and run["cost_usd"] > 0
        health = httpx.get(f"{url}{API}/system/health").json()
        database = next(c for c in health["service_statuses"] if c["name"] == "database")
        assert database["status"] == "healthy" and database["metrics"]["spans"] > 0
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        server.should_exit = True
        thread.join(15)
