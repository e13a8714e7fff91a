"""Harness for tests that run a real OpenTelemetry Collector.

* ``build_collector()`` runs ``scripts/build_collector.sh`` (ocb, cached once per machine)
  and returns the ``otelcol-crewscope`` binary.
* ``OtelcolProcess`` runs one Collector with a config and an explicit environment,
  waits for its ``health_check`` to report ready, captures its log to a file and
  stops it with SIGTERM.
* ``start_sink()`` starts the "second OTLP destination": a Collector built from the
  same binary with ``sink-collector.yaml``, standing in for Jaeger (OTLP/gRPC), Tempo
  (OTLP/HTTP traces) and Mimir (OTLP/HTTP metrics) and writing what it receives to
  JSON-lines files that ``OtlpSink`` reads back.
* ``start_main_collector()`` starts the repo's ``otel-collector.yaml`` with every
  endpoint on loopback ports chosen at runtime: Jaeger, Tempo and Mimir point at the
  sink, crewscope at ``crewscope_endpoint`` (by default a port where nothing listens;
  the Collector then just retries and queues for it).

The Collector only sees the environment built here (plus PATH), so a developer's
``OTEL_*`` or ``CREWSCOPE_*`` variables cannot leak into a test.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG = REPO_ROOT / "otel-collector.yaml"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_collector.sh"
SINK_CONFIG = Path(__file__).with_name("sink-collector.yaml")

BINARY_ENV = "CREWSCOPE_OTELCOL_BIN"
"""Path of a Collector binary to use instead of building one (e.g. the official
otelcol-contrib). When set, Go is not needed."""

BUILD_TIMEOUT_S = 1800.0
"""Upper bound for a first build (about 3 minutes on a 2-core machine with empty Go caches)."""

_FALLBACK_GO_DIRS = ("/usr/local/go/bin",)


class CollectorError(RuntimeError):
    """A Collector could not be built, started or stopped; the message holds its log."""


def find_go() -> str | None:
    """The ``go`` executable, from PATH or the standard install location."""
    return shutil.which("go") or shutil.which("go", path=os.pathsep.join(_FALLBACK_GO_DIRS))


def real_home() -> str:
    """The account's home directory, even when a test session points HOME elsewhere.

    tests/conftest.py gives each session a throwaway HOME; building there would
    re-download and recompile the Collector (several minutes) on every run, since both
    the crewscope cache and Go's module and build caches default to paths under HOME.
    """
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.path.expanduser("~")


def build_env() -> dict[str, str]:
    """Environment for scripts/build_collector.sh: the caller's, with the real HOME and
    Go on PATH."""
    env = dict(os.environ)
    env["HOME"] = real_home()
    go = find_go()
    if go is not None:
        env["PATH"] = os.pathsep.join([str(Path(go).parent), env.get("PATH", "")])
    return env


def cached_binary_path() -> Path:
    """Where ``build_collector.sh`` puts (or has put) the binary; does not build."""
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print-path"],
        check=True,
        capture_output=True,
        text=True,
        env=build_env(),
        timeout=30,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def build_collector(timeout: float = BUILD_TIMEOUT_S) -> Path:
    """Build the Collector with the repo's script (a no-op when cached); return its path."""
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        capture_output=True,
        text=True,
        env=build_env(),
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise CollectorError(
            f"{BUILD_SCRIPT} failed (exit {proc.returncode}):\n{_tail(proc.stderr, 60)}"
        )
    binary = Path(proc.stdout.strip().splitlines()[-1])
    if not os.access(binary, os.X_OK):
        raise CollectorError(f"{BUILD_SCRIPT} reported {binary}, which is not executable")
    elapsed = time.monotonic() - started
    if elapsed > 5:
        print(f"built the Collector in {elapsed:.0f}s: {binary}")
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback(port: int) -> str:
    return f"127.0.0.1:{port}"


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a Collector: PATH (and HOME), nothing inherited else."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    env.update(extra or {})
    return env


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


class AddressInUse(CollectorError):
    """The Collector exited because a port chosen for it was taken meanwhile."""


@dataclass
class OtelcolProcess:
    """One Collector process: started with ``start()``, stopped with ``stop()``."""

    binary: Path
    configs: list[Path]
    env: dict[str, str]
    log_path: Path
    health_endpoint: str
    name: str = "otelcol"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def health_url(self) -> str:
        return f"http://{self.health_endpoint}/"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        args = [str(self.binary)]
        for config in self.configs:
            args.append(f"--config={config}")
        return args + self.extra_args

    def start(self, timeout: float = 30.0) -> OtelcolProcess:
        """Start the process and wait until health_check reports ready."""
        if self.running:
            raise CollectorError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"==> {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=str(self.log_path.parent),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_text = self.log_text()
                error = AddressInUse if "address already in use" in log_text else CollectorError
                raise error(
                    f"{self.name} exited with {self.proc.returncode} before becoming ready; "
                    f"log {self.log_path}:\n{_tail(log_text, 40)}"
                )
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise CollectorError(
            f"{self.name} not ready after {timeout:.0f}s; log {self.log_path}:\n"
            f"{_tail(self.log_text(), 40)}"
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait, SIGKILL as a last resort; return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise CollectorError(
                    f"{self.name} ignored SIGTERM for {timeout:.0f}s and was killed; "
                    f"log {self.log_path}:\n{_tail(self.log_text(), 40)}"
                ) from None
        return self.proc.returncode

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_text(), lines)

    def __enter__(self) -> OtelcolProcess:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_with_free_ports(
    make: Callable[[], OtelcolProcess], attempts: int = 3, timeout: float = 30.0
) -> OtelcolProcess:
    """Start ``make()``'s Collector; pick new ports (call ``make`` again) on a port clash."""
    last: AddressInUse | None = None
    for _ in range(attempts):
        process = make()
        try:
            return process.start(timeout=timeout)
        except AddressInUse as exc:
            last = exc
    assert last is not None
    raise last


# --- the second OTLP destination ---------------------------------------------------

SINK_FILES = {
    "jaeger": "jaeger-traces.jsonl",
    "tempo": "tempo-traces.jsonl",
    "mimir": "mimir-metrics.jsonl",
    "loki": "loki-logs.jsonl",
}


@dataclass
class OtlpSink:
    """A running sink Collector and where it writes what it receives."""

    process: OtelcolProcess
    directory: Path
    grpc_endpoint: str
    http_endpoint: str

    @property
    def jaeger_endpoint(self) -> str:
        """For ``JAEGER_OTLP_ENDPOINT`` (OTLP/gRPC, host:port)."""
        return self.grpc_endpoint

    @property
    def tempo_endpoint(self) -> str:
        """For ``TEMPO_OTLP_ENDPOINT`` (OTLP/HTTP base URL)."""
        return f"http://{self.http_endpoint}"

    @property
    def mimir_endpoint(self) -> str:
        """For ``MIMIR_OTLP_ENDPOINT``; ``/otlp`` like Mimir's real OTLP base path."""
        return f"http://{self.http_endpoint}/otlp"

    @property
    def loki_endpoint(self) -> str:
        """For ``LOKI_OTLP_ENDPOINT``; ``/otlp`` like Loki's real OTLP base path."""
        return f"http://{self.http_endpoint}/otlp"

    def path(self, destination: str) -> Path:
        return self.directory / SINK_FILES[destination]

    def requests(self, destination: str) -> list[dict[str, Any]]:
        """Every OTLP export request (as OTLP JSON) the sink wrote for ``destination``."""
        return read_json_lines(self.path(destination))

    def spans(self, destination: str) -> list[dict[str, Any]]:
        return list(iter_spans(self.requests(destination)))

    def log_records(self) -> list[dict[str, Any]]:
        """Every log record that reached the Loki stand-in (OTLP JSON)."""
        return [
            record
            for request in self.requests("loki")
            for rl in request.get("resourceLogs", [])
            for sl in rl.get("scopeLogs", [])
            for record in sl.get("logRecords", [])
        ]

    def wait_for_log_bodies(self, bodies: Iterable[str], timeout: float = 30.0) -> set[str]:
        wanted = set(bodies)
        deadline = time.monotonic() + timeout
        while True:
            found = {r.get("body", {}).get("stringValue") for r in self.log_records()} & wanted
            if found == wanted or time.monotonic() > deadline:
                return found  # type: ignore[return-value]
            time.sleep(0.1)

    def metric_names(self) -> set[str]:
        return {m["name"] for m in iter_metrics(self.requests("mimir"))}

    def wait_for_spans(
        self, destination: str, span_ids: Iterable[str], timeout: float = 30.0
    ) -> dict[str, dict[str, Any]]:
        """Wait until every span id (hex) arrived; return them by span id."""
        wanted = set(span_ids)
        deadline = time.monotonic() + timeout
        while True:
            found = {s["spanId"]: s for s in self.spans(destination) if s["spanId"] in wanted}
            if len(found) == len(wanted) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def wait_for_metrics(self, names: Iterable[str], timeout: float = 30.0) -> set[str]:
        wanted = set(names)
        deadline = time.monotonic() + timeout
        while True:
            found = self.metric_names() & wanted
            if found == wanted or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Parse a file exporter's JSON lines; a line still being written is skipped."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def iter_spans(requests: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Spans of OTLP JSON trace requests, each with its resource attributes added
    under ``_resource`` (traceId/spanId/parentSpanId are lowercase hex)."""
    for request in requests:
        for resource_spans in request.get("resourceSpans", []):
            resource = attributes_dict(resource_spans.get("resource", {}).get("attributes", []))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    yield {**span, "_resource": resource}


def iter_metrics(requests: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    for request in requests:
        for resource_metrics in request.get("resourceMetrics", []):
            for scope_metrics in resource_metrics.get("scopeMetrics", []):
                yield from scope_metrics.get("metrics", [])


def attributes_dict(attributes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """OTLP JSON ``[{key, value: {stringValue: ...}}]`` -> ``{key: python value}``."""
    out: dict[str, Any] = {}
    for attribute in attributes:
        value = attribute.get("value", {})
        if "intValue" in value:  # OTLP JSON encodes int64 as a string
            out[attribute["key"]] = int(value["intValue"])
        elif value:
            out[attribute["key"]] = next(iter(value.values()))
    return out


_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_prometheus_text(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of a Prometheus text exposition (enough for the Collector's own metrics)."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))
    return samples


def start_sink(binary: Path, directory: Path, log_level: str = "info") -> OtlpSink:
    """Start the second OTLP destination writing into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)

    def make() -> OtelcolProcess:
        grpc, http, health = (loopback(free_port()) for _ in range(3))
        env = base_env(
            {
                "SINK_GRPC_ENDPOINT": grpc,
                "SINK_HTTP_ENDPOINT": http,
                "SINK_HEALTH_CHECK_ENDPOINT": health,
                "SINK_DIR": str(directory),
                "OTELCOL_LOG_LEVEL": log_level,
            }
        )
        return OtelcolProcess(
            binary=binary,
            configs=[SINK_CONFIG],
            env=env,
            log_path=directory / "otelcol-sink.log",
            health_endpoint=health,
            name="sink collector",
        )

    process = start_with_free_ports(make)
    return OtlpSink(
        process=process,
        directory=directory,
        grpc_endpoint=process.env["SINK_GRPC_ENDPOINT"],
        http_endpoint=process.env["SINK_HTTP_ENDPOINT"],
    )


@dataclass
class MainCollector:
    """The repo's otel-collector.yaml, running; endpoints for SDKs to send to."""

    process: OtelcolProcess
    grpc_endpoint: str
    http_endpoint: str
    queue_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return self.process.env

    @property
    def telemetry_url(self) -> str:
        return f"http://127.0.0.1:{self.env['OTELCOL_TELEMETRY_PORT']}/metrics"

    def internal_metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """The Collector's own Prometheus metrics as (name, labels, value), e.g.
        ``otelcol_receiver_accepted_spans``, ``otelcol_exporter_sent_spans``,
        ``otelcol_exporter_send_failed_spans``, ``otelcol_exporter_queue_size``."""
        with urllib.request.urlopen(self.telemetry_url, timeout=5) as resp:
            return parse_prometheus_text(resp.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """Sum of ``name`` over the series whose labels include ``labels``."""
        return sum(
            value
            for n, series_labels, value in self.internal_metrics()
            if n == name and labels.items() <= series_labels.items()
        )

    def wait_for_metric(
        self, name: str, expected: float, timeout: float = 10.0, **labels: str
    ) -> float:
        """Poll ``metric(name, **labels)`` until it equals ``expected``; return the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.metric(name, **labels)
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def restart(self, timeout: float = 30.0) -> MainCollector:
        """Stop and start again with the same ports and queue directory."""
        self.process.stop()
        self.process.start(timeout=timeout)
        return self


def main_collector_env(
    workdir: Path,
    sink: OtlpSink | None,
    crewscope_endpoint: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for otel-collector.yaml with every endpoint on a fresh loopback port.

    Without a sink, Jaeger/Tempo/Mimir/Loki point at ports where nothing listens.
    """

    def nowhere() -> str:
        return loopback(free_port())

    env = {
        "OTELCOL_GRPC_ENDPOINT": loopback(free_port()),
        "OTELCOL_HTTP_ENDPOINT": loopback(free_port()),
        "OTELCOL_HEALTH_CHECK_ENDPOINT": loopback(free_port()),
        "OTELCOL_TELEMETRY_PORT": str(free_port()),
        "OTELCOL_QUEUE_DIR": str(workdir / "queue"),
        "CREWSCOPE_OTLP_ENDPOINT": crewscope_endpoint or f"http://{nowhere()}",
        "JAEGER_OTLP_ENDPOINT": sink.jaeger_endpoint if sink else nowhere(),
        "TEMPO_OTLP_ENDPOINT": sink.tempo_endpoint if sink else f"http://{nowhere()}",
        "MIMIR_OTLP_ENDPOINT": sink.mimir_endpoint if sink else f"http://{nowhere()}/otlp",
        "LOKI_OTLP_ENDPOINT": sink.loki_endpoint if sink else f"http://{nowhere()}/otlp",
    }
    env.update(extra_env or {})
    return base_env(env)


def start_main_collector(
    binary: Path,
    workdir: Path,
    sink: OtlpSink | None,
    crewscope_endpoint: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    config: Path = COLLECTOR_CONFIG,
) -> MainCollector:
    """Start the repo's Collector config; ``extra_env`` overrides any variable."""
    workdir.mkdir(parents=True, exist_ok=True)

    def make() -> OtelcolProcess:
        env = main_collector_env(workdir, sink, crewscope_endpoint, extra_env)
        return OtelcolProcess(
            binary=binary,
            configs=[config],
            env=env,
            log_path=workdir / "otelcol-main.log",
            health_endpoint=env["OTELCOL_HEALTH_CHECK_ENDPOINT"],
            name="main collector",
        )

    process = start_with_free_ports(make)
    return MainCollector(
        process=process,
        grpc_endpoint=process.env["OTELCOL_GRPC_ENDPOINT"],
        http_endpoint=process.env["OTELCOL_HTTP_ENDPOINT"],
        queue_dir=Path(process.env["OTELCOL_QUEUE_DIR"]),
    )
