"""Many API readers while ``crewscope serve`` ingests runs at full speed: no errors, no torn
reads, totals that only grow, and once ingest stops, the totals of what was sent.

One real ``crewscope serve`` (its own process) on a fresh DuckDB file. `WRITERS` threads
send crew runs with the official OTLP/HTTP exporter for `INGEST_S` seconds (env
``CREWSCOPE_CONCURRENCY_SECONDS``), each run's spans spread over several requests, some runs
visible before all of their spans have arrived (`split_runs`). Meanwhile `READERS` threads
loop over runs list and detail, tasks, dashboard, agents, LLM usage and export
(`api_readers`). Asserted:

* every request the readers make answers 200 and parses; every export is acknowledged;
* in every run detail, the counts (spans, tasks, steps, LLM and tool calls, errors), the task
  count and the cost equal what the response's own span tree holds (a run whose crew span
  came last: its tokens and LLM calls too, and all of its spans);
* list totals (runs, tasks, dashboard 24h, agents, LLM calls, export rows) never go down
  from one read to a read that began after it ended;
* after the writers stop: the runs, tasks, tokens and calls the API reports are those sent,
  per run (export) and in total, and run details count each run's spans exactly.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.api_readers import (
    ApiReader,
    Observation,
    detail_problems,
    monotone_violations,
)
from tests.reliability.load import http_exporter
from tests.reliability.serve_proc import API, ServeProcess, start_serve
from tests.reliability.split_runs import (
    SentRun,
    SplitWriter,
    arriving,
    new_run_in_parts,
    wait_all,
)

INGEST_S = float(os.environ.get("CREWSCOPE_CONCURRENCY_SECONDS", "20"))
WRITERS = 2
READERS = 8
EXPORT_TIMEOUT_S = 30.0
FINAL_DETAILS = 40


def latency_p50(readers: list[ApiReader]) -> dict[str, float]:
    merged: dict[str, list[float]] = {}
    for reader in readers:
        for key, values in reader.latencies.items():
            merged.setdefault(key, []).extend(values)
    return {k: round(statistics.median(v) * 1000, 1) for k, v in sorted(merged.items())}


def final_mismatches(server: ServeProcess, runs: list[SentRun]) -> list[str]:
    """Where the API, once ingest has stopped, disagrees with the runs that were sent."""
    bad: list[str] = []

    def same(what: str, got: Any, want: Any) -> None:
        if got != want:
            bad.append(f"{what}: API {got!r}, sent {want!r}")

    by_id = {r.run_id: r for r in runs}
    tasks = sum(r.totals.tasks for r in runs)
    calls = sum(r.totals.llm_calls for r in runs)
    tokens_in = sum(r.totals.input_tokens for r in runs)
    tokens_out = sum(r.totals.output_tokens for r in runs)
    same("GET /runs total", server.api("/runs?limit=1")["total"], len(runs))
    same("GET /tasks total", server.api("/tasks?limit=1")["total"], tasks)
    [day] = [t for t in server.api("/dashboard")["totals"] if t["period"] == "24h"]
    same("dashboard 24h runs", day["runs"], len(runs))
    same("dashboard 24h failed_runs", day["failed_runs"], sum(r.totals.failed for r in runs))
    same("dashboard 24h executions", day["executions"], tasks)
    same("dashboard 24h tokens", (day["input_tokens"], day["output_tokens"]),
         (tokens_in, tokens_out))  # fmt: skip
    agents = server.api("/agents")["agents"]
    same("agents executions", sum(a["total_executions"] for a in agents), tasks)
    models = server.api("/llm")["by_model"]
    same("llm calls", sum(m["calls"] for m in models), calls)
    same("llm tokens", (sum(m["input_tokens"] for m in models),
                        sum(m["output_tokens"] for m in models)), (tokens_in, tokens_out))  # fmt: skip
    exported = {
        r["run_id"]: r for r in server.request(f"{API}/export/runs?format=json", timeout=60)
    }
    same("exported run ids", set(exported) == set(by_id), True)
    differ = []
    for run_id in exported.keys() & by_id.keys():
        row, t = exported[run_id], by_id[run_id].totals
        got = (row["status"], row["input_tokens"], row["output_tokens"], row["task_count"],
               row["llm_calls"], row["tool_calls"])  # fmt: skip
        want = ("failed" if t.failed else "completed", t.input_tokens, t.output_tokens, t.tasks,
                t.llm_calls, t.tool_calls)  # fmt: skip
        if got != want:
            differ.append((run_id, got, want))
    same("exported runs with other totals", differ[:3], [])
    for run in random.Random(1).sample(runs, min(FINAL_DETAILS, len(runs))):
        body = server.api(f"/runs/{run.run_id}")
        bad += detail_problems(body, run)
        t = run.totals
        want_counts = {"spans": t.spans, "tasks": t.tasks, "steps": t.steps,
                       "llm_calls": t.llm_calls, "tool_calls": t.tool_calls, "errors": t.errors}  # fmt: skip
        same(f"run {run.run_id} counts", body["counts"], want_counts)
    return bad


@pytest.mark.timeout(180)
def test_readers_during_heavy_ingest_see_consistent_growing_totals(tmp_path: Path) -> None:
    t_start = time.monotonic()
    server = start_serve(tmp_path / "c.duckdb", tmp_path / "serve.log")
    stop_writers, stop_readers = threading.Event(), threading.Event()
    registry: dict[str, SentRun] = {}
    exporters = [http_exporter(server.url, EXPORT_TIMEOUT_S) for _ in range(WRITERS)]
    writers = [SplitWriter(str(i), exporters[i], 100 + i, stop_writers, registry)
               for i in range(WRITERS)]  # fmt: skip
    readers = [ApiReader(server.url, registry, stop_readers, seed, lambda: arriving(writers))
               for seed in range(READERS)]  # fmt: skip
    try:
        for thread in [*writers, *readers]:
            thread.start()
        time.sleep(INGEST_S)
        stop_writers.set()
        wait_all(writers, EXPORT_TIMEOUT_S * 2)
        stop_readers.set()
        for reader in readers:
            reader.join(60)
            assert not reader.is_alive(), f"{reader.name} still reading"
        ingest_s = time.monotonic() - t_start
        runs = [r for w in writers for r in w.runs]
        assert [e for w in writers for e in w.errors] == []
        assert sum(w.failed_requests for w in writers) == 0, "exports not acknowledged"
        assert all(r.complete for r in runs)
        errors = [e for r in readers for e in r.errors]
        torn = [t for r in readers for t in r.torn]
        observations = [o for r in readers for o in r.observations]
        details = sum(r.details for r in readers)
        incomplete = sum(r.incomplete_details for r in readers)
        spans = sum(w.spans_acked for w in writers)
        print(
            json.dumps(
                {
                    "elapsed_s": round(ingest_s, 1),
                    "runs": len(runs),
                    "spans_acked": spans,
                    "requests": sum(w.requests for w in writers),
                    "reader_calls": sum(r.calls for r in readers),
                    "run_details": details,
                    "details_of_incomplete_late_runs": incomplete,
                    "details_of_arriving_runs": sum(r.arriving_details for r in readers),
                    "observations": len(observations),
                    "errors": len(errors),
                    "torn": len(torn),
                    "torn_examples": torn[:4],
                    "reader_p50_ms": latency_p50(readers),
                }
            )
        )
        assert errors == [], errors[:10]
        assert torn == [], (len(torn), torn[:10])
        assert monotone_violations(observations)[:10] == []
        assert len(runs) > 200 and details > 20  # the readers really read during ingest
        assert incomplete > 0  # ... and caught runs whose last spans were still arriving
        assert final_mismatches(server, runs) == []
    finally:
        stop_writers.set()
        stop_readers.set()
        for exporter in exporters:
            exporter.shutdown()
        server.stop()
    assert time.monotonic() - t_start < 90 + (INGEST_S - 20)


def test_a_run_detail_shows_the_spans_its_totals_count(tmp_path: Path) -> None:
    """The torn read the main test found, made deterministic: spans of a visible run that
    arrive after the last projection sync are not in its tree until a sync counts them (the
    tree was read from otel_traces, the totals from the projections: 6 spans counted, 25
    shown)."""
    from crewscope.query_api.queries.runs import get_run
    from crewscope.query_api.store.database import Database
    from tests.helpers.spans import insert_spans

    run, parts = new_run_in_parts(random.Random(3))
    db = Database(str(tmp_path / "d.duckdb"))
    try:
        with db.reader() as s:
            insert_spans(s, parts[0])  # the crew span and some of the rest
        with db.session() as s:  # synced: the run is visible
            first = get_run(s, run.run_id)
            insert_spans(s, parts[1])  # the rest arrives, not yet synced
            later = get_run(s, run.run_id)
        with db.session() as s:
            whole = get_run(s, run.run_id)
    finally:
        db.close()
    assert first is not None and later is not None and whole is not None
    for detail in (first, later, whole):
        assert detail_problems(detail.model_dump(mode="json"), run) == []
    assert later.counts == first.counts and later.counts.spans < run.totals.spans
    assert whole.counts.spans == run.totals.spans


def test_the_checks_catch_a_decrease_and_a_torn_detail() -> None:
    """The checks behind the main test fail on what they are meant to catch."""
    obs = [Observation("m", 0.0, 1.0, 5), Observation("m", 0.5, 2.0, 3),  # overlapping: fine
           Observation("m", 3.0, 4.0, 4)]  # began after a read of 5 had ended  # fmt: skip
    assert monotone_violations(obs) == ["m: 4 after 5 had been read"]
    chat = {"span_id": "c" * 16, "name": "chat m", "operation": "chat", "status": "ok",
            "cost_usd": 0.5, "input_tokens": 3, "output_tokens": 1, "children": []}  # fmt: skip
    root = {"span_id": "r" * 16, "name": "invoke_workflow x", "operation": "invoke_workflow",
            "status": "ok", "cost_usd": None, "children": [chat]}  # fmt: skip
    body = {"run_id": "r" * 16, "spans": [root], "task_count": 0, "errors": [],
            "cost_usd": 0.5, "input_tokens": 3, "output_tokens": 1, "llm_calls": 1,
            "counts": {"spans": 2, "tasks": 0, "steps": 0, "llm_calls": 1, "tool_calls": 0,
                       "errors": 0}}  # fmt: skip
    assert detail_problems(body, None) == [f"run {'r' * 16}: a run that no writer sent"]
    torn = {**body, "counts": {**body["counts"], "spans": 3}, "cost_usd": 0.75}
    assert detail_problems(torn, None)[:2] == [
        f"run {'r' * 16}: counts.spans 3 but 2 in the tree",
        f"run {'r' * 16}: cost_usd 0.75 but the tree's LLM calls cost 0.5",
    ]
