"""CSV and JSON exports (streamed)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def test_runs_csv_and_json_agree(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"{API}/export/runs?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(seeded.runs)
    j = client.get(f"{API}/export/runs?format=json")
    assert j.headers["content-type"].startswith("application/json")
    items = j.json()
    assert [i["run_id"] for i in items] == [row["run_id"] for row in rows]
    assert items[0]["trace_id"] == seeded.runs[0].trace_id
    assert {i["status"] for i in items} == {"completed", "failed"}


def test_tasks_export_filters(client: TestClient, seeded: Seeded) -> None:
    items = client.get(f"{API}/export/tasks?format=json&agent=Analyst&status=failed").json()
    assert len(items) == sum(s.failed for s in seeded.tasks("Analyst")) > 0
    assert {i["agent"] for i in items} == {"Analyst"}
    empty = client.get(f"{API}/export/tasks?format=json&agent=Nobody")
    assert empty.json() == []
    header_only = client.get(f"{API}/export/tasks?agent=Nobody").text
    assert header_only.startswith("task_id,run_id") and header_only.count("\n") == 1


def test_rollups_export(client: TestClient) -> None:
    items = client.get(f"{API}/export/rollups_agent?format=json").json()
    assert items and {"day", "agent", "p95_ms", "cost_usd"} <= set(items[0])
    crews = list(csv.DictReader(io.StringIO(client.get(f"{API}/export/rollups_crew").text)))
    assert {c["crew"] for c in crews} == {"research_crew", "trading_crew"}


def test_export_bad_params(client: TestClient) -> None:
    assert client.get(f"{API}/export/users").status_code == 422
    assert client.get(f"{API}/export/runs?format=xml").status_code == 422
