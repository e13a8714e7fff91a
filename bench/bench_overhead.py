"""Instrumentation overhead on a real CrewAI crew: bare vs crewscope vs OpenLLMetry vs OpenInference.

    bash bench/setup_peers.sh          # once: the peer instrumentations, outside the venv
    .venv/bin/python bench/bench_overhead.py [--rounds 15] [--kickoffs 10]

The fake OpenAI-compatible LLM runs in its own process (its CPU is not counted). Each
variant runs in its own long-lived worker process (bench/_crew_worker.py: instrumentations
cannot share one process), warmed up by one kickoff. Rounds are interleaved: in every round
each worker in turn (rotating order) runs `--kickoffs` kickoffs of the demo crew (two agents,
two tasks, one tool call: 4 LLM calls) and flushes its exporter, reporting the CPU time
(user+sys of its whole process, all threads, so the batch processor's export thread is
included) and wall time. Per variant: median per-kickoff CPU and wall over the rounds, and
the median of the per-round ratios to the bare crew of the same round.

Every instrumented variant exports through the same pipeline: BatchSpanProcessor into
crewscope's DuckDB exporter (peers with their default settings). `crewscope` is
`configure(metrics_exporters=[])` (spans only, as the peers); `crewscope_metrics` adds
crewscope's default metrics (GenAI + agent metrics into DuckDB every 2 s).

Diagnostic variants split crewscope's cost: `crewscope_nop` (our wrappers and spans, a tracer
provider without processors), `crewscope_null` (+ BatchSpanProcessor into an exporter that
does nothing), `crewscope_convert` (+ the Arrow conversion, no insert), `crewscope_local`
(not the global provider), `sdk_only` (the SDK pipeline as global provider, no
instrumentation). With `--kickoffs 25` a round lasts ~4.6 s, about the SDK's default
5 s export cadence, so each round pays one export as a long-running app would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.environ.get(
    "CREWSCOPE_BENCH_PEERS", os.path.expanduser("~/.cache/crewscope/bench-peers")
)
VARIANTS = ("bare", "crewscope", "crewscope_metrics", "openllmetry", "openinference")
DIAGNOSTICS = (
    "crewscope_local",
    "crewscope_nop",
    "crewscope_null",
    "crewscope_convert",
    "sdk_only",
)
"""Extra --variants that split crewscope's cost (see bench/_crew_worker.py and README)."""
TARGET_CPU_RATIO = 1.02


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"fake LLM did not listen on {port}")


def start_fake_llm() -> tuple[subprocess.Popen[bytes], str]:
    """The fake OpenAI-compatible LLM in its own process (its CPU is not counted)."""
    port = _free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "crewscope.demo.fake_llm", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port)
    except BaseException:
        fake.kill()
        fake.wait()
        raise
    return fake, f"http://127.0.0.1:{port}/v1"


class Worker:
    def __init__(self, variant: str, base_url: str, workdir: str) -> None:
        env = dict(os.environ)
        if variant in ("openllmetry", "openinference"):
            env["PYTHONPATH"] = os.pathsep.join(p for p in (PEERS_DIR, env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONHASHSEED", "0")
        wd = os.path.join(workdir, variant)
        os.makedirs(wd)
        self.variant = variant
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "_crew_worker.py"), variant, base_url, wd],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=env,
        )  # fmt: skip

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.variant} exited (code {self.proc.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, n: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("gc\n")  # untimed: each round starts from the same GC state
        self.proc.stdin.flush()
        self.read()
        self.proc.stdin.write(f"run {n}\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--kickoffs", type=int, default=10, help="kickoffs per worker per round")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated; also the diagnostics {', '.join(DIAGNOSTICS)}",
    )
    args = p.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if not os.path.isdir(PEERS_DIR):
        dropped = [v for v in variants if v in ("openllmetry", "openinference")]
        if dropped:
            print(f"peers not installed ({PEERS_DIR}): run bench/setup_peers.sh; "
                  f"skipping {dropped}")  # fmt: skip
            variants = [v for v in variants if v not in dropped]

    workdir = tempfile.mkdtemp(prefix="crewscope_bench_overhead_")
    fake, base_url = start_fake_llm()
    workers: list[Worker] = []
    try:
        workers = [Worker(v, base_url, workdir) for v in variants]
        for w in workers:
            w.read()  # ready
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for rnd in range(args.rounds):
            order = workers[rnd % len(workers) :] + workers[: rnd % len(workers)]
            for w in order:
                results[w.variant].append(w.run(args.kickoffs))
    finally:
        for w in workers:
            w.stop()
        fake.terminate()
        fake.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    k = args.kickoffs
    summary: dict[str, Any] = {}
    print(f"\n{args.rounds} interleaved rounds x {k} kickoffs per variant; per kickoff, medians")
    print(f"{'variant':18s} {'cpu ms':>8s} {'wall ms':>8s} {'spans':>6s} "
          f"{'cpu/bare':>9s} {'IQR of rounds':>14s} {'wall/bare':>9s} {'full GCs':>8s}")  # fmt: skip
    bare = results.get("bare")
    for v in variants:
        rs = results[v]
        cpu = statistics.median(r["cpu"] / k for r in rs) * 1e3
        wall = statistics.median(r["wall"] / k for r in rs) * 1e3
        spans = statistics.median(r["spans"] / k for r in rs)
        cpu_ratio = wall_ratio = None
        iqr = (float("nan"), float("nan"))
        if bare:
            ratios = [r["cpu"] / b["cpu"] for r, b in zip(rs, bare, strict=False)]
            cpu_ratio = statistics.median(ratios)
            if len(ratios) >= 4:  # spread of the per-round ratios: the noise of this run
                q = statistics.quantiles(ratios, n=4)
                iqr = (q[0], q[2])
            wall_ratio = statistics.median(
                r["wall"] / b["wall"] for r, b in zip(rs, bare, strict=False)
            )
        full_gcs = sum((r.get("gc") or [0, 0, 0])[2] for r in rs)
        summary[v] = {"cpu_ms": cpu, "wall_ms": wall, "spans": spans,
                      "cpu_ratio": cpu_ratio, "wall_ratio": wall_ratio,
                      "cpu_ratio_iqr": iqr, "full_gcs": full_gcs}  # fmt: skip
        print(f"{v:18s} {cpu:8.1f} {wall:8.1f} {spans:6.1f} "
              f"{cpu_ratio if cpu_ratio else float('nan'):9.3f} "
              f"   {iqr[0]:5.3f}-{iqr[1]:5.3f} "
              f"{wall_ratio if wall_ratio else float('nan'):9.3f} {full_gcs:8d}")  # fmt: skip
    if "crewscope" in summary and bare:
        ours = summary["crewscope"]["cpu_ratio"]
        peers = [summary[v]["cpu_ratio"] for v in ("openllmetry", "openinference") if v in summary]
        print(
            f"crewscope/bare CPU {ours:.3f}, per-round IQR "
            f"{summary['crewscope']['cpu_ratio_iqr'][0]:.3f}-"
            f"{summary['crewscope']['cpu_ratio_iqr'][1]:.3f} (target <= {TARGET_CPU_RATIO}: "
            f"{'met' if ours <= TARGET_CPU_RATIO else 'MISSED'}); "
            f"no worse than peers: {'met' if all(ours <= p for p in peers) else 'MISSED'}"
        )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
