"""Runs: list, filters, pagination, detail with the span tree, 404/422."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def test_list_newest_first_with_total(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"{API}/runs")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(seeded.runs)
    assert (body["limit"], body["offset"]) == (20, 0)
    assert len(body["runs"]) == 20
    starts = [run["start_time"] for run in body["runs"]]
    assert starts == sorted(starts, reverse=True)
    assert body["runs"][0]["trace_id"] == seeded.runs[0].trace_id


def test_pagination_edges(client: TestClient, seeded: Seeded) -> None:
    n = len(seeded.runs)
    all_ids = [r["run_id"] for r in client.get(f"{API}/runs?limit=100").json()["runs"]]
    assert len(all_ids) == n == len(set(all_ids))
    page = client.get(f"{API}/runs?limit=7&offset=35").json()
    assert [r["run_id"] for r in page["runs"]] == all_ids[35:42]
    past = client.get(f"{API}/runs?limit=5&offset={n}").json()
    assert past["runs"] == [] and past["total"] == n
    for bad in ("limit=0", "limit=101", "offset=-1", "limit=abc"):
        assert client.get(f"{API}/runs?{bad}").status_code == 422, bad


def test_filters(client: TestClient, seeded: Seeded) -> None:
    crew = "trading_crew"
    body = client.get(f"{API}/runs?crew={crew}&limit=100").json()
    assert body["total"] == sum(1 for c, _, _ in seeded.run_specs if c == crew)
    assert {r["crew"] for r in body["runs"]} == {crew}
    failed = client.get(f"{API}/runs?status=failed&limit=100").json()
    expected_failed = sum(1 for _, _, specs in seeded.run_specs if any(s.failed for s in specs))
    assert failed["total"] == expected_failed > 0
    assert all(r["status"] == "failed" and r["error_preview"] for r in failed["runs"])
    done = client.get(f"{API}/runs?status=completed").json()
    assert done["total"] == len(seeded.runs) - expected_failed
    since = seeded.now - timedelta(days=3)
    ranged = client.get(
        f"{API}/runs", params={"start_date_from": since.isoformat() + "Z", "limit": 100}
    ).json()
    assert ranged["total"] == sum(1 for _, start, _ in seeded.run_specs if start >= since)
    until = client.get(f"{API}/runs", params={"start_date_to": since.isoformat() + "+00:00"}).json()
    assert until["total"] + ranged["total"] == len(seeded.runs)
    assert client.get(f"{API}/runs?crew=nope").json() == {
        "runs": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


def test_bad_filters_are_422_with_reason(client: TestClient) -> None:
    r = client.get(f"{API}/runs?status=RUNNING")
    assert r.status_code == 422 and "status" in r.text
    r = client.get(
        f"{API}/runs?start_date_from=2025-02-01T00:00:00&start_date_to=2025-01-01T00:00:00"
    )
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "range_reversed" and error["loc"] == ["query", "start_date_to"]
    assert client.get(f"{API}/runs?start_date_from=yesterday").status_code == 422


def test_summary_fields(client: TestClient, seeded: Seeded) -> None:
    run = client.get(f"{API}/runs?limit=1").json()["runs"][0]
    _, _, specs = seeded.run_specs[0]
    assert run["task_count"] == len(specs)
    assert run["input_tokens"] == sum(s.input_tokens * s.steps for s in specs)
    assert run["total_tokens"] == run["input_tokens"] + run["output_tokens"]
    assert abs(run["cost_usd"] - 0.0015 * sum(s.steps for s in specs)) < 1e-12
    assert run["input_summary"] == {"topic": "t0"}
    assert run["llm_calls"] == sum(s.steps for s in specs)


def test_unpriced_run_has_null_cost(client: TestClient, seeded: Seeded) -> None:
    run = client.get(f"{API}/runs/{seeded.runs[9].trace_id}").json()
    assert run["cost_usd"] is None


def test_detail_span_tree(client: TestClient, seeded: Seeded) -> None:
    run = seeded.runs[5]
    _, _, specs = seeded.run_specs[5]
    r = client.get(f"{API}/runs/{run.trace_id}")
    assert r.status_code == 200
    body = r.json()
    assert [s["name"] for s in body["spans"]] == [f"invoke_workflow {seeded.run_specs[5][0]}"]
    root = body["spans"][0]
    tasks = [c for c in root["children"] if c["operation"] == "invoke_agent"]
    assert [t["agent"] for t in tasks] == [s.agent for s in specs]
    first = tasks[0]
    steps = [c for c in first["children"] if c["name"].startswith("step ")]
    assert len(steps) == specs[0].steps
    chat = steps[0]["children"][0]
    assert chat["operation"] == "chat" and chat["kind"] == "Client"
    assert chat["input_tokens"] == specs[0].input_tokens
    assert body["counts"]["spans"] == len(run.rows)
    assert body["counts"]["llm_calls"] == sum(s.steps for s in specs)
    assert body["counts"]["errors"] == sum(1 for row in run.rows if row["StatusCode"] == "Error")
    assert {e["span_name"] for e in body["errors"]} <= {row["SpanName"] for row in run.rows}


def test_detail_404_and_422(client: TestClient) -> None:
    r = client.get(f"{API}/runs/{'0' * 32}")
    assert r.status_code == 404
    [error] = r.json()["detail"]
    assert error["type"] == "not_found" and error["loc"] == ["path", "run_id"]
    assert "not found" in error["msg"]
    assert client.get(f"{API}/runs/not-a-trace-id").status_code == 422
