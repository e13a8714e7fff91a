"""An instrumented app for the "telemetry never harms the app" tests.

    python harm_app.py FAKE_LLM_URL SCENARIOS.json

Runs each scenario of the JSON list in turn, in this one process (CrewAI is imported once):
``configure()`` as users call it (exporters, DuckDB file, OTLP endpoint from the scenario;
``set_global=False`` so that each scenario gets its own tracer provider), then, with
``flood``, that many spans of the app's own made as fast as it can (far more than the batch
processor's queue holds), then ``kickoffs`` kickoffs of the demo crew against the fake LLM,
then ``telemetry.shutdown()``. ``fsize_limit`` caps the size of any file the process
writes during the scenario (RLIMIT_FSIZE, SIGXFSZ ignored: a full disk). A scenario with
``bare`` runs the crew without crewscope: the results to compare with.

Any exception reaching this code is reported. stderr gets ``=== scenario NAME`` before each
scenario; the last stdout line is JSON, per scenario: the kickoff results, the errors, the
seconds each step took, RSS samples (MiB, every 20 ms, from a thread) and
``telemetry.span_stats()``, plus the DuckDB exporters' own stats.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import threading
import time
import traceback
from typing import Any

import psutil


class RssSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="rss", daemon=True)
        self.samples: list[float] = []
        self.running = True
        self._proc = psutil.Process()

    def run(self) -> None:
        while self.running:
            self.samples.append(self._proc.memory_info().rss / 2**20)
            time.sleep(0.02)


def run(llm_url: str, scenario: dict[str, Any]) -> dict[str, Any]:
    # The exporters' libraries (DuckDB, pyarrow: about 50 MiB) are imported once per process,
    # before RSS is first read: growth is what a scenario adds, not what the first one imports.
    import crewscope.exporter  # noqa: F401
    from crewscope.demo.crew import build_crew, make_llm
    from crewscope.instrumentation.configure import configure

    report: dict[str, Any] = {"errors": [], "results": [], "seconds": {}}
    rss = RssSampler()
    rss.start()
    limit = scenario.get("fsize_limit")
    saved = resource.getrlimit(resource.RLIMIT_FSIZE)

    def step(name: str, t0: float) -> None:
        report["seconds"][name] = round(time.monotonic() - t0, 3)

    telemetry = None
    try:
        if limit:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), saved[1]))
        report["rss_start"] = psutil.Process().memory_info().rss / 2**20
        if not scenario.get("bare"):
            t0 = time.monotonic()
            telemetry = configure(
                service_name="harm-app", exporters=scenario["exporters"],
                metrics_exporters=[], db_path=scenario.get("db_path"),
                otlp_endpoint=scenario.get("otlp_endpoint"), set_global=False,
            )  # fmt: skip
            step("configure", t0)
            tracer = telemetry.tracer_provider.get_tracer("harm-app")
            t0 = time.monotonic()
            for i in range(int(scenario.get("flood", 0))):
                with tracer.start_as_current_span("flood", attributes={"i": i}):
                    pass
            step("flood", t0)
        crew = build_crew(make_llm(llm_url))
        t0 = time.monotonic()
        for n in range(int(scenario.get("kickoffs", 1))):
            report["results"].append(crew.kickoff(inputs={"topic": f"harm {n}"}).raw)
        step("kickoffs", t0)
        if telemetry is not None:
            t0 = time.monotonic()
            telemetry.shutdown()
            step("shutdown", t0)
    except BaseException as exc:  # noqa: BLE001 - the test asserts there is none
        report["errors"].append("".join(traceback.format_exception(exc)))
    finally:
        if limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, saved)
    rss.running = False
    rss.join()
    report["rss_mib"] = rss.samples
    if telemetry is not None:
        # A last export the shutdown stopped waiting for may still be running (its
        # outcome counts as queued until it ends): give it a moment, then read the counts.
        t0 = time.monotonic()
        while any(s["queued"] for s in telemetry.span_stats()) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        step("settle", t0)
        report["span_stats"] = telemetry.span_stats()
        report["exporter_stats"] = [
            e.stats.as_dict() for e in telemetry.exporters if hasattr(e, "stats")
        ]
    return report


def main(llm_url: str, scenarios_path: str) -> None:
    with open(scenarios_path) as f:
        scenarios = json.load(f)
    reports = {}
    for scenario in scenarios:
        print(f"=== scenario {scenario['name']}", file=sys.stderr, flush=True)
        reports[scenario["name"]] = run(llm_url, scenario)
    print(json.dumps(reports), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
