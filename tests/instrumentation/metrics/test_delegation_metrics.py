"""Agent metrics of delegated work name the coworker (and the task it was delegated from)."""

from __future__ import annotations

from tests.helpers.metrics import by_attrs, points
from tests.helpers.projects import shapes

EXECUTIONS = "crewscope.agent.executions"


def test_delegated_work_counts_as_the_coworkers_execution(metrics, llm_server):
    shapes.support_crew(llm_server.base_url)
    pts = points(metrics.get_metrics_data(), EXECUTIONS)
    runs = {
        (p.attributes["gen_ai.agent.name"], p.attributes.get("crewai.task.name")): p.value
        for p in pts
    }
    # the ad-hoc task's description is the manager LLM's free text: not a metric label
    assert runs == {
        ("Crew Manager", "investigate_task"): 1,
        ("Crew Manager", "answer_task"): 1,
        ("Research Specialist", "investigate_task"): 1,
        ("Support Writer", "answer_task"): 1,
    }
    assert {p.attributes["crewai.crew.name"] for p in pts} == {"support crew"}
    assert by_attrs(pts, gen_ai__agent__name="Support Writer")
