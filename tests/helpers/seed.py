"""The generated query API database: `seed_database` and a record of what went into it.

Tests compare the API with figures computed here in Python from the specs (an independent
computation), never with the API's own SQL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opentelemetry.sdk.trace import ReadableSpan

from tests.helpers.spans import RunBuilder, TaskSpec, build_run, http_span, insert_spans, new_db

AGENTS = ("Researcher", "Writer", "Analyst")
CREWS = ("research_crew", "trading_crew")


@dataclass
class Seeded:
    """A generated database and what went into it."""

    path: str
    now: datetime
    runs: list[RunBuilder] = field(default_factory=list)
    run_specs: list[tuple[str, datetime, list[TaskSpec]]] = field(default_factory=list)
    http: list[tuple[str, int, float]] = field(default_factory=list)

    def tasks(self, agent: str | None = None, since: datetime | None = None) -> list[TaskSpec]:
        return [
            spec
            for _, start, specs in self.run_specs
            for spec in specs
            if (agent is None or spec.agent == agent) and (since is None or start >= since)
        ]


def seed_database(path: str, now: datetime, n_runs: int = 40, seed: int = 7) -> Seeded:
    """`n_runs` runs over the last ~10 days (newest 2 h ago), plus HTTP server spans."""
    rng = random.Random(seed)
    out = Seeded(path=path, now=now)
    spans: list[ReadableSpan] = []
    for i in range(n_runs):
        crew = CREWS[i % 2]
        start = now - timedelta(hours=2 + i * 6, minutes=rng.randint(0, 30))
        specs = []
        for j, agent in enumerate(AGENTS[: 2 + i % 2]):
            specs.append(
                TaskSpec(
                    agent=agent,
                    task=f"task_{j}",
                    duration_ms=round(rng.uniform(200, 5000), 3),
                    failed=(agent == "Analyst" and i % 3 == 0)
                    or (agent == "Writer" and i % 7 == 0),
                    error="TimeoutError: provider timed out" if i % 2 else "ValueError: bad input",
                    steps=1 + i % 3,
                    tool_fails=(i % 5 == 0),
                    model="mystery-model" if i % 10 == 9 else "gpt-4o-mini",
                    cost=None if i % 10 == 9 else 0.0015,
                    input_tokens=100 + i,
                    output_tokens=10 + j,
                )
            )
        run = build_run(rng, crew, start, specs, inputs={"topic": f"t{i}"}, memory_agent="Writer")
        out.runs.append(run)
        out.run_specs.append((crew, start, specs))
        spans += run.spans
    for k in range(60):
        route = "/items/{id}" if k % 3 else "/health"
        status = 500 if k % 17 == 0 else (404 if k % 5 == 0 else 200)
        ms = round(rng.uniform(1, 80), 3)
        spans.append(http_span(rng, route, status, now - timedelta(minutes=5 + k), ms))
        out.http.append((route, status, ms))
    with new_db(path) as store:
        insert_spans(store, spans)
    return out
