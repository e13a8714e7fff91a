"""`crewscope serve` killed with SIGKILL at random moments mid-ingest loses no acknowledged span.

One DuckDB file, many trials. Each trial starts ``crewscope serve`` on the file (the
``crewscope`` executable for the first trial and the last restart; in between crewscope's CLI
forked from a process that has imported it, see `serve_proc.Zygote`, to keep 20 restarts
within ~90 s; OTLP/HTTP, in every fourth trial OTLP/gRPC too; a decode worker process in
every fourth trial, decoding in the server in the others), lets senders
using the official OTLP exporters post small batches of crew runs (unique span ids) while a
reader queries the API and refreshes rollups, then SIGKILLs the server at a random moment
(seeded; the seed is printed, ``CREWSCOPE_CRASH_SEED`` repeats a run,
``CREWSCOPE_CRASH_TRIALS`` sets the number of trials). After each kill:

* the file opens read-only, cleanly;
* every span of every acknowledged request (the exporter returned SUCCESS: a 2xx) is in
  it, exactly once; every request is there whole or not at all;
* the next server starts on the same file, and its run/task projections and rollups give
  the numbers computed in Python from the raw spans (``GET /runs`` total and per-run
  totals, ``GET /dashboard`` 24h totals, ``POST /rollups/refresh`` + ``GET /rollups/daily``
  per crew and per agent);
* the killed server's child processes (decode workers) do not outlive it.

"Acknowledged" in the receiver: a request waits for the ingest writer's commit of its batch
(one autocommitted DuckDB insert, the WAL fdatasync'ed: one fdatasync per commit under
strace) before it is answered 200 (gRPC: OK); a timeout or a failed write answers 503
(UNAVAILABLE), so a 2xx is never sent for data that is not in the file.
"""

from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.load import (
    Raw,
    Request,
    Sender,
    grpc_exporter,
    http_exporter,
    make_requests,
    read_raw,
)
from tests.reliability.serve_proc import ServeProcess, Zygote, start_serve

TRIALS = int(os.environ.get("CREWSCOPE_CRASH_TRIALS", "20"))
REQUESTS_PER_SENDER = 40
KILL_AFTER_S = (0.0, 1.0)
"""The kill lands this long (uniform) after the first acknowledgement of the trial..."""
EARLY_KILL_S = (0.0, 0.5)
"""...or, in every fifth trial, this long after the senders start (first requests, decode
worker still starting)."""
FIRST_ACK_TIMEOUT_S = 30.0
EXPORT_TIMEOUT_S = 2.0
ORPHAN_GRACE_S = 3.0
"""How long a killed server's children may take to notice and exit."""


class Reader(threading.Thread):
    """Queries the API (projection syncs) and refreshes rollups until `stop`, so kills also
    land in the middle of those."""

    def __init__(self, server: ServeProcess, stop: threading.Event) -> None:
        super().__init__(name="api-reader", daemon=True)
        self.server = server
        self.stop_event = stop
        self.calls = 0

    def run(self) -> None:
        paths = [("/runs?limit=5", "GET"), ("/dashboard", "GET"), ("/rollups/refresh", "POST"),
                 ("/tasks?limit=5", "GET")]  # fmt: skip
        while not self.stop_event.is_set():
            path, method = paths[self.calls % len(paths)]
            self.calls += 1
            try:
                self.server.api(path, method, timeout=2)
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.02)


def api_mismatches(server: ServeProcess, raw: Raw, *, every_run: bool = False) -> list[str]:
    """Where the server's projections and rollups disagree with the raw spans."""
    bad: list[str] = []

    def same(what: str, got: Any, want: Any) -> None:
        if isinstance(want, float):
            ok = got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
        else:
            ok = got == want
        if not ok:
            bad.append(f"{what}: API {got!r}, raw spans {want!r}")

    same("GET /runs total", server.api("/runs?limit=1")["total"], raw.runs)
    [day] = [t for t in server.api("/dashboard")["totals"] if t["period"] == "24h"]
    same("dashboard 24h runs", day["runs"], raw.runs)
    same("dashboard 24h failed_runs", day["failed_runs"], raw.failed_runs)
    same("dashboard 24h input_tokens", day["input_tokens"], raw.run_input_tokens)
    same("dashboard 24h output_tokens", day["output_tokens"], raw.run_output_tokens)
    same("dashboard 24h executions", day["executions"], raw.executions)
    same("dashboard 24h failed_executions", day["failed_executions"], raw.failed_executions)
    if raw.llm_calls:
        same("dashboard 24h cost_usd", day["cost_usd"], raw.cost_usd)
    server.api("/rollups/refresh", "POST")
    for group, want in (("crew", raw.crew_daily), ("agent", raw.agent_daily)):
        rows = server.api(f"/rollups/daily?group_by={group}&limit=1000")["rows"]
        got = {
            (r["day"], r[group]): (r["executions"], r["failed"], r["input_tokens"],
                                   r["output_tokens"])
            for r in rows
        }  # fmt: skip
        same(f"rollups/daily group_by={group}", got, want)
    if every_run:
        got_runs: dict[str, tuple[Any, ...]] = {}
        offset = 0
        while True:
            page = server.api(f"/runs?limit=100&offset={offset}")
            for r in page["runs"]:
                got_runs[r["run_id"]] = (r["status"], r["input_tokens"], r["output_tokens"],
                                         r["task_count"], r["llm_calls"])  # fmt: skip
            offset += 100
            if offset >= page["total"]:
                break
        missing = set(raw.runs_by_id) - set(got_runs)
        extra = set(got_runs) - set(raw.runs_by_id)
        differ = [k for k in raw.runs_by_id.keys() & got_runs.keys()
                  if raw.runs_by_id[k] != got_runs[k]]  # fmt: skip
        if missing or extra or differ:
            bad.append(
                f"GET /runs: {len(missing)} runs missing, {len(extra)} unknown, "
                f"{len(differ)} with other totals (e.g. "
                f"{[(k, got_runs[k], raw.runs_by_id[k]) for k in differ[:3]]})"
            )
    return bad


def check_file(raw: Raw, requests: list[Request]) -> tuple[int, int, int, list[str]]:
    """(acked spans, acked spans found, unacked spans found, problems) for `requests`."""
    problems: list[str] = []
    duplicated = [s for s, n in raw.span_ids.items() if n > 1]
    if duplicated:
        problems.append(f"{len(duplicated)} span ids stored more than once, e.g. {duplicated[:3]}")
    acked = found = unacked_found = 0
    for request in requests:
        present = sum(1 for s in request.span_ids if s in raw.span_ids)
        if request.acked:
            acked += len(request.span_ids)
            found += present
            if present != len(request.span_ids):
                problems.append(
                    f"acknowledged request {request.name}: {present} of "
                    f"{len(request.span_ids)} spans in the file"
                )
        else:
            unacked_found += present
            if present not in (0, len(request.span_ids)):
                problems.append(
                    f"request {request.name}: partly stored ({present} of "
                    f"{len(request.span_ids)} spans)"
                )
    return acked, found, unacked_found, problems


@pytest.fixture
def launched(tmp_path: Path) -> Any:
    """Every server a test starts; afterwards any still running is killed and every child
    left behind ended (by pid)."""
    servers: list[ServeProcess] = []
    yield servers
    for server in servers:
        if server.proc.poll() is None:
            server.sigkill()
        server.end_orphans(0.0)


@pytest.fixture
def zygotes() -> Any:
    made: list[Zygote] = []
    yield made
    for zygote in made:
        zygote.close()


def wait_any(events: list[threading.Event], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e.is_set() for e in events):
            return True
        time.sleep(0.01)
    return False


@pytest.mark.timeout(max(300, 15 * TRIALS))  # ~5 s a trial; a loaded machine takes longer
def test_serve_sigkilled_mid_ingest_keeps_every_acknowledged_span(
    tmp_path: Path, zygotes: list[Zygote], launched: list[ServeProcess]
) -> None:  # launched after zygotes: its servers are ended first
    seed = int(os.environ.get("CREWSCOPE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    zygote = Zygote()
    zygotes.append(zygote)
    print(f"\ncrash test seed {seed} (CREWSCOPE_CRASH_SEED={seed} repeats it), {TRIALS} trials")
    rng = random.Random(seed)
    db, log = tmp_path / "crash.duckdb", tmp_path / "serve.log"
    every: list[Request] = []
    raw: Raw | None = None
    orphans: list[int] = []
    killed: ServeProcess | None = None
    totals = {"requests": 0, "acked_requests": 0, "acked_spans": 0, "found_spans": 0,
              "unacked_found": 0}  # fmt: skip
    started = time.monotonic()
    for trial in range(TRIALS):
        use_grpc = trial % 4 == 3
        # A decode worker process (the default on 2 cores) in every fourth trial; decoding
        # in the server in the others (a worker takes ~1.5 s of CPU to start).
        workers = "1" if trial % 4 == 0 else "0"
        t0 = time.monotonic()
        server = start_serve(
            db, log, grpc=use_grpc, rollup_interval_s=0, zygote=zygote if trial else None,
            wait=False, CREWSCOPE_INGEST_DECODE_WORKERS=workers,
        )  # fmt: skip
        launched.append(server)
        batches = [make_requests(rng, f"t{trial}h{k}", REQUESTS_PER_SENDER) for k in range(2)]
        if use_grpc:
            batches.append(make_requests(rng, f"t{trial}g", REQUESTS_PER_SENDER))
        server.wait_up()
        up_s = time.monotonic() - t0
        if killed is not None:  # the last server's children had the restart's time to exit
            orphans += killed.end_orphans(ORPHAN_GRACE_S)
        t1 = time.monotonic()
        if raw is not None:  # the restarted server over the file the last kill left
            bad = api_mismatches(server, raw)
            assert not bad, f"trial {trial} (seed {seed}), after restart:\n" + "\n".join(bad)
        exporters = [http_exporter(server.url, EXPORT_TIMEOUT_S) for _ in range(2)]
        if use_grpc:
            assert server.grpc_port is not None
            exporters.append(grpc_exporter(server.grpc_port, EXPORT_TIMEOUT_S))
        t2 = time.monotonic()
        stop = threading.Event()
        senders = [Sender(e, b, stop) for e, b in zip(exporters, batches, strict=True)]
        reader = Reader(server, stop)
        for thread in (*senders, reader):
            thread.start()
        early = trial % 5 == 4
        if not early:
            acked_in_time = wait_any([s.first_ack for s in senders], FIRST_ACK_TIMEOUT_S)
            assert acked_in_time, f"no request acknowledged in {FIRST_ACK_TIMEOUT_S}s"
        t3 = time.monotonic()
        time.sleep(rng.uniform(*(EARLY_KILL_S if early else KILL_AFTER_S)))
        server.sigkill()
        t4 = time.monotonic()
        killed = server
        stop.set()
        for exporter in exporters:  # ends the exporters' retries of the killed server
            exporter.shutdown()
        for thread in (*senders, reader):
            thread.join(EXPORT_TIMEOUT_S * 4)
            assert not thread.is_alive(), f"{thread.name} still running"
        for sender in senders:
            assert not sender.errors, sender.errors
        t5 = time.monotonic()
        trial_requests = [r for b in batches for r in b if r.sent]
        every += trial_requests
        raw = read_raw(db)  # opens cleanly, read-only, after the kill
        acked, found, unacked_found, problems = check_file(raw, every)
        assert not problems, f"trial {trial} (seed {seed}):\n" + "\n".join(problems[:20])
        n_acked = sum(r.acked for r in trial_requests)
        t6 = time.monotonic()
        print(
            f"trial {trial:2d}: up {up_s:.1f}s, checks {t2 - t1:.1f}s + {t6 - t5:.1f}s, "
            f"first ack {t3 - t2:.1f}s, ingest {t4 - t3:.1f}s, "
            f"senders stop {t5 - t4:.1f}s; {len(trial_requests)} requests sent, "
            f"{n_acked} acknowledged, {reader.calls} API calls; file: {len(raw.span_ids)} "
            f"spans, {raw.runs} runs; decode workers {workers}{', gRPC sender' if use_grpc else ''}"
            f"{', early kill' if early else ''}"
        )
        totals["requests"] += len(trial_requests)
        totals["acked_requests"] += n_acked
    acked, found, unacked_found, problems = check_file(raw or Raw(span_ids={}), every)  # type: ignore[arg-type]
    totals.update(acked_spans=acked, found_spans=found, unacked_found=unacked_found)
    # A last restart: every run, and a clean stop.
    server = start_serve(db, log)  # the crewscope executable, decode worker by default
    launched.append(server)
    if killed is not None:
        orphans += killed.end_orphans(ORPHAN_GRACE_S)
    assert raw is not None
    bad = api_mismatches(server, raw, every_run=True)
    assert server.stop() in (0, -signal.SIGTERM), server.log_tail()  # uvicorn re-raises it
    assert not bad, "after the last restart:\n" + "\n".join(bad)
    final = read_raw(db)
    assert final.span_ids == raw.span_ids, "spans changed across a clean restart"
    print(
        f"{TRIALS} kills in {time.monotonic() - started:.0f}s: {totals['requests']} requests, "
        f"{totals['acked_requests']} acknowledged; acknowledged spans {acked}, found {found}; "
        f"unacknowledged spans found anyway {unacked_found}; runs {raw.runs}; "
        f"children alive after a kill: {len(orphans)}"
    )
    assert found == acked
    assert not orphans, (
        f"{len(orphans)} child processes of a SIGKILLed server were still running "
        f"{ORPHAN_GRACE_S:.0f}s later (ended by the test): decode workers / resource tracker"
    )
