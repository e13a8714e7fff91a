"""Smoke runs of every benchmark script at tiny sizes: they still run end to end.

No timing assertions (the figures are in bench/README.md, measured on purpose, not in CI).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        yield
    finally:
        sys.path.remove(str(BENCH))


def test_exporter(bench: Any) -> None:
    import bench_exporter

    (r,) = bench_exporter.main(["--spans", "64", "--batches", "32"])
    assert r["batch"] == 32 and r["export_us"] > 0 and r["raw_us"] > 0


def test_span_micro(bench: Any) -> None:
    import bench_span_micro

    out = bench_span_micro.main(["--spans", "200", "--rounds", "2"])
    assert out["crewscope tool span"]["us"] > 0


def test_query(bench: Any, tmp_path: Path) -> None:
    import bench_query

    out = bench_query.main(["--spans", "2500", "--repeat", "1", "--dir", str(tmp_path)])
    assert set(out["endpoints"]) == set(
        bench_query.endpoints({"run": "r", "task": "t", "agent": "a"})
    )
    assert all(e["sqlite_ms"] is not None for e in out["endpoints"].values())


def test_receiver(bench: Any) -> None:
    import bench_receiver

    out = bench_receiver.main(
        ["--spans", "512", "--batches", "256", "--clients", "1", "--no-collector"]
    )
    assert out["rows"] and all(r["failed"] == 0 for r in out["rows"])
    assert {r["workers"] for r in out["rows"]} >= {0}  # in-server decoding measured too


def test_overload(bench: Any) -> None:
    import bench_overload

    out = bench_overload.main(["--seconds", "1.5"])
    assert out["exporter"]["dropped"] > 0  # offered 10x what it can write
    assert out["receiver"]["accepted"] > 0


def test_overhead(bench: Any) -> None:
    import bench_overhead

    out = bench_overhead.main(["--rounds", "1", "--kickoffs", "1", "--variants", "bare,crewscope"])
    assert out["crewscope"]["spans"] > 0 and out["bare"]["spans"] == 0


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_overhead_instructions(bench: Any) -> None:
    import bench_overhead_instructions

    out = bench_overhead_instructions.main(
        ["--kickoffs", "1", "--repeat", "1", "--variants", "bare,crewscope"]
    )
    assert out["bare"]["ir_per_kickoff"] > 1e6  # a kickoff runs millions of instructions
    assert out["crewscope"]["ratio"] > 0


def test_ui(bench: Any, tmp_path: Path) -> None:
    from tests.helpers.browser import require_chromium

    require_chromium()
    import bench_ui

    out = bench_ui.main(
        ["--spans", "2500", "--loads", "1", "--dir", str(tmp_path), "--views", "overview,run"]
    )
    assert set(out["views"]) == {"overview", "run"}
    for v in out["views"].values():
        assert v["cold_ms"] > 0 and v["warm_ms"] > 0 and v["cold_api_ms"] > 0
        assert v["js_css_bytes"] > 10_000 and v["js_css_gzip_bytes"] > 10_000
        assert v["hosts"] == ["127.0.0.1"]  # every request the page made stayed on loopback


def test_engines(bench: Any, tmp_path: Path) -> None:
    # Its own process: the embedded ClickHouse engine opens one directory per process, and
    # this one's is the test helpers'.
    import json
    import subprocess

    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_engines.py"), "--spans", "2500", "--repeat", "1",
         "--dir", str(tmp_path), "--logs"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}
    ids = {"run": "r", "task": "t", "agent": "a"}
    assert set(result["endpoints"]) == set(__import__("bench_query").endpoints(ids)) | set(
        __import__("bench_engines").activity_endpoints(ids)
    )


def test_concurrency(bench: Any) -> None:
    import bench_concurrency

    out = bench_concurrency.main(
        ["--seconds", "1", "--rounds", "1", "--readers", "0,2", "--warmup-s", "0.5"]
    )
    assert [r["readers"] for r in out["ingest"]] == [0, 2]
    assert all(r["failed"] == 0 and r["all_stored"] for r in out["ingest"])
    assert out["spans_stored"] > 0
    [two] = out["latency"]
    assert two["errors"] == 0 and two["calls_alone"] > 0
