"""Row conversion of other instrumentations' spans (exporter/peer_spans.py through
span_rows.SpanColumns): each shape's typed columns, inheritance from enclosing spans within
a batch and across batches, token totals from the LLM calls, the source attribute.

The attribute sets are the ones the real peers emit for the demo crew (see
tests/integration/test_peer_instrumentations.py, which runs the packages themselves).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from crewscope.exporter.peer_spans import SOURCE_ATTRIBUTE, Source, recognise
from crewscope.exporter.peer_traces import TraceCache
from crewscope.exporter.pricing import cost_usd
from crewscope.exporter.span_rows import SpanColumns
from crewscope.exporter.store import SpanStore

_ids = itertools.count(1)


def span_id() -> str:
    return f"{next(_ids):016x}"


class Span:
    def __init__(
        self, name: str, attrs: Mapping[str, str], parent: Span | None = None, *,
        scope: str = "peer.scope", trace: str = "ab" * 16,
    ) -> None:  # fmt: skip
        self.name, self.attrs, self.scope = name, dict(attrs), scope
        self.id = span_id()
        self.parent_id = parent.id if parent else ""
        self.trace: str = parent.trace if parent else trace


def table(spans: Sequence[Span], cache: TraceCache) -> list[dict[str, Any]]:
    """One batch through SpanColumns (the receiver's path) with `cache`; rows by span id."""
    cols = SpanColumns()
    for s in spans:
        cols.add_span(
            timestamp_ns=1_700_000_000_000_000_000, trace_id=s.trace, span_id=s.id,
            parent_span_id=s.parent_id, name=s.name, kind="Internal", duration_ns=1,
            status_code="Unset", scope_name=s.scope, attributes=s.attrs,
        )  # fmt: skip
    cols.resolve_peers(cache)
    rows = cols.to_table().to_pylist()
    for r in rows:
        r["SpanAttributes"] = dict(r["SpanAttributes"])
    return rows


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["SpanName"]: r for r in rows}


# --- the shapes, as the peers emit them -------------------------------------------------

OI_CREW = {"openinference.span.kind": "CHAIN", "crew_key": "k", "crew_id": "c1",
           "input.value": '{"topic": "x"}'}  # fmt: skip
OI_TASK = {"openinference.span.kind": "AGENT", "task_name": "research", "task_id": "t1",
           "graph.node.id": "Researcher", "crew_key": "k"}  # fmt: skip
OI_LLM = {"openinference.span.kind": "LLM", "llm.system": "openai", "llm.provider": "openai",
          "llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": "72",
          "llm.token_count.completion": "56", "llm.token_count.total": "128"}  # fmt: skip
OI_TOOL = {"openinference.span.kind": "TOOL", "tool.name": "word_counter"}

OLL_WORKFLOW = {"gen_ai.provider.name": "crewai", "gen_ai.operation.name": "invoke_agent",
                "crewai.crew.id": "c1", "crewai.crew.name": "my_crew",
                "crewai.crew.token_usage": "total_tokens=668 prompt_tokens=516"}  # fmt: skip
OLL_TASK = {"traceloop.span.kind": "task", "gen_ai.operation.name": "invoke_agent",
            "crewai.task.id": "t1", "crewai.task.agent": "Researcher",
            "crewai.task.description": "Research x."}  # fmt: skip
OLL_AGENT = {"traceloop.span.kind": "agent", "gen_ai.operation.name": "invoke_agent",
             "crewai.agent.role": "Researcher", "gen_ai.agent.name": "Researcher",
             "gen_ai.usage.input_tokens": "999", "gen_ai.usage.output_tokens": "999"}  # fmt: skip
OLL_CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": "105", "gen_ai.usage.output_tokens": "10",
            "gen_ai.usage.total_tokens": "115"}  # fmt: skip
OLL_OLD_CHAT = {"llm.request.type": "chat", "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.prompt_tokens": "30",
                "gen_ai.usage.completion_tokens": "4", "llm.usage.total_tokens": "34"}  # fmt: skip

_LIT = {"telemetry.sdk.name": "openlit", "gen_ai.provider.name": "crewai"}
LIT_CREW = {**_LIT, "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "lit_crew", "gen_ai.usage.input_tokens": "516",
            "gen_ai.usage.output_tokens": "152"}  # fmt: skip
LIT_AGENT = {**_LIT, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Writer"}
LIT_EXECUTOR = {**_LIT, "gen_ai.operation.name": "invoke_workflow",
                "gen_ai.workflow.name": "AgentExecutor"}  # fmt: skip
LIT_METHOD = {**_LIT, "gen_ai.operation.name": "invoke_agent"}
LIT_CHAT = {"telemetry.sdk.name": "openlit", "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": "81", "gen_ai.usage.output_tokens": "10",
            "gen_ai.usage.cost": "0"}  # fmt: skip


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        (OI_CREW, ("invoke_workflow", None, None, None, None, None, None, Source.OPENINFERENCE)),
        (OI_TASK, ("invoke_agent", "research", "Researcher", None, None, None, None,
                   Source.OPENINFERENCE)),
        (OI_LLM, ("chat", None, None, None, "gpt-4o-mini", "72", "56", Source.OPENINFERENCE)),
        (OI_TOOL, ("execute_tool", None, None, "word_counter", None, None, None,
                   Source.OPENINFERENCE)),
        (OLL_WORKFLOW, ("invoke_workflow", None, None, None, None, None, None,
                        Source.OPENLLMETRY)),
        (OLL_TASK, ("invoke_agent", "Research x.", "Researcher", None, None, None, None,
                    Source.OPENLLMETRY)),
        # inside the Task span: the same task execution, not a second task
        (OLL_AGENT, (None, None, "Researcher", None, None, "999", "999", Source.OPENLLMETRY)),
        (OLL_CHAT, ("chat", None, None, None, "gpt-4o-mini", "105", "10", Source.SEMCONV)),
        (OLL_OLD_CHAT, ("chat", None, None, None, "gpt-4o-mini", "30", "4", Source.SEMCONV)),
        (LIT_CREW, ("invoke_workflow", None, None, None, None, "516", "152", Source.OPENLIT)),
        (LIT_AGENT, ("invoke_agent", None, "Writer", None, None, None, None, Source.OPENLIT)),
        (LIT_EXECUTOR, (None, None, None, None, None, None, None, Source.OPENLIT)),
        (LIT_METHOD, (None, None, None, None, None, None, None, Source.OPENLIT)),
        (LIT_CHAT, ("chat", None, None, None, "gpt-4o-mini", "81", "10", Source.OPENLIT)),
        ({"http.method": "GET"}, (None, None, None, None, None, None, None, None)),
    ],
)  # fmt: skip
def test_recognise_reads_each_shape(attrs: dict[str, str], expected: tuple[Any, ...]) -> None:
    got = recognise(attrs)
    assert (got.operation, got.task, got.agent, got.tool, got.model, got.input_tokens,
            got.output_tokens, got.source) == expected  # fmt: skip


def test_openinference_crew_run_with_inherited_agents_priced_calls_and_totals() -> None:
    crew = Span("my_crew.kickoff", OI_CREW, scope="openinference.instrumentation.crewai")
    task = Span("Researcher.research._execute_core", OI_TASK, crew)
    llm = Span("ChatCompletion", OI_LLM, task, scope="openinference.instrumentation.openai")
    tool = Span("word_counter.run", OI_TOOL, task)
    rows = by_name(table([crew, task, llm, tool], TraceCache()))
    run = rows["my_crew.kickoff"]
    assert (run["GenAiOperation"], run["CrewName"]) == ("invoke_workflow", "my_crew")
    assert (run["InputTokens"], run["OutputTokens"]) == (72, 56)  # from the one call
    chat = rows["ChatCompletion"]
    assert (chat["AgentName"], chat["TaskName"], chat["CrewName"]) == (
        "Researcher", "research", "my_crew",
    )  # fmt: skip
    assert (chat["Model"], chat["ProviderName"]) == ("gpt-4o-mini", "openai")
    assert chat["CostUsd"] == pytest.approx(cost_usd("gpt-4o-mini", "openai", 72, 56))
    assert (rows["word_counter.run"]["ToolName"], rows["word_counter.run"]["AgentName"]) == (
        "word_counter", "Researcher",
    )  # fmt: skip
    for row in rows.values():
        assert row["SpanAttributes"][SOURCE_ATTRIBUTE] == "openinference"
    # stored untouched otherwise: the peer's own keys and values are all there
    assert {k: v for k, v in rows["ChatCompletion"]["SpanAttributes"].items()
            if k != SOURCE_ATTRIBUTE} == OI_LLM  # fmt: skip


def test_openllmetry_totals_from_the_calls_not_the_agent_span_and_one_task() -> None:
    wf = Span("crewai.workflow", OLL_WORKFLOW, scope="opentelemetry.instrumentation.crewai")
    task = Span("Research x..task", OLL_TASK, wf)
    agent = Span("Researcher.agent", OLL_AGENT, task)
    chat1 = Span("openai.chat", OLL_CHAT, agent, scope="opentelemetry.instrumentation.openai.v1")
    chat2 = Span("openai.chat old", OLL_OLD_CHAT, agent)
    # children first, as a batch span processor exports them
    rows = by_name(table([chat1, chat2, agent, task, wf], TraceCache()))
    assert [r["GenAiOperation"] for r in rows.values()].count("invoke_agent") == 1
    assert (rows["crewai.workflow"]["GenAiOperation"], rows["crewai.workflow"]["CrewName"]) == (
        "invoke_workflow", "my_crew",
    )  # fmt: skip
    for name in ("crewai.workflow", "Research x..task"):
        assert (rows[name]["InputTokens"], rows[name]["OutputTokens"]) == (135, 14), name
    # the agent span's own 999/999 is not a call and not a task: it stays, unused
    assert rows["Researcher.agent"]["GenAiOperation"] is None
    for name in ("openai.chat", "openai.chat old"):
        r = rows[name]
        assert (r["AgentName"], r["TaskName"], r["CrewName"]) == (
            "Researcher", "Research x.", "my_crew",
        )  # fmt: skip
    assert (rows["openai.chat old"]["InputTokens"], rows["openai.chat old"]["OutputTokens"]) == (
        30, 4,
    )  # fmt: skip
    # OpenLLMetry's OpenAI spans are plain semconv: their scope tells whose they are
    assert rows["openai.chat"]["SpanAttributes"][SOURCE_ATTRIBUTE] == "openllmetry"
    # a generic semconv span of an unknown scope is understood but stored exactly as it came
    assert rows["openai.chat old"]["SpanAttributes"] == OLL_OLD_CHAT


def test_openlit_executor_flow_is_neither_run_nor_task_and_crew_total_is_replaced() -> None:
    crew = Span("invoke_workflow lit_crew", LIT_CREW, scope="openlit.instrumentation.crewai")
    agent = Span("invoke_agent Writer", LIT_AGENT, crew)
    executor = Span("invoke_workflow AgentExecutor", LIT_EXECUTOR, agent)
    method = Span("invoke_agent finalize", LIT_METHOD, executor)
    chat = Span("chat gpt-4o-mini", LIT_CHAT, executor, scope="openlit.instrumentation.openai")
    rows = by_name(table([method, chat, executor, agent, crew], TraceCache()))
    ops = {n: r["GenAiOperation"] for n, r in rows.items()}
    assert ops == {
        "invoke_workflow lit_crew": "invoke_workflow",
        "invoke_agent Writer": "invoke_agent",
        "invoke_workflow AgentExecutor": None,
        "invoke_agent finalize": None,
        "chat gpt-4o-mini": "chat",
    }
    run = rows["invoke_workflow lit_crew"]
    # OpenLIT's 516/152 is CrewAI's usage_metrics (twice this crew's prompt tokens)
    assert (run["CrewName"], run["InputTokens"], run["OutputTokens"]) == ("lit_crew", 81, 10)
    assert (rows["chat gpt-4o-mini"]["AgentName"], rows["chat gpt-4o-mini"]["CrewName"]) == (
        "Writer", "lit_crew",
    )  # fmt: skip
    assert rows["chat gpt-4o-mini"]["CostUsd"] == pytest.approx(
        cost_usd("gpt-4o-mini", "openai", 81, 10)
    )


def test_batches_in_any_order_and_across_batches() -> None:
    cache = TraceCache()
    crew = Span("c.kickoff", OI_CREW, scope="openinference.instrumentation.crewai")
    task = Span("Researcher.research._execute_core", OI_TASK, crew)
    early = Span("ChatCompletion early", OI_LLM, task)
    late = Span("ChatCompletion late", OI_LLM, task)
    # batch 1: a call whose task and crew have not ended yet: nothing to inherit from
    first = by_name(table([early], cache))["ChatCompletion early"]
    assert first["AgentName"] is None and first["InputTokens"] == 72
    # batch 2, parents before children: inheritance does not depend on the order
    rows = by_name(table([crew, task, late], cache))
    assert rows["ChatCompletion late"]["AgentName"] == "Researcher"
    # the totals count the call of the earlier batch too (children end first)
    for name in ("c.kickoff", "Researcher.research._execute_core"):
        assert (rows[name]["InputTokens"], rows[name]["OutputTokens"]) == (144, 112), name
    # batch 3: a straggler below a task seen before inherits from the cache
    straggler = Span("word_counter.run", OI_TOOL, task)
    row = by_name(table([straggler], cache))["word_counter.run"]
    assert (row["AgentName"], row["TaskName"], row["CrewName"]) == ("Researcher", "research", "c")


def test_a_call_wrapping_a_call_is_counted_once() -> None:
    outer = Span("gpt-4o-mini.llm", OLL_CHAT, scope="opentelemetry.instrumentation.crewai")
    inner = Span("openai.chat", OLL_CHAT, outer, scope="opentelemetry.instrumentation.openai.v1")
    rows = by_name(table([inner, outer], TraceCache()))
    assert rows["openai.chat"]["GenAiOperation"] == "chat"
    assert rows["openai.chat"]["InputTokens"] == 105
    wrapper = rows["gpt-4o-mini.llm"]
    assert (wrapper["GenAiOperation"], wrapper["InputTokens"], wrapper["CostUsd"]) == (
        None, None, None,
    )  # fmt: skip
    assert wrapper["SpanAttributes"]["gen_ai.operation.name"] == "chat"  # stored as it came


def test_crewscope_batches_and_unknown_spans_are_left_as_they_are() -> None:
    own = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": "5",
           "crewscope.run.id": "0000000000000001"}  # fmt: skip
    parent = Span("invoke_agent A", {"gen_ai.operation.name": "invoke_agent",
                                     "gen_ai.agent.name": "A", "gen_ai.usage.input_tokens": "7"},
                  scope="crewscope.instrumentation")  # fmt: skip
    child = Span("chat m", own, parent, scope="crewscope.instrumentation")
    cache = TraceCache()
    rows = by_name(table([child, parent], cache))
    assert rows["chat m"]["AgentName"] is None  # crewscope names its own spans
    assert rows["invoke_agent A"]["InputTokens"] == 7  # its own total, not recomputed
    assert all(SOURCE_ATTRIBUTE not in r["SpanAttributes"] for r in rows.values())
    assert len(cache) == 0  # such a batch skips resolution entirely
    plain = Span("GET /x", {"http.method": "GET", "url.path": "/x"})
    row = by_name(table([plain], cache))["GET /x"]
    assert row["SpanAttributes"] == {"http.method": "GET", "url.path": "/x"}
    assert row["GenAiOperation"] is None


def test_cache_is_bounded() -> None:
    cache = TraceCache(max_traces=3)
    for i in range(10):
        table([Span("ChatCompletion", OI_LLM, trace=f"{i:032x}")], cache)
    assert len(cache) == 3


def test_peer_rows_land_in_duckdb(tmp_path: Any) -> None:
    crew = Span("my_crew.kickoff", OI_CREW, scope="openinference.instrumentation.crewai")
    task = Span("Researcher.research._execute_core", OI_TASK, crew)
    llm = Span("ChatCompletion", OI_LLM, task)
    cols = SpanColumns()
    for s in (llm, task, crew):
        cols.add_span(
            timestamp_ns=1_700_000_000_000_000_000, trace_id=s.trace, span_id=s.id,
            parent_span_id=s.parent_id, name=s.name, kind="Internal", duration_ns=1,
            status_code="Unset", scope_name=s.scope, attributes=s.attrs,
        )  # fmt: skip
    with SpanStore(str(tmp_path / "peers.duckdb")) as store:
        store.append(cols.to_table())
        got = (
            store.cursor()
            .execute(
                """SELECT "SpanName", "GenAiOperation", "AgentName", "CrewName", "InputTokens",
                      "SpanAttributes"['crewscope.source']
               FROM otel_traces ORDER BY "SpanName" """
            )
            .fetchall()
        )
    assert got == [
        ("ChatCompletion", "chat", "Researcher", "my_crew", 72, "openinference"),
        ("Researcher.research._execute_core", "invoke_agent", "Researcher", "my_crew", 72,
         "openinference"),
        ("my_crew.kickoff", "invoke_workflow", None, "my_crew", 72, "openinference"),
    ]  # fmt: skip
