"""``CREWSCOPE_TENANT``: the in-process exporters stamp ``crewscope.tenant`` on every row's
resource, replacing any value the app's resource claims; `stamp_table` on the shapes the
exporters and the receiver write (plain and dictionary-encoded maps, nulls, slices)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from crewscope.exporter.tenant import TENANT_ATTRIBUTE, TenantNameError, check_tenant, stamp_table
from tests.helpers.env import subprocess_env

MAPS = pa.map_(pa.string(), pa.string())

APP = textwrap.dedent(
    """
    import json, logging, os
    from crewai import Agent, Crew, LLM, Task

    llm = LLM(model="gpt-4o-mini", base_url=os.environ["FAKE_LLM_URL"], api_key="sk-local")
    agent = Agent(role="Stamped Analyst", goal="g", backstory="b", llm=llm)
    task = Task(description="Say hi", expected_output="hi", agent=agent)
    out = Crew(name="stamped_crew", agents=[agent], tasks=[task]).kickoff()
    logging.getLogger("stamped").warning("done")
    print(json.dumps({"raw": out.raw}))
    """
)
TABLES = ("otel_traces", "otel_logs", "otel_metrics_sum", "otel_metrics_gauge")


def _stamped(rows: list[Any], tenant: str = "team-a") -> list[Any]:
    return [None if r is None else [*r, (TENANT_ATTRIBUTE, tenant)] for r in rows]


def test_stamp_replaces_a_claimed_tenant_and_fills_null_maps() -> None:
    maps = pa.array(
        [[("a", "1"), (TENANT_ATTRIBUTE, "team-z"), ("b", "2")], None, [], [("c", "3")]], MAPS
    )
    table = pa.table({"Other": [1, 2, 3, 4], "ResourceAttributes": maps})
    out = stamp_table(table, "team-a")
    assert out.column("Other").to_pylist() == [1, 2, 3, 4]
    assert out.column("ResourceAttributes").to_pylist() == [
        [("a", "1"), ("b", "2"), (TENANT_ATTRIBUTE, "team-a")],
        [(TENANT_ATTRIBUTE, "team-a")],
        [(TENANT_ATTRIBUTE, "team-a")],
        [("c", "3"), (TENANT_ATTRIBUTE, "team-a")],
    ]
    assert out.schema == table.schema
    sliced = stamp_table(table.slice(1, 3), "team-b").column("ResourceAttributes").to_pylist()
    assert sliced == [[(TENANT_ATTRIBUTE, "team-b")]] * 2 + [
        [("c", "3"), (TENANT_ATTRIBUTE, "team-b")]
    ]


def test_stamp_of_dictionary_encoded_resources_in_chunks() -> None:
    """The receiver's shape: one map per resource, indices per row, several chunks."""
    resources = pa.array(
        [[("service.name", "s1"), (TENANT_ATTRIBUTE, "x")], [("service.name", "s2")]], MAPS
    )
    chunk = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.int32()), resources)
    column = pa.chunked_array([chunk, chunk.slice(1, 2)])
    out = stamp_table(pa.table({"ResourceAttributes": column}), "team-a").column(0)
    assert out.type == column.type  # still dictionary-encoded: the writer's schema holds
    s1, s2 = [("service.name", "s1")], [("service.name", "s2")]
    assert out.to_pylist() == _stamped([s1, s2, [], s1, s2, []])


def test_a_table_without_resources_is_left_alone() -> None:
    table = pa.table({"Value": [1.0]})
    assert stamp_table(table, "team-a") is table


@pytest.mark.parametrize("name", ["", "Team-A", "-a", "a b", "a/b", "x" * 64, "ä"])
def test_invalid_tenant_names_are_refused(name: str) -> None:
    with pytest.raises(TenantNameError):
        check_tenant(name, "test")


def _run_app(
    tmp_path: Path, llm_url: str, db: Path, tenant: str
) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    bindir = Path(sys.executable).parent
    env = subprocess_env(
        FAKE_LLM_URL=llm_url, OPENAI_API_KEY="sk-local", CREWSCOPE_DB=str(db),
        CREWSCOPE_TENANT=tenant, OTEL_SERVICE_NAME="stamped-app",
        OTEL_RESOURCE_ATTRIBUTES="crewscope.tenant=team-z",  # a claim the exporter overrides
        OTEL_TRACES_EXPORTER="duckdb", OTEL_METRICS_EXPORTER="duckdb", OTEL_LOGS_EXPORTER="duckdb",
        OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED="true", OTEL_METRIC_EXPORT_INTERVAL="500",
    )  # fmt: skip
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), str(bindir / "python"), str(app)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["raw"]
    return proc


def _tenants(db: Path) -> dict[str, set[Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: {r[0] for r in con.execute(
                f"SELECT DISTINCT ResourceAttributes['{TENANT_ATTRIBUTE}'] FROM {t}"
            ).fetchall()}
            for t in TABLES
        }  # fmt: skip
    finally:
        con.close()


def test_zero_code_app_writes_its_tenant_on_every_signal(tmp_path: Path, llm_server: Any) -> None:
    db = tmp_path / "stamped.duckdb"
    _run_app(tmp_path, llm_server.base_url, db, "team-a")
    assert _tenants(db) == {t: {"team-a"} for t in TABLES}


def test_an_invalid_tenant_is_reported_and_the_app_runs(tmp_path: Path, llm_server: Any) -> None:
    db = tmp_path / "unstamped.duckdb"
    proc = _run_app(tmp_path, llm_server.base_url, db, "Not A Tenant")
    assert "CREWSCOPE_TENANT" in proc.stderr and "not valid" in proc.stderr
    assert _tenants(db)["otel_traces"] == {"team-z"}  # written as the app's resource says
