"""Memory saves that CrewAI runs in the background after a task returns (SPANS.md "Memory
saves after the task"): their LLM calls count in the task's totals, the task span keeps the
duration of the task's call, and the crew's totals are the sum of its tasks'."""

from __future__ import annotations

from typing import Any

from crewscope.demo.crew import build_crew, make_llm, make_memory
from tests.instrumentation._tree import by_name, parent_of, tokens


def _task_of(finished: list[Any], span: Any) -> Any:
    while not span.name.startswith("invoke_agent "):
        span = parent_of(finished, span)
    return span


def test_background_memory_calls_count_in_their_task(spans, llm_server, tmp_path):
    llm = make_llm(llm_server.base_url)
    build_crew(llm, memory=make_memory(llm, str(tmp_path / "memory"))).kickoff(
        inputs={"topic": "memory"}
    )
    finished = list(spans.get_finished_spans())
    tasks = by_name(finished, "invoke_agent ")
    chats = by_name(finished, "chat ")
    assert len(tasks) == 2 and chats

    beneath: dict[int, list[Any]] = {t.context.span_id: [] for t in tasks}
    late = []
    for chat in chats:
        task = _task_of(finished, chat)
        beneath[task.context.span_id].append(chat)
        if chat.start_time > task.end_time:
            late.append(chat)
            assert parent_of(finished, chat).name == "memory save"
    assert late, "no memory extraction call started after its task returned"

    for task in tasks:
        mine = beneath[task.context.span_id]
        expected = (sum(tokens(c)[0] for c in mine), sum(tokens(c)[1] for c in mine))
        assert tokens(task) == expected, task.name
        assert task.attributes["crewscope.llm.calls"] == len(mine)
    # the task span keeps the duration of its call: it ended before its late calls did
    for chat in late:
        assert _task_of(finished, chat).end_time < chat.end_time
    [crew] = by_name(finished, "invoke_workflow ")
    assert tokens(crew) == tuple(map(sum, zip(*(tokens(t) for t in tasks), strict=True)))
    assert tokens(crew) == (sum(tokens(c)[0] for c in chats), sum(tokens(c)[1] for c in chats))
