"""SQL injection through every query and path parameter of the query API.

The parameters are enumerated from ``app.openapi()`` (a parameter added later is covered
without editing this file). The app serves the generated database (tests/helpers/seed.py)
plus "trap" rows whose names hold the characters an injection or a LIKE pattern plays
with (``%``, ``_``, ``'``, ``"``, ``\\``). For each operation, each of its parameters, each
payload (`PAYLOADS`; typed parameters get `TYPED_PAYLOADS`, all refused by validation):

- the answer is no 5xx;
- it equals the answer for a harmless value that matches nothing (``z`` repeated to the
  payload's length, for the same length limits): the same status and, for a 200, the same
  body once the echoed value is put back (volatile fields, those that differ between two
  identical requests, left out). An injection that widened a filter (``' OR 1=1 --``), a
  LIKE wildcard left unescaped (``%``, ``_``, ``research%``) or a failed statement would
  answer differently;
- for the text searches (``q``), where a payload may match: every row returned contains
  the payload (case-insensitively, as the searches are documented);
- afterwards every table holds the rows it held before (counts of every table of the file).

And the trap rows are found by their exact names, and only they (`test_trap_names_match_
literally`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from crewscope.query_api import create_app
from crewscope.query_api.dates import utcnow
from tests.helpers.seed import seed_database
from tests.helpers.spans import TaskSpec, build_run, insert_spans, new_db
from tests.inputs import wire
from tests.inputs.values import key_values

TRAP_CREW = 'trap 100%_crew o\'brien "q" back\\slash'
TRAP_AGENT = 'Agent_%\'\\ "x"'
TRAP_TASK = "task %_' \\"
TRAP_ERROR = "TrapError: 50%_off o'clock \\n"
TRAP_SERVICE = "svc_%'\\"
TRAP_BODY = 'log 100% done_ok o\'brien \\path "q"'

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    '"; DROP TABLE otel_traces; --',
    "'; DROP TABLE otel_traces; --",
    "research_crew' --",
    "1) OR (1=1",
    "%' UNION SELECT * FROM otel_traces --",
    "*/ OR 1=1 /*",
    "%",
    "_",
    "%%",
    "research%",
    "resea_ch_crew",
    "Researche_",
    "\\",
    "\\%",
    "'",
    '"',
    "\x00",
    "Researcher\x00' OR 1=1 --",
    "$1",
    "$agent",
    "{{where}}",
    "?",
    "\u0130\u00df\U0001f600\u202e\u0000",
    "\uff32\uff45\uff53\uff45\uff41\uff52\uff43\uff48\uff45\uff52",  # fullwidth Researcher
    "x' OR 1=1 --" + "y" * 4988,  # 5000 characters
]
TYPED_PAYLOADS = ["' OR 1=1 --", "1 OR 1=1", "1; DROP TABLE otel_traces", "%", "\x00", "1e3"]
"""For enum, integer, boolean and date parameters: all must be refused (422) by validation."""

API = "/api/v1/monitoring"
VALID_PATH = {"dataset": "runs", "agent": "Researcher"}  # run_id, task_id: from the data
TEXT_SEARCH = {"q"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = str(tmp_path_factory.mktemp("injection") / "injection.duckdb")
    now = utcnow()
    seeded = seed_database(path, now)
    rng = random.Random(11)
    traps = [
        build_run(rng, TRAP_CREW, now - timedelta(hours=3 + i),
                  [TaskSpec(agent=TRAP_AGENT, task=TRAP_TASK, duration_ms=300.0, failed=i == 0,
                            error=TRAP_ERROR, model="trap_%'model")])
        for i in range(2)
    ]  # fmt: skip
    with new_db(path) as store:
        insert_spans(store, [s for run in traps for s in run.spans])
    app = create_app(path, rollup_interval_s=0, retention_days=None, self_telemetry=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        run_id = _first(client, "/runs", "runs", "run_id")
        task_id = _first(client, "/tasks", "tasks", "task_id")
        _post_trap_logs(client, traps[0])
        assert client.post(f"{API}/rollups/refresh").status_code == 200
        yield {
            "client": client, "app": app, "seeded": seeded, "run_id": run_id,
            "task_id": task_id, "traps": traps,
        }  # fmt: skip


def _first(client: TestClient, path: str, key: str, field: str) -> str:
    r = client.get(f"{API}{path}")
    assert r.status_code == 200, r.text
    return str(r.json()[key][0][field])


def _post_trap_logs(client: TestClient, run: Any) -> None:
    crew_span = run.spans[-1]  # the crew span is made last
    run_id = format(crew_span.context.span_id, "016x")
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(key_values([("service.name", ("string", TRAP_SERVICE))]))
    sl = rl.scope_logs.add()
    for i, body in enumerate([TRAP_BODY, "plain body", "under_score", "back\\slash only"]):
        sl.log_records.add(
            time_unix_nano=crew_span.start_time + 1000 * (i + 1), severity_number=13,
            trace_id=crew_span.context.trace_id.to_bytes(16, "big"),
            body={"string_value": body},  # type: ignore[arg-type]
            attributes=key_values([
                ("crewscope.run.id", ("string", run_id)),
                ("crewscope.run.root_id", ("string", run_id)),
                ("crewai.crew.name", ("string", TRAP_CREW)),
                ("gen_ai.agent.name", ("string", TRAP_AGENT)),
            ]),
        )  # fmt: skip
    data, headers = wire.body(request, "protobuf")
    assert client.post("/v1/logs", content=data, headers=headers).status_code == 200


def _operations() -> list[tuple[str, str, list[dict[str, Any]]]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"{tmp}/schema.duckdb", rollup_interval_s=0, retention_days=None)
        with TestClient(app):
            document = app.openapi()
    out = []
    for path, item in document["paths"].items():
        if not path.startswith(API):
            continue
        for method, operation in item.items():
            params = operation.get("parameters", [])
            if params:
                out.append((method.upper(), path, params))
    return out


OPERATIONS = _operations()


def _is_text(param: dict[str, Any]) -> bool:
    schema = param["schema"]
    kinds = [schema] + schema.get("anyOf", [])
    return any(k.get("type") == "string" and not k.get("format") and "enum" not in k
               for k in kinds) and "$ref" not in json.dumps(kinds)  # fmt: skip


def _url(world: dict[str, Any], path: str, name: str, value: str) -> tuple[str, dict[str, str]]:
    """The URL with `value` in path parameter `name` (or as query parameter `name`)."""
    filled = path
    for key in ("run_id", "task_id", "agent", "dataset"):
        if "{" + key + "}" in filled:
            v = value if key == name else world.get(key) or VALID_PATH[key]
            filled = filled.replace("{" + key + "}", quote(v, safe=""))
    return filled, ({} if "{" + name + "}" in path else {name: value})


def _call(client: TestClient, method: str, url: str, params: dict[str, str]) -> Any:
    return client.request(method, url, params=params)


def _body(r: Any) -> Any:
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json()
    return r.text


def _swap(node: Any, payload: str, benign: str) -> Any:
    if isinstance(node, dict):
        return {k: _swap(v, payload, benign) for k, v in node.items()}
    if isinstance(node, list):
        return [_swap(v, payload, benign) for v in node]
    return benign if node == payload else node


def _diff(a: Any, b: Any, at: str = "") -> set[str]:
    """JSON paths where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for k in a.keys() | b.keys():
            out |= _diff(a.get(k), b.get(k), f"{at}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = set()
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out |= _diff(x, y, f"{at}[{i}]")
        return out
    return set() if a == b else {at}


def _rows(body: Any) -> list[dict[str, Any]]:
    """The row lists of a list response (top-level lists of objects)."""
    if not isinstance(body, dict):
        return []
    return [row for v in body.values() if isinstance(v, list) for row in v if isinstance(row, dict)]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


CASES: dict[str, int] = {}


@pytest.mark.parametrize(
    ("method", "path", "params"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_no_parameter_injects_sql(
    world: dict[str, Any],
    counts_before: dict[str, int],
    method: str,
    path: str,
    params: list[dict[str, Any]],
) -> None:
    client: TestClient = world["client"]
    failures = []
    for param in params:
        name = param["name"]
        payloads = PAYLOADS if _is_text(param) else TYPED_PAYLOADS
        benign_cache: dict[int, tuple[Any, Any, set[str]]] = {}
        for payload in payloads:
            benign = "z" * len(payload)
            CASES[f"{method} {path}"] = CASES.get(f"{method} {path}", 0) + 1
            r = _call(client, method, *_url(world, path, name, payload))
            where = (name, payload[:40])
            if r.status_code >= 500:
                failures.append((*where, r.status_code, r.text[:200]))
                continue
            if name in TEXT_SEARCH and r.status_code == 200:
                for row in _rows(_body(r)):
                    if not any(payload.lower() in s.lower() for s in _strings(row)):
                        failures.append((*where, "row without the text", str(row)[:200]))
                continue
            size = 0 if len(payload) <= 200 else (1 if len(payload) <= 500 else 2)
            if size not in benign_cache:
                first = _call(client, method, *_url(world, path, name, benign))
                second = _call(client, method, *_url(world, path, name, benign))
                volatile = _diff(_body(first), _body(second)) if first.status_code == 200 else set()
                benign_cache[size] = (first, benign, volatile)
            first, benign_value, volatile = benign_cache[size]
            if "/" in payload and "{" + name + "}" in path and r.status_code == 404:
                continue  # a slash in a path parameter: another route, or none
            if r.status_code != first.status_code:
                failures.append((*where, r.status_code, "vs", first.status_code, r.text[:200]))
                continue
            if r.status_code == 200:
                differs = _diff(_swap(_body(r), payload, benign_value), _body(first)) - volatile
                if differs:
                    failures.append((*where, "answer differs from a value matching nothing",
                                     sorted(differs)[:5]))  # fmt: skip
    assert failures == []


OFFSET_OPERATIONS = [
    (m, p) for m, p, params in OPERATIONS if any(x["name"] == "offset" for x in params)
]


@pytest.mark.parametrize(("method", "path"), OFFSET_OPERATIONS,
                         ids=[f"{m} {p}" for m, p in OFFSET_OPERATIONS])  # fmt: skip
def test_a_huge_offset_is_refused_or_empty(world: dict[str, Any], method: str, path: str) -> None:
    """offset=10**40 (past a 128-bit integer, once a 500) is refused against the documented
    maximum."""
    url, params = _url(world, path, "offset", str(10**40))
    r = _call(world["client"], method, url, params)
    assert r.status_code < 500, r.text[:200]


def _counts(app: Any) -> dict[str, int]:
    cur = app.state.db.store.cursor()
    try:
        tables = [
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        return {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        cur.close()


@pytest.fixture(scope="module")
def counts_before(world: dict[str, Any]) -> dict[str, int]:
    return _counts(world["app"])


def test_trap_names_match_literally(world: dict[str, Any], counts_before: dict[str, int]) -> None:
    """Names full of quote, backslash and LIKE characters find exactly their rows."""
    client: TestClient = world["client"]

    def get(path: str, **params: Any) -> Any:
        r = client.get(f"{API}{path}", params=params)
        assert r.status_code == 200, (path, params, r.text[:300])
        return r.json()

    runs = get("/runs", crew=TRAP_CREW)["runs"]
    assert len(runs) == 2 and {r["crew"] for r in runs} == {TRAP_CREW}
    assert {r["run_id"] for r in get("/runs", name=TRAP_CREW)["runs"]} == {
        r["run_id"] for r in runs
    }
    assert {r["run_id"] for r in get("/runs", q="%")["runs"]} == {r["run_id"] for r in runs}
    assert {r["run_id"] for r in get("/runs", q='O\'BRIEN "Q" BACK\\')["runs"]} == {
        r["run_id"] for r in runs
    }
    assert {r["run_id"] for r in get("/runs", agent=TRAP_AGENT)["runs"]} == {
        r["run_id"] for r in runs
    }
    tasks = get("/tasks", agent=TRAP_AGENT)["tasks"]
    assert len(tasks) == 2 and {t["task"] for t in tasks} == {TRAP_TASK}
    assert len(get("/tasks", task=TRAP_TASK)["tasks"]) == 2
    assert get("/tasks", crew="trap 100%")["tasks"] == []
    assert client.get(f"{API}/agents/{quote(TRAP_AGENT, safe='')}/metrics").status_code == 200
    logs = get("/logs", service=TRAP_SERVICE)["logs"]
    assert len(logs) == 4 and {entry["service"] for entry in logs} == {TRAP_SERVICE}
    assert [entry["body"] for entry in get("/logs", q="%")["logs"]] == [TRAP_BODY]
    assert {entry["body"] for entry in get("/logs", q="_")["logs"]} == {TRAP_BODY, "under_score"}
    assert {entry["body"] for entry in get("/logs", q="\\")["logs"]} == {
        TRAP_BODY, "back\\slash only"
    }  # fmt: skip
    assert get("/logs", q="100%_")["logs"] == []
    assert get("/logs", service="svc_%")["logs"] == []
    assert get("/logs", crew=TRAP_CREW, agent=TRAP_AGENT)["total"] in (4, None)
    series = get("/metrics/tokens/series", model="trap_%'model", resolution="1h",
                 group_by="model")  # fmt: skip
    assert series is not None


def test_every_row_is_still_there(world: dict[str, Any], counts_before: dict[str, int]) -> None:
    """After every injection attempt (the tests above, in module order)."""
    after = _counts(world["app"])
    assert after == counts_before
    assert {"otel_traces", "otel_logs"} <= after.keys()
    print(f"\nsql injection: {sum(CASES.values())} requests over {len(CASES)} operations")
