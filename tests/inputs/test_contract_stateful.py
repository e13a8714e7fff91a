"""The OpenAPI contract, stateful: sequences of calls that feed one answer into the next.

The schema has no OpenAPI ``links``; schemathesis 4.32.5 infers them from the response and
parameter schemas (its ``dependency-analysis`` inference): a run id from ``GET /runs`` into
``GET /runs/{run_id}``, ``/runs/{run_id}/logs`` and ``/tasks?run_id=``, an agent name from
``GET /agents`` or ``/dashboard`` into ``/agents/{agent}/metrics``, ``/memory/stats``,
``/activity``, and so on (`test_links_are_inferred` pins what is found). Each scenario
walks those links over the seeded database, every answer checked as in
tests/query_api/test_openapi_contract.py (same checks, same app), so ids and names that
exist reach the detail endpoints, not only random strings that 404. Deterministic and
bounded (`SCENARIOS` x at most `STEPS` calls).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import settings

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.contract import CHECKS, SKIPPED_PATHS, NoLifespan, published_schema
from tests.helpers.seed import seed_database
from tests.helpers.served import API

SCENARIOS = 30
STEPS = 8
CASES: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "deterministic": True},
        "phases": {"stateful": {"enabled": True, "max-steps": STEPS}},
    }
)
RUN_PATHS = [f"{API}/runs", f"{API}/runs/{{run_id}}", f"{API}/runs/{{run_id}}/logs"]
TASK_PATHS = [f"{API}/tasks", f"{API}/tasks/{{task_id}}", f"{API}/tasks/{{task_id}}/logs"]


def _with_task_links(document: dict[str, Any]) -> dict[str, Any]:
    """`document` plus the links schemathesis does not infer: a task id from ``GET /tasks``
    into the task's detail and logs."""
    paths = document["paths"]
    ok = paths[f"{API}/tasks"]["get"]["responses"]["200"]
    ok["links"] = {
        f"Task{what}": {
            "operationId": paths[f"{API}/tasks/{{task_id}}{suffix}"]["get"]["operationId"],
            "parameters": {"task_id": "$response.body#/tasks/0/task_id"},
        }
        for what, suffix in (("Detail", ""), ("Logs", "/logs"))
    }
    return document


DOCUMENT = _with_task_links(published_schema())
SCHEMAS = {
    # every operation: the inferred roots are the lists without inputs (agents, dashboard)
    "all": schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(
        path=list(SKIPPED_PATHS)
    ),
    # runs alone: GET /runs takes a parent run id that nothing above produces, so it is
    # no root there (schemathesis starts only from "reliable" roots when there are any);
    # alone, it is the root, and its run ids reach the run and its logs
    "runs": schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).include(path=RUN_PATHS),
    # tasks alone: task ids from GET /tasks into the task and its logs (the links above)
    "tasks": schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).include(path=TASK_PATHS),
}
LINKED = {"all": [f"{API}/agents/{{agent}}/metrics"], "runs": RUN_PATHS, "tasks": TASK_PATHS}
schema = SCHEMAS["all"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoLifespan]:
    path = tmp_path_factory.mktemp("stateful") / "seeded.duckdb"
    seed_database(str(path), utcnow())
    app = create_app(str(path), rollup_interval_s=0, retention_days=None, self_telemetry=False)
    with TestClient(app) as client:
        assert client.post(f"{API}/rollups/refresh").status_code == 200
        yield NoLifespan(client.app)


def test_links_are_inferred() -> None:
    schema.as_state_machine()  # injects the inferred links
    transitions = schema.statistic.transitions
    assert transitions.total >= 10, transitions
    pool = schema.statistic.resource_pool
    assert f"GET {API}/runs" in pool.producer_labels
    assert {f"GET {API}/runs/{{run_id}}", f"GET {API}/agents/{{agent}}/metrics"} <= set(
        pool.consumer_labels
    )


@pytest.mark.parametrize("which", list(SCHEMAS))
def test_linked_calls_keep_the_contract(app: NoLifespan, which: str) -> None:
    base = SCHEMAS[which].as_state_machine()
    CASES.clear()
    STATUSES.clear()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"app": app}

        def after_call(self, response: Any, case: Any) -> None:
            CASES[f"{case.method} {case.path}"] += 1
            STATUSES[f"{case.method} {case.path} {response.status_code}"] += 1

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
        )  # fmt: skip
    )
    print(f"\nstateful contract ({which}): {CASES.total()} calls over {len(CASES)} operations:")
    for label, n in sorted(STATUSES.items()):
        print(f"  {n:4} {label}")
    # the links were followed with ids that exist: the detail endpoints answered 200
    assert all(STATUSES[f"GET {path} 200"] > 0 for path in LINKED[which]), STATUSES
