"""`pip install crewscope` (no extras) is what an instrumented app needs, and no web server.

Checked in fresh venvs built from this checkout:

- slim venv: crewscope without extras. None of the server packages (query API, receiver,
  CLI) is installed, declared unconditionally, needed by the declared dependencies, or
  imported by ``crewscope.instrumentation`` / ``crewscope.exporter``; the entry points load;
  the ``crewscope`` console script says in one line how to get the server extra.
- app venv: the same install, then ``crewai`` (as an app has it). A real crew, traced with
  ``configure()``, lands its spans in a DuckDB file; importing crewscope imports none of the
  server packages (``import crewai`` itself brings fastapi, grpc and rich through its own
  dependencies, so the check is made before crewai is imported).

Both venvs are built and cached by `tests.helpers.fresh_venv`.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.fresh_venv import (
    BUILD_TIMEOUT,
    PYPROJECT,
    app_env,
    checkout_venv,
    copy_sources,
    pip,
    pip_env,
    run,
)

SERVER_DISTRIBUTIONS = frozenset(
    {
        "fastapi",
        "starlette",
        "uvicorn",
        "websockets",
        "grpcio",
        "rich",
        "protobuf",
        "opentelemetry-proto",
        "googleapis-common-protos",
        "prometheus-client",
        "opentelemetry-exporter-prometheus",
        "opentelemetry-instrumentation-fastapi",
    }
)
"""What only the query API, the OTLP receiver and the CLI need (the ``server`` extra)."""

SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "websockets",
    "grpc",
    "rich",
    "google.protobuf",
    "opentelemetry.proto",
    "prometheus_client",
    "crewscope.query_api",
    "crewscope.exporter.receiver",
)


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sources(tmp_path_factory.mktemp("slim"))


@pytest.fixture(scope="module")
def slim_venv(source_tree: Path) -> Iterator[Path]:
    yield checkout_venv("slim", source_tree, lambda v: pip(v, "install", str(source_tree)))


@pytest.fixture(scope="module")
def app_venv(source_tree: Path) -> Iterator[Path]:
    (crewai_requirement,) = PYPROJECT["project"]["optional-dependencies"]["crewai"]

    def build(venv: Path) -> None:
        pip(venv, "install", str(source_tree))  # crewscope without extras, then the app's crewai
        pip(venv, "install", crewai_requirement)

    yield checkout_venv("app", source_tree, build)


SLIM_PROBE = textwrap.dedent(
    """
    import json, sys
    from importlib import metadata
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def closure(name):
        # every distribution the unconditional requirements of `name` pull in, extras included
        # where a requirement asks for them
        seen, todo = set(), [(name, frozenset())]
        while todo:
            dist_name, extras = todo.pop()
            key = (canonicalize_name(dist_name), extras)
            if key in seen:
                continue
            seen.add(key)
            for raw in metadata.requires(dist_name) or []:
                req = Requirement(raw)
                envs = [{"extra": e} for e in sorted(extras | {""})]
                if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                    todo.append((req.name, frozenset(req.extras)))
        return sorted({name for name, _ in seen})

    def declared(extra):
        out = []
        for raw in metadata.requires("crewscope") or []:
            req = Requirement(raw)
            if extra is None and req.marker is None:
                out.append(canonicalize_name(req.name))
            elif extra is not None and req.marker is not None and req.marker.evaluate(
                {"extra": extra}
            ):
                out.append(canonicalize_name(req.name))
        return sorted(out)

    before = set(sys.modules)
    import crewscope.exporter, crewscope.exporter.metric_exporter, crewscope.instrumentation
    import crewscope.instrumentation.configure
    imported = sorted(set(sys.modules) - before)
    entry_points = {}
    for group, name in [("opentelemetry_instrumentor", "crewai"),
                        ("opentelemetry_traces_exporter", "duckdb"),
                        ("opentelemetry_metrics_exporter", "duckdb")]:
        (ep,) = metadata.entry_points(group=group, name=name)
        entry_points[group] = ep.load().__name__
    print(json.dumps({
        "core": declared(None),
        "server": declared("server"),
        "closure": closure("crewscope"),
        "installed": sorted(canonicalize_name(d.name) for d in metadata.distributions()),
        "imported": imported,
        "entry_points": entry_points,
        "crewscope_file": crewscope.exporter.__file__,
    }))
    """
)


def _server_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith(SERVER_MODULES) or m == "crewai"]


@BUILD_TIMEOUT
def test_slim_install_brings_no_server_packages(slim_venv: Path, tmp_path: Path) -> None:
    # -I: not the checkout's folder (its crewscope.egg-info is the editable install's metadata)
    cmd = [str(slim_venv / "bin" / "python"), "-I", "-c", SLIM_PROBE]
    proc = run(cmd, env=pip_env(), cwd=tmp_path)
    probe = json.loads(proc.stdout)

    assert probe["crewscope_file"].startswith(str(slim_venv)), "not the venv's own install"
    assert "duckdb" in probe["core"] and "opentelemetry-sdk" in probe["core"]
    assert SERVER_DISTRIBUTIONS.isdisjoint(probe["core"])
    assert {"fastapi", "uvicorn", "grpcio", "rich"} <= set(probe["server"])
    assert SERVER_DISTRIBUTIONS.isdisjoint(probe["closure"])
    # nothing else pulled them in either: the app gets no web server
    assert SERVER_DISTRIBUTIONS.isdisjoint(probe["installed"])
    assert _server_modules(probe["imported"]) == []
    assert probe["entry_points"] == {
        "opentelemetry_instrumentor": "CrewAIInstrumentor",
        "opentelemetry_traces_exporter": "DuckDBSpanExporter",
        "opentelemetry_metrics_exporter": "DuckDBMetricExporter",
    }


@BUILD_TIMEOUT
def test_console_script_without_server_extra_says_what_to_install(
    slim_venv: Path, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(slim_venv / "bin" / "crewscope"), "serve", "--help"],
        env=pip_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pip install 'crewscope[server]'" in lines[0]


KICKOFF = textwrap.dedent(
    """
    import json, os, sys
    before = set(sys.modules)
    import crewscope.exporter, crewscope.instrumentation
    from crewscope.instrumentation.configure import configure
    from crewscope.demo.crew import build_crew, make_llm
    imported = sorted(set(sys.modules) - before)  # crewscope's own imports: crewai is lazy

    db = sys.argv[1]
    telemetry = configure(exporters=["duckdb"], metrics_exporters=["duckdb"], db_path=db,
                          service_name="slim-app", process_metrics=False)
    crew = build_crew(make_llm(os.environ["FAKE_LLM_URL"]))
    out = crew.kickoff(inputs={"topic": "DuckDB"})
    telemetry.shutdown()

    import duckdb  # read back in this venv: its DuckDB wrote the file
    con = duckdb.connect(db, read_only=True)
    spans = con.execute(
        '''SELECT SpanName, GenAiOperation, InputTokens, OutputTokens, StatusCode, ParentSpanId
           FROM otel_traces ORDER BY Timestamp'''
    ).fetchall()
    metrics = con.execute(
        "SELECT DISTINCT MetricName FROM otel_metrics_histogram ORDER BY 1"
    ).fetchall()
    print(json.dumps({"imported": imported, "raw": out.raw, "spans": spans,
                      "metrics": [m[0] for m in metrics]}))
    """
)


@BUILD_TIMEOUT
def test_crew_traced_with_slim_install_and_crewai(app_venv: Path, tmp_path: Path, llm_server):
    db = tmp_path / "app.duckdb"
    env = app_env(
        FAKE_LLM_URL=llm_server.base_url,
        OPENAI_API_KEY="sk-local",
        OTEL_TRACES_EXPORTER="duckdb",
        OTEL_METRICS_EXPORTER="duckdb",
    )
    proc = subprocess.run(
        [str(app_venv / "bin" / "python"), "-c", KICKOFF, str(db)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])

    assert _server_modules(result["imported"]) == []
    assert result["raw"]
    spans = result["spans"]
    names = [s[0] for s in spans]
    [root] = [s for s in spans if s[5] == ""]
    assert root[0] == "invoke_workflow research_crew" and root[4] == "Ok"
    assert [n for n in names if n.startswith("invoke_agent")] == [
        "invoke_agent Researcher",
        "invoke_agent Writer",
    ]
    assert "execute_tool word_counter" in names
    chats = [s for s in spans if s[1] == "chat"]
    reported = [(c.prompt_tokens, c.completion_tokens) for c in llm_server.calls]
    assert len(chats) == len(reported) >= 2
    assert [(c[2], c[3]) for c in chats] == reported
    assert all(i > 0 and o > 0 for i, o in reported)
    assert (root[2], root[3]) == (sum(i for i, _ in reported), sum(o for _, o in reported))
    assert "gen_ai.client.token.usage" in result["metrics"]
