"""The README's two commands for ClickHouse, as a user runs them: ``crewscope serve --store
chdb://DIR`` and ``crewscope demo --otlp URL``; the server's runs are the demo's (the demo
also writes its own DuckDB file, the same spans by another path)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from tests.helpers.env import subprocess_env
from tests.helpers.served import API
from tests.reliability.serve_proc import free_port


def test_serve_on_clickhouse_and_the_demo_over_otlp(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = subprocess_env()
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--store",
         f"chdb://{tmp_path / 'ch'}", "--port", str(port), "--grpc", "", "--rollup-interval", "0"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}{API}/system/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.3)
        db = tmp_path / "demo.duckdb"
        demo = subprocess.run(
            [sys.executable, "-m", "crewscope.query_api.cli", "demo", "--runs", "1", "--otlp",
             url, "--db", str(db)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stderr[-3000:]
        con = duckdb.connect(str(db), read_only=True)
        try:
            want = con.execute(
                "SELECT count(*), sum(InputTokens) FILTER (WHERE GenAiOperation = 'chat'), "
                "count(*) FILTER (WHERE GenAiOperation = 'chat') "
                "FROM otel_traces"
            ).fetchone()
        finally:
            con.close()
        assert want is not None
        spans, tokens, calls = want
        runs: dict[str, object] = {}
        stats: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the demo flushed before it exited
            stats = httpx.get(f"{url}{API}/system/health", timeout=10).json()
            runs = httpx.get(f"{url}{API}/runs", params={"limit": 100}, timeout=10).json()
            database = next(c for c in stats["service_statuses"] if c["name"] == "database")  # type: ignore[index, attr-defined]
            if database["metrics"]["spans"] >= spans:
                break
            time.sleep(0.5)
        # The server also stores spans of its own requests (its self-telemetry).
        assert database["metrics"]["spans"] >= spans
        rows = runs["runs"]  # type: ignore[index]
        kinds = sorted(r["kind"] for r in rows)  # type: ignore[index]
        assert kinds == ["crew", "flow"], kinds  # one crew kickoff, then the flow
        assert sum(r["input_tokens"] or 0 for r in rows) == tokens  # type: ignore[index]
        assert all(r["status"] != "running" for r in rows)  # type: ignore[index]
        llm = httpx.get(f"{url}{API}/llm", params={"time_range": "1d"}, timeout=10).json()
        assert sum(m["calls"] for m in llm["by_model"]) == calls, llm
        logs = httpx.get(f"{url}{API}/logs", timeout=10).json()
        assert logs["total"] > 0
    finally:
        serve.terminate()
        serve.wait(30)
        log.close()
