"""``crewscope.flow.graph`` on the flow run span (SPANS.md): real flows on the fake LLM."""

from __future__ import annotations

import json
from typing import Any

from crewscope.demo.crew import make_llm
from crewscope.instrumentation._attributes import flow_graph
from tests.helpers.projects import content_flow
from tests.helpers.projects.review_flow.main import EXECUTIONS, ReviewFlow, review_flow
from tests.instrumentation._tree import by_name

GRAPH = "crewscope.flow.graph"


def _flow_span(finished: Any, name: str) -> Any:
    [span] = by_name(finished, f"invoke_workflow {name}")
    return span


def test_router_flow_graph_in_definition_order(spans: Any, llm_server: Any) -> None:
    review_flow(llm_server.base_url)
    finished = spans.get_finished_spans()
    graph = json.loads(_flow_span(finished, "ReviewFlow").attributes[GRAPH])
    assert graph == {
        "methods": [
            {"name": "gather", "start": True, "router": False, "listen": None, "emit": None},
            {
                "name": "draft", "start": False, "router": False,
                "listen": {"or": ["gather", "revise"]}, "emit": None,
            },
            {
                "name": "review", "start": False, "router": True, "listen": "draft",
                "emit": ["revise", "approved"],
            },
            {"name": "publish", "start": False, "router": False, "listen": "approved", "emit": None},
            {"name": "notify", "start": False, "router": True, "listen": "publish", "emit": None},
            {"name": "archive", "start": False, "router": False, "listen": "done", "emit": None},
            {
                "name": "close", "start": False, "router": False,
                "listen": {"and": ["publish", "archive"]}, "emit": None,
            },
        ]
    }  # fmt: skip
    assert [m["name"] for m in graph["methods"]] == list(EXECUTIONS)
    # only the flow run span carries it: not its crew runs, not its method spans
    assert [s.name for s in finished if GRAPH in s.attributes] == ["invoke_workflow ReviewFlow"]


def test_content_flow_router_without_declared_labels(spans: Any, llm_server: Any) -> None:
    content_flow(llm_server.base_url)
    graph = json.loads(_flow_span(spans.get_finished_spans(), "ContentFlow").attributes[GRAPH])
    methods = {m["name"]: m for m in graph["methods"]}
    assert list(methods) == ["plan_content", "choose_format", "write_post", "skip_post",
                             "save_content"]  # fmt: skip
    assert methods["choose_format"] == {
        "name": "choose_format", "start": False, "router": True, "listen": "plan_content",
        "emit": None,
    }  # fmt: skip
    assert methods["write_post"]["listen"] == "long_form"
    assert methods["save_content"]["listen"] == "write_post"


def test_nested_and_conditional_start_conditions() -> None:
    from crewai.flow import Flow, and_, listen, or_, start

    class Conditions(Flow):  # type: ignore[type-arg]
        @start()
        def a(self) -> None: ...

        @start()
        def b(self) -> None: ...

        @listen(or_(and_(a, b), "label"))
        def c(self) -> None: ...

        @start("again")
        def d(self) -> None: ...

    methods = json.loads(flow_graph(Conditions()) or "")["methods"]
    assert methods[2]["listen"] == {"or": [{"and": ["a", "b"]}, "label"]}
    assert methods[3] == {"name": "d", "start": True, "router": False, "listen": "again",
                          "emit": None}  # fmt: skip
    assert flow_graph(object()) is None  # no flow definition: no attribute


def test_unreadable_definition_omits_the_attribute(spans: Any, llm_server: Any) -> None:
    flow = ReviewFlow(llm=make_llm(llm_server.base_url))
    definition = flow._definition.model_copy(deep=True)
    object.__setattr__(definition.methods["notify"], "emit", 5)  # not a list of labels
    flow._definition = definition
    flow.kickoff()  # the app's kickoff is untouched
    finished = spans.get_finished_spans()
    span = _flow_span(finished, "ReviewFlow")
    assert GRAPH not in span.attributes and span.attributes["crewscope.run.kind"] == "flow"
    assert len(by_name(finished, "flow_method ")) == sum(EXECUTIONS.values())
