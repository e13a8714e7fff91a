"""An instrumented app SIGKILLed mid-run: its DuckDB file opens afterwards and holds whole
batches only.

`crash_app.py` (the demo crew in a kickoff loop against the fake LLM, crewscope's DuckDB
span exporter behind the SDK's batch processor, plus a thread of the app's own spans so a
commit is in progress most of the time) is killed with SIGKILL at a random moment (seeded,
the seed printed; ``CREWSCOPE_CRASH_SEED`` repeats it), several times over one file, each
new app process opening the file the last one left. After each kill the file opens
read-only; every batch the exporter was given is in it whole or not at all, every batch it
reported stored is there, no span twice, and every trace whose root span is stored is
complete (spans end children first and are exported in order).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from tests.helpers.env import subprocess_env

APP = Path(__file__).with_name("crash_app.py")
TRIALS = 3
KILL_AFTER_S = (0.1, 1.5)
"""After the app's first finished kickoff."""


@dataclass
class JournalState:
    batches: dict[int, list[str]] = field(default_factory=dict)
    results: dict[int, str] = field(default_factory=dict)
    traces: dict[str, int] = field(default_factory=dict)
    batch_traces: dict[int, list[str]] = field(default_factory=dict)

    def batches_of(self, trace_id: str) -> dict[int, str]:
        """The batches holding spans of a trace, with what their export returned."""
        return {
            n: self.results.get(n, "in flight")
            for n, traces in sorted(self.batch_traces.items())
            if trace_id in traces
        }


def read_journal(path: Path) -> JournalState:
    state = JournalState()
    for line in path.read_text().splitlines():
        kind, _, rest = line.partition(" ")
        try:
            if kind == "B":
                n, _, ids = rest.partition(" ")
                state.batches[int(n)] = ids.split(",") if ids else []
            elif kind == "S":
                n, _, traces = rest.partition(" ")
                state.batch_traces[int(n)] = traces.split(",") if traces else []
            elif kind == "D":
                n, _, result = rest.partition(" ")
                state.results[int(n)] = result
            elif kind == "T":
                trace_id, _, count = rest.partition(" ")
                state.traces[trace_id] = int(count)
        except ValueError:  # the line the kill cut short
            continue
    return state


def stored(db: Path) -> tuple[Counter[str], dict[str, int], set[str]]:
    """Span ids (with multiplicity), spans per trace, and traces whose root is stored."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute('SELECT "SpanId", "TraceId", "ParentSpanId" FROM otel_traces').fetchall()
    finally:
        con.close()
    per_trace: Counter[str] = Counter(r[1] for r in rows)
    return Counter(r[0] for r in rows), dict(per_trace), {r[1] for r in rows if not r[2]}


@pytest.mark.timeout(240)
def test_app_sigkilled_mid_run_leaves_whole_batches(tmp_path: Path, llm_server) -> None:
    seed = int(os.environ.get("CREWSCOPE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\napp crash test seed {seed} (CREWSCOPE_CRASH_SEED={seed} repeats it)")
    rng = random.Random(seed)
    db = tmp_path / "app.duckdb"
    journal_path = tmp_path / "journal.txt"
    env = subprocess_env()
    for trial in range(TRIALS):
        proc = subprocess.Popen(
            [sys.executable, str(APP), str(db), str(journal_path), llm_server.base_url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("kicked"), proc.stderr.read() if proc.stderr else first
            time.sleep(rng.uniform(*KILL_AFTER_S))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        kickoffs = 1 + sum(1 for line in proc.stdout if line.startswith("kicked"))
        journal = read_journal(journal_path)
        ids, per_trace, rooted = stored(db)  # the file opens after the kill
        twice = [s for s, n in ids.items() if n > 1]
        assert not twice, f"trial {trial}: {len(twice)} spans stored twice"
        partial = {
            n: (sum(s in ids for s in batch), len(batch))
            for n, batch in journal.batches.items()
            if 0 < sum(s in ids for s in batch) < len(batch)
        }
        assert not partial, f"trial {trial} (seed {seed}): partly stored batches {partial}"
        lost = [
            n for n, r in journal.results.items()
            if r == "SUCCESS" and not all(s in ids for s in journal.batches.get(n, []))
        ]  # fmt: skip
        assert not lost, f"trial {trial}: batches reported stored but missing: {lost}"
        # A trace stored with its root is whole, unless a batch with some of its spans was
        # reported failed (then those spans are lost, and counted as lost by the exporter).
        incomplete = {
            t: (per_trace.get(t), n, journal.batches_of(t))
            for t, n in journal.traces.items()
            if t in rooted and per_trace.get(t) != n
            and "FAILURE" not in journal.batches_of(t).values()
        }  # fmt: skip
        assert not incomplete, (
            f"trial {trial} (seed {seed}): traces stored with their root but not whole "
            f"(stored, ended, batches): {incomplete}"
        )
        given = len(journal.batches)
        done = sum(1 for r in journal.results.values() if r == "SUCCESS")
        in_flight = [n for n in journal.batches if n not in journal.results]
        print(
            f"trial {trial}: {kickoffs} kickoffs; {given} batches given to the exporter in all, "
            f"{done} stored, in flight at the kill: {in_flight} "
            f"({'stored' if in_flight and all(s in ids for s in journal.batches[in_flight[-1]]) else 'absent'}); "
            f"{len(ids)} spans, {len(rooted)} traces with their root, all complete"
        )
        journal_path.write_text("")  # the next app numbers its batches from 1 again
    # Read-write once more: the file takes new writes and a checkpoint.
    con = duckdb.connect(str(db))
    con.execute("CHECKPOINT")
    assert con.execute("SELECT count(*) FROM otel_traces").fetchone()[0] == len(ids)
    con.close()
