"""Daily rollups: values, idempotent refresh, filters, 422."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.helpers.seed import Seeded
from tests.helpers.served import API


def _rows(client: TestClient, **params: object) -> list[dict]:
    body = client.get(f"{API}/rollups/daily", params={"limit": 1000, **params}).json()
    return body["rows"]


def test_agent_rollup_matches_numpy(client: TestClient, seeded: Seeded) -> None:
    by_day: dict[tuple[date, str], list[float]] = defaultdict(list)
    failures: dict[tuple[date, str], int] = defaultdict(int)
    for _, start, specs in seeded.run_specs:
        t = start
        for s in specs:  # tasks start 1 ms after the previous one ended
            t += timedelta(milliseconds=1)
            by_day[(t.date(), s.agent)].append(s.duration_ms)
            failures[(t.date(), s.agent)] += s.failed
            t += timedelta(milliseconds=s.duration_ms)
    rows = _rows(client, date_from=(seeded.now - timedelta(days=30)).date().isoformat())
    assert len(rows) == len(by_day)
    for row in rows:
        key = (date.fromisoformat(row["day"]), row["agent"])
        d = np.array(by_day[key])
        assert row["executions"] == len(d)
        assert row["failed"] == failures[key]
        assert row["avg_ms"] == pytest.approx(d.mean())
        assert row["p50_ms"] == pytest.approx(np.percentile(d, 50))
        assert row["p95_ms"] == pytest.approx(np.percentile(d, 95))
        assert row["p99_ms"] == pytest.approx(np.percentile(d, 99))
        assert row["success_rate"] == pytest.approx(100 * (len(d) - failures[key]) / len(d))


def test_refresh_is_idempotent(client: TestClient, seeded: Seeded) -> None:
    def snapshot() -> list[str]:
        rows = _rows(client, date_from="2000-01-01") + _rows(
            client, group_by="crew", date_from="2000-01-01"
        )
        return sorted(
            repr(sorted((k, v) for k, v in r.items() if k != "refreshed_at")) for r in rows
        )

    before = snapshot()
    for _ in range(2):
        r = client.post(f"{API}/rollups/refresh")
        assert r.status_code == 200 and r.json()["agent_rows"] > 0
        assert snapshot() == before
    partial = client.post(
        f"{API}/rollups/refresh", params={"date_from": seeded.now.date().isoformat()}
    )
    assert partial.json()["days"] == 1
    assert snapshot() == before


def test_crew_rollup_and_filters(client: TestClient, seeded: Seeded) -> None:
    rows = _rows(client, group_by="crew", crew="research_crew", date_from="2000-01-01")
    assert {r["crew"] for r in rows} == {"research_crew"}
    assert sum(r["executions"] for r in rows) == sum(
        1 for c, _, _ in seeded.run_specs if c == "research_crew"
    )
    writer = _rows(client, agent="Writer", date_from="2000-01-01")
    assert {r["agent"] for r in writer} == {"Writer"}
    page = client.get(f"{API}/rollups/daily?limit=2&offset=1&date_from=2000-01-01").json()
    assert len(page["rows"]) == 2 and page["total"] > 3
    every = client.get(f"{API}/rollups/daily?limit=100&date_from=2000-01-01").json()
    assert every["total"] == len(every["rows"]) == page["total"]
    past = client.get(f"{API}/rollups/daily?limit=2&offset=1000&date_from=2000-01-01").json()
    assert past["rows"] == [] and past["total"] == page["total"]  # counted apart
    none = client.get(f"{API}/rollups/daily?agent=nobody&date_from=2000-01-01").json()
    assert none["rows"] == [] and none["total"] == 0
    assert client.get(f"{API}/rollups/daily?group_by=model").status_code == 422
    r = client.get(f"{API}/rollups/daily?date_from=2025-02-01&date_to=2025-01-01")
    assert r.status_code == 422
