"""GenAI, agent and tool metrics from real crew runs against the fake LLM."""

from __future__ import annotations

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._metrics import (
    AGENT_DURATION_BUCKETS,
    OPERATION_DURATION_BUCKETS,
    TOKEN_USAGE_BUCKETS,
)
from tests.helpers.metrics import by_attrs, metric, points

TOKENS = "gen_ai.client.token.usage"
DURATION = "gen_ai.client.operation.duration"


def test_token_histogram_sums_equal_the_llm_reported_usage(metrics, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "otel"})
    data = metrics.get_metrics_data()
    m = metric(data, TOKENS)
    assert m.unit == "{token}"
    assert m.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    pts = m.data.data_points
    calls = llm_server.calls
    assert len(calls) >= 3
    inputs, outputs = (
        by_attrs(pts, gen_ai__token__type="input"),
        by_attrs(pts, gen_ai__token__type="output"),
    )
    assert sum(p.sum for p in inputs) == sum(c.prompt_tokens for c in calls)
    assert sum(p.sum for p in outputs) == sum(c.completion_tokens for c in calls)
    assert sum(p.count for p in inputs) == sum(p.count for p in outputs) == len(calls)
    for p in pts:
        assert tuple(p.explicit_bounds) == TOKEN_USAGE_BUCKETS
        assert p.attributes["gen_ai.operation.name"] == "chat"
        assert p.attributes["gen_ai.provider.name"] == "openai"
        assert p.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert p.attributes["crewai.crew.name"] == "research_crew"
    # per agent: the Researcher made the tool-calling turn and its final answer
    researcher = by_attrs(inputs, gen_ai__agent__name="Researcher")
    writer = by_attrs(inputs, gen_ai__agent__name="Writer")
    assert [p.count for p in researcher] == [2] and [p.count for p in writer] == [1]


def test_operation_duration_counts_every_llm_call_and_marks_failures(metrics, llm_server):
    llm_server.fail_next(1, 500)
    build_crew(make_llm(llm_server.base_url, max_retries=0)).kickoff(inputs={"topic": "t"})
    data = metrics.get_metrics_data()
    m = metric(data, DURATION)
    assert m.unit == "s"
    pts = m.data.data_points
    assert sum(p.count for p in pts) == len(llm_server.calls)
    [failed] = [p for p in pts if "error.type" in p.attributes]
    assert failed.attributes["error.type"] == "openai.InternalServerError"
    assert failed.count == 1
    for p in pts:
        assert tuple(p.explicit_bounds) == OPERATION_DURATION_BUCKETS
        assert 0 < p.sum < 60
    # the failed call reported no usage: the token histogram counts only the answered calls
    answered = [c for c in llm_server.calls if c.status == 200]
    tokens = by_attrs(points(data, TOKENS), gen_ai__token__type="input")
    assert sum(p.count for p in tokens) == len(answered)


def test_agent_executions_duration_and_success(metrics, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    data = metrics.get_metrics_data()
    runs = points(data, "crewscope.agent.executions")
    assert {
        (p.attributes["gen_ai.agent.name"], p.attributes["crewai.task.name"],
         p.attributes["crewscope.execution.status"], p.value)
        for p in runs
    } == {("Researcher", "research", "success", 1), ("Writer", "write", "success", 1)}  # fmt: skip
    durations = points(data, "crewscope.agent.execution.duration")
    assert sorted(p.attributes["gen_ai.agent.name"] for p in durations) == ["Researcher", "Writer"]
    for p in durations:
        assert p.count == 1 and p.sum > 0
        assert tuple(p.explicit_bounds) == AGENT_DURATION_BUCKETS
    assert points(data, "crewscope.agent.errors") == []


def test_failing_agent_counts_an_error_execution_by_type(metrics, llm_server):
    llm_server.fail_next(50, 500)
    crew = build_crew(make_llm(llm_server.base_url, max_retries=0))
    with pytest.raises(Exception):  # noqa: B017 - whatever CrewAI raises
        crew.kickoff(inputs={"topic": "t"})
    data = metrics.get_metrics_data()
    runs = points(data, "crewscope.agent.executions")
    [failed] = by_attrs(runs, gen_ai__agent__name="Researcher")
    assert failed.attributes["crewscope.execution.status"] == "error" and failed.value == 1
    assert by_attrs(runs, gen_ai__agent__name="Writer") == []  # never ran
    [error] = points(data, "crewscope.agent.errors")
    assert error.attributes["gen_ai.agent.name"] == "Researcher"
    assert error.attributes["error.type"] and error.value == 1
    [duration] = points(data, "crewscope.agent.execution.duration")
    assert duration.attributes["crewscope.execution.status"] == "error"


def test_tool_calls_and_tool_errors_by_tool(metrics, llm_server):
    crew = build_crew(make_llm(llm_server.base_url), tool=word_counter_tool(fail=True))
    assert crew.kickoff(inputs={"topic": "t"}).raw  # CrewAI hands the error to the model
    data = metrics.get_metrics_data()
    [calls] = points(data, "crewscope.tool.calls")
    assert calls.attributes["gen_ai.tool.name"] == "word_counter"
    assert calls.attributes["gen_ai.agent.name"] == "Researcher"
    assert calls.attributes["crewscope.execution.status"] == "error" and calls.value == 1
    [errors] = points(data, "crewscope.tool.errors")
    assert errors.attributes["gen_ai.tool.name"] == "word_counter"
    assert errors.attributes["error.type"] == "RuntimeError" and errors.value == 1
    # the agent itself recovered
    assert {p.attributes["crewscope.execution.status"] for p in points(
        data, "crewscope.agent.executions"
    )} == {"success"}  # fmt: skip


def test_successful_tool_call_counts_no_error(metrics, llm_server):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    data = metrics.get_metrics_data()
    [calls] = points(data, "crewscope.tool.calls")
    assert calls.attributes["crewscope.execution.status"] == "success" and calls.value == 1
    assert points(data, "crewscope.tool.errors") == []


def test_noop_meter_provider_means_no_metric_work(_tracing, llm_server, monkeypatch):
    from crewscope.instrumentation import _metrics

    calls = []
    monkeypatch.setattr(_metrics.Instruments, "llm_call", lambda *a: calls.append(a))
    tracer_provider, span_exporter = _tracing
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=NoOpMeterProvider())
    try:
        assert instrumentor.process_metrics is None
        build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    finally:
        instrumentor.uninstrument()
        span_exporter.clear()
    assert calls == []


def test_uninstrument_stops_metrics(meter_provider, _tracing, llm_server):
    provider, reader = meter_provider
    tracer_provider, span_exporter = _tracing
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=provider)
    instrumentor.uninstrument()
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    span_exporter.clear()
    data = reader.get_metrics_data()
    assert points(data, TOKENS) == [] and points(data, "process.memory.usage") == []


def test_exemplars_link_measurements_to_their_spans(metrics, llm_server, _tracing):
    build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "t"})
    finished = _tracing[1].get_finished_spans()
    ids = {
        prefix: {s.context.span_id for s in finished if s.name.startswith(prefix)}
        for prefix in ("chat ", "invoke_agent ", "execute_tool ")
    }
    data = metrics.get_metrics_data()
    for name, prefix in (
        (TOKENS, "chat "),
        (DURATION, "chat "),
        ("crewscope.agent.execution.duration", "invoke_agent "),
        ("crewscope.tool.calls", "execute_tool "),
    ):
        linked = {e.span_id for p in points(data, name) for e in p.exemplars}
        assert linked and linked <= ids[prefix], name
