"""A real Prometheus server scraping given targets every second (binary from the system)."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.served import free_port, wait_until


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]

    def query(self, promql: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=5) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        return wait_until(lambda: self.query(promql), timeout, 0.5, f"PromQL {promql}")

    def targets_up(self) -> dict[str, str]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as r:
            body = json.loads(r.read())
        return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}


def start_prometheus(binary: str, workdir: Path, jobs: dict[str, str]) -> Prometheus:
    """Start `binary` scraping `jobs` (name -> "host:port") every second; waits until ready.

    The caller stops ``.proc``; config, TSDB and log live in `workdir`.
    """
    port = free_port()
    scrape = "\n".join(
        f"""  - job_name: {name}
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['{target}']"""
        for name, target in jobs.items()
    )
    config = workdir / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape}\n")
    log_path = workdir / "prometheus.log"
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", proc)

    def ready() -> bool:
        assert proc.poll() is None, log_path.read_text()
        try:
            with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, 30, 0.2, "prometheus ready")
    except BaseException:
        proc.kill()
        proc.wait(5)
        raise
    return prom
