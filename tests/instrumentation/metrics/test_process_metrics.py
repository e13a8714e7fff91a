"""psutil process stats: this process, a real child process, and a PID that vanishes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from crewscope.instrumentation import CrewAIInstrumentor
from crewscope.instrumentation._process_metrics import ProcessMetrics
from tests.helpers.metrics import by_attrs, metric, points

MB = 1024 * 1024

# A stand-in for a crew running in a subprocess: allocates ~100 MB and burns CPU on request.
CHILD = """
import sys, time
print("ready", flush=True)
sys.stdin.readline()
hog = b"x" * (100 * 1024 * 1024)  # written, so resident
end = time.process_time() + 1.0
n = 0
while time.process_time() < end:
    n += 1
print("done", len(hog), flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def _one(data: Any, name: str, **match: Any) -> Any:
    [p] = by_attrs(points(data, name), **match)
    return p


def test_child_process_memory_and_cpu_grow(meter_provider, child):
    provider, reader = meter_provider
    pm = ProcessMetrics(provider.get_meter("test"), include_self=False)
    assert pm.watch(child.pid, {"crewai.crew.name": "sub_crew", "gen_ai.agent.name": "Worker"})
    pid = child.pid
    before = reader.get_metrics_data()
    rss0 = _one(before, "process.memory.usage", process__pid=pid).value
    user0 = _one(before, "process.cpu.time", process__pid=pid, cpu__mode="user").value

    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().startswith("done")

    after = reader.get_metrics_data()
    rss1 = _one(after, "process.memory.usage", process__pid=pid)
    assert rss1.value - rss0 >= 90 * MB
    assert rss1.attributes == {
        "process.pid": pid, "crewai.crew.name": "sub_crew", "gen_ai.agent.name": "Worker"
    }  # fmt: skip
    assert _one(after, "process.memory.virtual", process__pid=pid).value >= rss1.value
    user1 = _one(after, "process.cpu.time", process__pid=pid, cpu__mode="user").value
    system1 = _one(after, "process.cpu.time", process__pid=pid, cpu__mode="system").value
    assert user1 + system1 - user0 >= 0.8
    assert _one(after, "process.cpu.utilization", process__pid=pid).value > 0
    assert _one(after, "process.thread.count", process__pid=pid).value >= 1
    assert _one(after, "process.unix.file_descriptor.count", process__pid=pid).value >= 3
    switches = by_attrs(points(after, "process.context_switches"), process__pid=pid)
    assert {p.attributes["process.context_switch.type"] for p in switches} == {
        "voluntary",
        "involuntary",
    }
    units = {n: metric(after, n).unit for n in ("process.cpu.time", "process.memory.usage")}
    assert units == {"process.cpu.time": "s", "process.memory.usage": "By"}
    pm.stop()


def test_vanished_pid_ends_its_series_silently(meter_provider, child, caplog):
    provider, reader = meter_provider
    pm = ProcessMetrics(provider.get_meter("test"))
    assert pm.watch(child.pid)
    data = reader.get_metrics_data()
    assert by_attrs(points(data, "process.memory.usage"), process__pid=child.pid)
    child.kill()
    child.wait(timeout=30)
    with caplog.at_level(logging.INFO):
        data = reader.get_metrics_data()
    usage = points(data, "process.memory.usage")
    assert by_attrs(usage, process__pid=child.pid) == []
    assert by_attrs(usage, process__pid=os.getpid())  # the others go on
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
    assert pm.pids == [os.getpid()]
    pm.stop()


def test_zombie_child_counts_as_vanished(meter_provider, child):
    provider, reader = meter_provider
    pm = ProcessMetrics(provider.get_meter("test"), include_self=False)
    assert pm.watch(child.pid)
    child.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # not reaped yet: a zombie
        import psutil

        if psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    assert points(reader.get_metrics_data(), "process.memory.usage") == []
    assert pm.pids == []
    pm.stop()


def test_watch_of_a_missing_pid_returns_false(meter_provider):
    provider, _ = meter_provider
    pm = ProcessMetrics(provider.get_meter("test"), include_self=False)
    assert pm.watch(2**22 + 12345) is False
    assert pm.pids == []
    pm.stop()


def test_instrumentor_reports_own_process_and_survives_reinstrument(meter_provider, _tracing):
    provider, reader = meter_provider
    tracer_provider, _ = _tracing
    for _ in range(2):  # the SDK keeps the first callbacks of an instrument name
        instrumentor = CrewAIInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=provider)
        try:
            data = reader.get_metrics_data()
        finally:
            instrumentor.uninstrument()
        [own] = points(data, "process.memory.usage")
        assert own.attributes == {"process.pid": os.getpid()}
        assert own.value > 10 * MB
        assert len(points(data, "process.cpu.time")) == 2
    assert points(reader.get_metrics_data(), "process.memory.usage") == []


def test_process_metrics_env_switch(meter_provider, _tracing, monkeypatch):
    monkeypatch.setenv("CREWSCOPE_PROCESS_METRICS", "false")
    provider, reader = meter_provider
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=_tracing[0], meter_provider=provider)
    try:
        assert instrumentor.process_metrics is None
        assert points(reader.get_metrics_data(), "process.memory.usage") == []
    finally:
        instrumentor.uninstrument()
