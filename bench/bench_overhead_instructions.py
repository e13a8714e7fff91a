"""Instrumentation overhead in instructions executed: bare vs crewscope under callgrind.

    .venv/bin/python bench/bench_overhead_instructions.py [--kickoffs 10] [--repeat 2]

CPU time on this 2-core machine drifts ±3–5 % from round to round (bench_overhead.py),
which hides a 2 % target. The number of instructions the process executes does not
depend on what else runs: each variant runs in `bench/_crew_worker.py` under valgrind's
callgrind with instrumentation off until the worker is warmed up; then the counters are
zeroed, `--kickoffs` kickoffs run (plus the flush of the exporter, as in
bench_overhead.py), and the counters are dumped. Every thread of the worker is counted
(CrewAI's, the batch processor's, DuckDB's). The fake LLM runs outside valgrind.

Under valgrind a kickoff takes ~50× longer, so the batch processor's 5 s timer would fire
inside every round; `OTEL_BSP_SCHEDULE_DELAY` is raised so that, as in bench_overhead.py,
each round's spans are exported once, by the flush (one export per `--kickoffs`
kickoffs: with 10, more often than the SDK's default cadence would at full speed).

Before each measurement the worker runs a full garbage collection (outside the window), so
both variants start from the same collector state; the collections each generation ran in
the window are reported (a full collection of CrewAI's heap costs about one kickoff, so one
landing in one variant's window and not the other's would swamp a 2 % difference).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench_overhead import PEERS_DIR, start_fake_llm

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_RATIO = 1.02


def _callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def _total_ir(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError(f"no totals in {path}")


def measure(variant: str, base_url: str, workdir: str, kickoffs: int) -> dict[str, Any]:
    """Instructions of `kickoffs` kickoffs (+ flush) of one warmed-up worker under callgrind."""
    wd = tempfile.mkdtemp(prefix=f"{variant}_", dir=workdir)
    out = os.path.join(wd, "callgrind.out")
    env = dict(os.environ, OTEL_BSP_SCHEDULE_DELAY="3600000", PYTHONHASHSEED="0")
    if variant in ("openllmetry", "openinference"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PEERS_DIR, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, os.path.join(HERE, "_crew_worker.py"), variant, base_url, wd],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = json.loads(proc.stdout.readline())  # after the warm-up kickoff
        assert "ready" in ready, ready
        proc.stdin.write("gc\n")  # a full collection before the window: same GC state
        proc.stdin.flush()
        proc.stdout.readline()
        _callgrind_control("-i", "on", str(proc.pid))
        _callgrind_control("-z", str(proc.pid))
        t0 = time.perf_counter()
        proc.stdin.write(f"run {kickoffs}\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        _callgrind_control("-d", str(proc.pid))
        wall = time.perf_counter() - t0
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
    ir = _total_ir(dumps[-1])
    shutil.rmtree(wd, ignore_errors=True)
    return {"ir": ir, "spans": result.get("spans", 0), "wall_s": wall, "gc": result.get("gc")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kickoffs", type=int, default=10)
    p.add_argument("--repeat", type=int, default=2, help="measurements per variant, interleaved")
    p.add_argument("--variants", default="bare,crewscope")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind not installed (apt-get install valgrind): skipped")
        return {}
    variants = [v for v in args.variants.split(",") if v]
    workdir = tempfile.mkdtemp(prefix="crewscope_bench_ir_")
    fake, base_url = start_fake_llm()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    try:
        for _ in range(args.repeat):
            for v in variants:
                r = measure(v, base_url, workdir, args.kickoffs)
                results[v].append(r)
                print(json.dumps({"variant": v, **r}), flush=True)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    k = args.kickoffs
    summary: dict[str, Any] = {}
    base = statistics.median(r["ir"] for r in results["bare"]) if "bare" in results else None
    print(f"\n{args.repeat} measurements x {k} kickoffs per variant; instructions per kickoff")
    for v in variants:
        irs = [r["ir"] / k for r in results[v]]
        med = statistics.median(irs)
        ratio = med * k / base if base else None
        spread = (max(irs) - min(irs)) / med if med else 0.0
        summary[v] = {"ir_per_kickoff": med, "ratio": ratio, "spread": spread}
        print(f"{v:18s} {med / 1e6:10.1f} M instr  spread {spread * 100:4.1f} %  "
              f"x{ratio if ratio else float('nan'):.3f} of bare")  # fmt: skip
    if base and "crewscope" in summary:
        ours = summary["crewscope"]["ratio"]
        print(f"crewscope/bare instructions {ours:.3f} "
              f"(target <= {TARGET_RATIO}: {'met' if ours <= TARGET_RATIO else 'MISSED'})")  # fmt: skip
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
