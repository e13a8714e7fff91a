"""Tasks: list, filters, pagination, detail with steps/tools/LLM calls, 404/422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def test_list_and_filters(client: TestClient, seeded: Seeded) -> None:
    all_tasks = seeded.tasks()
    body = client.get(f"{API}/tasks").json()
    assert body["total"] == len(all_tasks) and len(body["tasks"]) == 20
    writer = client.get(f"{API}/tasks?agent=Writer&limit=100").json()
    assert writer["total"] == len(seeded.tasks("Writer"))
    assert {t["agent"] for t in writer["tasks"]} == {"Writer"}
    failed = client.get(f"{API}/tasks?agent=Analyst&status=failed&limit=100").json()
    assert failed["total"] == sum(1 for s in seeded.tasks("Analyst") if s.failed) > 0
    assert all(t["error_type"] and t["error_preview"] for t in failed["tasks"])
    crew = client.get(f"{API}/tasks?crew=research_crew&limit=100").json()
    expected = sum(len(specs) for c, _, specs in seeded.run_specs if c == "research_crew")
    assert crew["total"] == expected
    run = seeded.runs[3]
    by_run = client.get(f"{API}/tasks?run_id={run.trace_id}").json()
    assert by_run["total"] == len(seeded.run_specs[3][2])
    assert client.get(f"{API}/tasks?agent=Writer&offset=1000").json()["tasks"] == []
    assert client.get(f"{API}/tasks?run_id=xyz").status_code == 422
    assert client.get(f"{API}/tasks?limit=101").status_code == 422


def test_detail(client: TestClient, seeded: Seeded) -> None:
    run = seeded.runs[10]  # run 10: two steps per task, the first tool call fails
    _, _, specs = seeded.run_specs[10]
    task_row = next(r for r in run.rows if r.get("GenAiOperation") == "invoke_agent")
    r = client.get(f"{API}/tasks/{task_row['SpanId']}")
    assert r.status_code == 200
    body = r.json()
    assert body["trace_id"] == run.trace_id and body["agent"] == specs[0].agent
    assert len(body["spans"]) == 1 and body["spans"][0]["span_id"] == task_row["SpanId"]
    names = [c["name"] for c in body["spans"][0]["children"]]
    assert names.count(f"step {specs[0].agent}") == specs[0].steps
    assert body["counts"]["llm_calls"] == specs[0].steps
    assert abs(body["cost_usd"] - 0.0015 * specs[0].steps) < 1e-12
    assert body["counts"]["tool_calls"] == specs[0].steps - 1 == 1
    assert [e["error_type"] for e in body["errors"]] == ["RuntimeError"]
    steps = [c for c in body["spans"][0]["children"] if c["name"].startswith("step ")]
    tool = steps[0]["children"][-1]
    assert tool["operation"] == "execute_tool" and tool["events"][0]["name"] == "exception"


def test_detail_404_422(client: TestClient) -> None:
    assert client.get(f"{API}/tasks/{'a' * 16}").status_code == 404
    assert client.get(f"{API}/tasks/zz").status_code == 422
