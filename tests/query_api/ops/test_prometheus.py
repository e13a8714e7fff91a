"""A real Prometheus server scraping an instrumented crew app and ``crewscope serve``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.env import subprocess_env
from tests.helpers.served import API, Served, free_port, wait_until

APP = Path(__file__).with_name("prom_crew_app.py")
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def crew_app(llm_server: Any) -> Iterator[tuple[str, list[Any]]]:
    """The demo crew under ``opentelemetry-instrument`` with OTEL_METRICS_EXPORTER=prometheus;
    yields its scrape address and the fake LLM's replies."""
    port = free_port()
    env = subprocess_env(
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
        OTEL_SERVICE_NAME="prom-crew",
    )
    proc = subprocess.Popen(
        [str(VENV_BIN / "opentelemetry-instrument"), sys.executable, str(APP), llm_server.base_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "done"
        yield f"127.0.0.1:{port}", list(llm_server.calls)
    finally:
        proc.kill()
        proc.wait(10)


def test_instrumented_app_scraped_by_prometheus(crew_app: Any, prometheus: Any) -> None:
    target, calls = crew_app
    prom = prometheus({"crew_app": target})
    prom.wait_value('up{job="crew_app"} == 1')
    prom.wait_value("crewscope_agent_executions_total")
    # exact token sums: the fake LLM's usage, through the OTel histogram and Prometheus
    tokens = {
        r["metric"]["gen_ai_token_type"]: float(r["value"][1])
        for r in prom.query("sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)")
    }
    assert tokens == {
        "input": sum(c.prompt_tokens for c in calls),
        "output": sum(c.completion_tokens for c in calls),
    }
    assert prom.value("sum(gen_ai_client_token_usage_count)") == 2 * len(calls)
    runs = prom.query(
        "sum by (gen_ai_agent_name, crewscope_execution_status) (crewscope_agent_executions_total)"
    )
    got = {
        (r["metric"]["gen_ai_agent_name"], r["metric"]["crewscope_execution_status"]): float(
            r["value"][1]
        )
        for r in runs
    }
    assert got == {("Researcher", "success"): 2.0, ("Writer", "success"): 2.0}
    # seed 004's success rate from the OTel counter (the mapping documented in prometheus.py)
    rate = prom.query(
        'sum by (gen_ai_agent_name) (crewscope_agent_executions_total{crewscope_execution_status="success"})'
        " / sum by (gen_ai_agent_name) (crewscope_agent_executions_total)"
    )
    assert {r["metric"]["gen_ai_agent_name"]: float(r["value"][1]) for r in rate} == {
        "Researcher": 1.0, "Writer": 1.0,
    }  # fmt: skip
    assert prom.value('crewscope_tool_errors_total{gen_ai_tool_name="word_counter"}') == 1.0
    assert prom.value("sum(crewscope_agent_execution_duration_seconds_count)") == 4.0
    assert prom.value('max(process_memory_usage_bytes{job="crew_app"})') > 10 * 2**20
    assert prom.value('sum(process_cpu_time_seconds_total{job="crew_app"})') > 0


def test_serve_metrics_endpoint_scraped_by_prometheus(
    served: Served, otlp_crew: Any, prometheus: Any
) -> None:
    calls = otlp_crew("served_crew")
    wait_until(
        lambda: served.rows("SELECT count(*) FROM otel_traces WHERE \"CrewName\"='served_crew'"
                            " AND \"GenAiOperation\"='invoke_workflow'")[0][0] == 1,
        what="run stored",
    )  # fmt: skip
    for path in ("/runs", "/agents", "/metrics/success-rate", "/nope"):
        try:
            urllib.request.urlopen(f"{served.url}{API}{path}", timeout=10).read()
        except OSError:
            pass  # the 404 is part of the test
    # the text format parses, and carries every family we promise
    with urllib.request.urlopen(f"{served.url}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
    for name in (
        "crewscope_ingest_spans_accepted", "crewscope_ingest_spans_written",
        "crewscope_ingest_spans_rejected", "crewscope_ingest_spans_refused",
        "crewscope_ingest_accepted", "crewscope_queue_dropped", "crewscope_self_spans_dropped",
        "agent_execution", "agent_execution_errors", "agent_execution_duration_seconds",
        "agent_success_rate", "crewscope_llm_tokens", "http_server_duration_milliseconds",
        "crewscope_live_clients",
    ):  # fmt: skip
        assert name in families, name

    prom = prometheus({"crewscope": f"127.0.0.1:{served.port}"})
    prom.wait_value('up{job="crewscope"} == 1')
    rate = prom.wait_value('agent_success_rate{job="crewscope"}')
    assert {r["metric"]["agent"]: float(r["value"][1]) for r in rate} == {
        "Researcher": 1.0, "Writer": 1.0,
    }  # fmt: skip
    assert prom.value('agent_execution_total{agent="Writer",status="success"}') == 1.0
    assert prom.value('agent_execution_duration_seconds_count{agent="Researcher"}') == 1.0
    assert prom.value('crewscope_llm_tokens_total{type="input"}') == sum(
        c.prompt_tokens for c in calls
    )
    written = prom.value("crewscope_ingest_spans_written_total")
    assert (
        written is not None
        and written >= served.rows("SELECT count(*) FROM otel_traces")[0][0] - 50
    )
    assert prom.value('crewscope_ingest_accepted_total{signal="traces"}') >= written - 50
    assert prom.value("crewscope_ingest_spans_refused_total") == 0.0
    assert prom.value('crewscope_queue_dropped_total{queue="ingest_queue"}') == 0.0
    assert prom.value("crewscope_ingest_writes_yielded_total") == 0.0  # never shed here
    # HTTP server metrics of crewscope itself, including Prometheus' own scrapes
    prom.wait_value(
        'http_server_duration_milliseconds_count{job="crewscope",http_status_code="404"}'
    )
    assert prom.value('sum(http_server_duration_milliseconds_count{job="crewscope"})') >= 4

    # crewscope's own server spans are in its store: /endpoints shows it (but no OTLP route,
    # no /metrics scrape and no live socket)
    def own_routes() -> dict[str, Any]:
        with urllib.request.urlopen(f"{served.url}{API}/endpoints?service=crewscope") as r:
            return {e["route"]: e for e in json.loads(r.read())["endpoints"]}

    routes = wait_until(lambda: (r := own_routes()) and f"{API}/agents" in r and r, what="spans")
    assert routes[f"{API}/runs"]["requests"] == 1
    assert not {"/v1/traces", "/v1/metrics", "/metrics", f"{API}/live"} & set(routes)
    assert prom.value("crewscope_self_spans_dropped_total") == 0.0
