"""Dashboard JSON and page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def test_dashboard(client: TestClient, seeded: Seeded) -> None:
    body = client.get(f"{API}/dashboard").json()
    periods = {t["period"]: t for t in body["totals"]}
    assert list(periods) == ["24h", "7d", "30d"]
    month = periods["30d"]
    assert month["runs"] == len(seeded.runs)
    assert month["executions"] == len(seeded.tasks())
    assert month["failed_executions"] == sum(s.failed for s in seeded.tasks())
    day = seeded.now - timedelta(days=1)
    assert periods["24h"]["runs"] == sum(1 for _, s, _ in seeded.run_specs if s >= day)
    assert body["average_success_rate"] == pytest.approx(month["success_rate"])
    assert body["top_agents"][0]["agent"] == "Researcher"  # never fails
    assert {a["agent"] for a in body["agents_with_issues"]} >= {"Analyst"}
    trend = body["executions_trend"]
    assert sum(p["executions"] for p in trend) == len(seeded.tasks())
    assert [p["day"] for p in trend] == sorted(p["day"] for p in trend)
