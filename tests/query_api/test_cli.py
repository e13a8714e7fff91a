"""The crewscope CLI, and a real uvicorn server hit over HTTP."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crewscope.query_api.cli import main
from crewscope.query_api.dates import utcnow
from tests.helpers.env import subprocess_env
from tests.helpers.seed import seed_database
from tests.helpers.served import API


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.duckdb")
    seed_database(path, utcnow(), n_runs=6)
    return path


def test_rollup_stats_export_cleanup(
    db_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rollup", "--db", db_file]) == 0
    assert "agent rows" in capsys.readouterr().err
    assert main(["stats", "--db", db_file]) == 0
    assert "Researcher" in capsys.readouterr().out
    out = tmp_path / "runs.csv"
    assert main(["export", "runs", "--db", db_file, "-o", str(out)]) == 0
    assert len(list(csv.DictReader(out.open()))) == 6
    out_json = tmp_path / "tasks.json"
    assert main(["export", "tasks", "--db", db_file, "--format", "json", "--agent", "Writer",
                 "-o", str(out_json)]) == 0  # fmt: skip
    assert {t["agent"] for t in json.loads(out_json.read_text())} == {"Writer"}
    assert main(["cleanup", "--db", db_file, "--days", "0", "--dry-run"]) == 0
    assert "would delete" in capsys.readouterr().err
    assert main(["cleanup", "--db", db_file, "--days", "-1"]) == 2


def test_bad_arguments_exit_nonzero(db_file: str) -> None:
    with pytest.raises(SystemExit):
        main(["export", "users", "--db", db_file])
    with pytest.raises(SystemExit):
        main(["stats", "--time-range", "2d", "--db", db_file])


def test_locked_file_is_a_clear_error(db_file: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({db_file!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        proc = subprocess.run(
            [sys.executable, "-m", "crewscope.query_api.cli", "stats", "--db", db_file],
            capture_output=True, text=True, env=subprocess_env(), timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2
        assert "another process" in proc.stderr
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    ("name", "value"),
    [("CREWSCOPE_INGEST_MAX_BYTES", "abc"), ("CREWSCOPE_INGEST_QUEUE_SPANS", "-5"),
     ("CREWSCOPE_INGEST_DECODE_WORKERS", "[/x]")],
)  # fmt: skip
def test_serve_with_a_bad_setting_prints_one_line_and_exits_2(
    tmp_path: Path, name: str, value: str
) -> None:
    db = tmp_path / "never.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db", str(db),
         "--port", str(_free_port()), "--grpc", ""],
        capture_output=True, text=True, env=subprocess_env(**{name: value}), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()  # one line, unwrapped, the value as given
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"crewscope: {name}={value!r} is not valid: expected "), lines
    assert "(default " in lines[0]
    assert not db.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_over_http(db_file: str) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db", db_file,
         "--port", str(port), "--log-level", "warning"],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{base}{API}/system/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["overall_status"] in ("healthy", "degraded")
        runs = httpx.get(f"{base}{API}/runs?limit=2").json()
        assert runs["total"] == 6 and len(runs["runs"]) == 2
        detail = httpx.get(f"{base}{API}/runs/{runs['runs'][0]['run_id']}").json()
        assert detail["spans"][0]["children"]
        assert httpx.get(f"{base}/docs").status_code == 200
        assert '<script type="module" src="/ui/app.js">' in httpx.get(f"{base}/").text
        assert httpx.get(f"{base}{API}/runs?limit=500").status_code == 422
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_demo_subcommand_runs_the_sample_crew(tmp_path: Path) -> None:
    """The README's main job: `crewscope demo --db FILE` (then `serve` over that file)."""
    import duckdb

    db = str(tmp_path / "demo.duckdb")
    crewscope = Path(sys.executable).with_name("crewscope")
    proc = subprocess.run(
        [str(crewscope), "demo", "--db", db, "--runs", "2"],
        env=subprocess_env(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "3 runs" in out and "llm_calls" in out  # two crew runs, then the sample flow
    con = duckdb.connect(db, read_only=True)
    try:
        runs = con.execute(
            "SELECT SpanAttributes['crewscope.run.kind'], "
            "SpanAttributes['crewscope.run.parent_id'] IS NULL, count(*) FROM otel_traces "
            "WHERE GenAiOperation = 'invoke_workflow' GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert runs == [("crew", False, 2), ("crew", True, 2), ("flow", True, 1)]
