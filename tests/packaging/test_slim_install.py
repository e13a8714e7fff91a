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

Both venvs are cached per machine in ``${CREWSCOPE_CACHE:-~/.cache/crewscope}/slim-venv/``
under a key made of pyproject.toml's project table and the Python version, so only a change
there rebuilds them (the first build downloads from PyPI; the test is skipped, with the
reason, only when PyPI is unreachable and nothing is cached). Every run reinstalls crewscope
itself into them from this checkout, offline and without dependencies, so the code under test
is always the current one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[2]
NETGUARD_DIR = REPO / "tests" / "_netguard"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))

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

_SUBPROCESS_TIMEOUT_S = 1500  # a first `pip install crewai` on a slow 2-core machine
# A test's timeout covers building its venv (first run: ~15 s slim, ~2 min with crewai here).
_BUILD_TIMEOUT = pytest.mark.timeout(2 * _SUBPROCESS_TIMEOUT_S)


def _real_home() -> Path:
    # tests/conftest.py points HOME at a temporary folder (for CrewAI): caches use the real one
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def _cache_root() -> Path:
    configured = os.environ.get("CREWSCOPE_CACHE")
    return Path(configured) if configured else _real_home() / ".cache" / "crewscope"


def _venv_key() -> str:
    """Changes with what decides the installed set: the project table, the Python."""
    what = [PYPROJECT["project"], PYPROJECT["build-system"], sys.version, platform.machine()]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _app_env(**extra: str) -> dict[str, str]:
    """The crew's environment: offline CrewAI and temporary HOME (tests/conftest.py set both
    in this process), and the network guard, loaded as sitecustomize from PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHONPATH"] = str(NETGUARD_DIR)
    return {**env, **extra}


def _pip_env() -> dict[str, str]:
    """pip's environment: the real network (no test guard), the real HOME's pip cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.setdefault("PIP_CACHE_DIR", str(_real_home() / ".cache" / "pip"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # never the checkout as cwd: its crewscope.egg-info (the editable install) would be seen
    proc = subprocess.run(
        cmd, env=env, cwd=cwd or _cache_root(), capture_output=True, text=True,
        timeout=_SUBPROCESS_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def _pip(venv: Path, *args: str) -> None:
    _run([str(venv / "bin" / "python"), "-m", "pip", "--quiet", *args], env=_pip_env())


def _require_pypi() -> None:
    """Skip when the package index cannot be reached (from a subprocess: this process's
    sockets are guarded)."""
    index = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    host = urlsplit(index).hostname or "pypi.org"
    probe = "import socket, sys; socket.create_connection((sys.argv[1], 443), timeout=10)"
    proc = subprocess.run(
        [sys.executable, "-c", probe, host], env=_pip_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(
            f"PyPI ({host}) is unreachable and the slim-install venv is not cached: {reason}"
        )


def _source_tree(dest: Path) -> Path:
    """A copy of what the build reads, so that building never writes into the checkout."""
    src = dest / "crewscope-src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in sorted(set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())):
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.duckdb*")
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    return src


def _cached_venv(name: str, build: Callable[[Path], None]) -> tuple[Path, float | None]:
    """The venv ``name`` for this pyproject.toml; returns it and its build time if built now."""
    root = _cache_root() / "slim-venv"
    path = root / f"{name}-{_venv_key()}"
    complete = path / ".complete"
    if complete.exists():
        return path, None
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if complete.exists():
            return path, None
        _require_pypi()
        started = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(path)])
        # setuptools and wheel in the venv: later runs rebuild crewscope offline
        _pip(path, "install", "setuptools>=69", "wheel")
        build(path)
        seconds = time.monotonic() - started
        complete.write_text(json.dumps({"built_in_s": round(seconds, 1)}))
        for stale in root.glob(f"{name}-*"):  # venvs of older pyproject.toml versions
            if stale != path:
                shutil.rmtree(stale, ignore_errors=True)
    return path, seconds


def _install_checkout(venv: Path, src: Path) -> None:
    """Replace the venv's crewscope with this checkout's code (offline, no dependencies)."""
    _pip(venv, "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--force-reinstall", str(src))  # fmt: skip


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _source_tree(tmp_path_factory.mktemp("slim"))


@pytest.fixture(scope="module")
def slim_venv(source_tree: Path) -> Iterator[Path]:
    venv, built = _cached_venv("slim", lambda v: _pip(v, "install", str(source_tree)))
    started = time.monotonic()
    _install_checkout(venv, source_tree)
    _report("slim", built, time.monotonic() - started)
    yield venv


@pytest.fixture(scope="module")
def app_venv(source_tree: Path) -> Iterator[Path]:
    (crewai_requirement,) = PYPROJECT["project"]["optional-dependencies"]["crewai"]

    def build(venv: Path) -> None:
        _pip(venv, "install", str(source_tree))  # crewscope without extras, then the app's crewai
        _pip(venv, "install", crewai_requirement)

    venv, built = _cached_venv("app", build)
    started = time.monotonic()
    _install_checkout(venv, source_tree)
    _report("app", built, time.monotonic() - started)
    yield venv


def _report(name: str, built_s: float | None, reinstall_s: float) -> None:
    how = f"built in {built_s:.0f}s" if built_s is not None else "cached"
    sys.stderr.write(
        f"\n[slim-install] {name} venv {how}; crewscope reinstalled in {reinstall_s:.1f}s\n"
    )


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


@_BUILD_TIMEOUT
def test_slim_install_brings_no_server_packages(slim_venv: Path, tmp_path: Path) -> None:
    # -I: not the checkout's folder (its crewscope.egg-info is the editable install's metadata)
    cmd = [str(slim_venv / "bin" / "python"), "-I", "-c", SLIM_PROBE]
    proc = _run(cmd, env=_pip_env(), cwd=tmp_path)
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


@_BUILD_TIMEOUT
def test_console_script_without_server_extra_says_what_to_install(
    slim_venv: Path, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(slim_venv / "bin" / "crewscope"), "serve", "--help"],
        env=_pip_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120,
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


@_BUILD_TIMEOUT
def test_crew_traced_with_slim_install_and_crewai(app_venv: Path, tmp_path: Path, llm_server):
    db = tmp_path / "app.duckdb"
    env = _app_env(
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
