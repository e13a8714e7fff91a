"""Fixtures: a real Prometheus server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.prometheus import Prometheus, start_prometheus


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Prometheus]]:
    """start(jobs={"name": "127.0.0.1:port"}) -> a Prometheus scraping them every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "the prometheus server is not installed (Debian: apt-get install -y prometheus)"
        )
    procs: list[subprocess.Popen[bytes]] = []

    def start(jobs: dict[str, str]) -> Prometheus:
        prom = start_prometheus(binary, tmp_path, jobs)
        procs.append(prom.proc)
        return prom

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
