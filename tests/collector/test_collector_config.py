"""otel-collector.yaml against the Collector built by scripts/build_collector.sh."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

DESTINATIONS = {
    "otlp_http/crewscope", "otlp_grpc/jaeger", "otlp_http/tempo", "otlp_http/mimir",
    "otlp_http/loki", "clickhouse",
}  # fmt: skip
REPLICATED_PARAMS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def run(
    binary: Path, harness: ModuleType, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        env=harness.base_env(env),
        cwd=harness.REPO_ROOT,
        timeout=60,
    )


def resolved_config(
    binary: Path, harness: ModuleType, env: dict[str, str] | None = None, mode: str = "redacted"
) -> dict[str, Any]:
    proc = run(
        binary,
        harness,
        "print-config",
        f"--config={harness.COLLECTOR_CONFIG}",
        "--format=json",
        f"--mode={mode}",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    config: dict[str, Any] = json.loads(proc.stdout)
    return config


def test_repo_config_validates(otelcol_binary: Path, collector_harness: ModuleType) -> None:
    proc = run(
        otelcol_binary,
        collector_harness,
        "validate",
        f"--config={collector_harness.COLLECTOR_CONFIG}",
    )
    assert proc.returncode == 0, f"validate failed:\n{proc.stdout}\n{proc.stderr}"


def test_binary_has_exactly_the_manifest_components(
    otelcol_binary: Path, collector_harness: ModuleType
) -> None:
    if os.environ.get(collector_harness.BINARY_ENV):
        pytest.skip(f"{collector_harness.BINARY_ENV} is set: not the binary the manifest builds")
    manifest = (collector_harness.REPO_ROOT / "scripts" / "ocb-manifest.yaml").read_text()
    wanted = set(re.findall(r"^\s*- gomod: (\S+ \S+)\s*$", manifest, re.MULTILINE))
    proc = run(otelcol_binary, collector_harness, "components")
    assert proc.returncode == 0, proc.stderr
    built = set(re.findall(r"^\s*module: (\S+ \S+)\s*$", proc.stdout, re.MULTILINE))
    assert built == wanted


def test_defaults_pipelines_and_queues(otelcol_binary: Path, collector_harness: ModuleType) -> None:
    config = resolved_config(otelcol_binary, collector_harness)
    service = config["service"]
    assert {"health_check", "file_storage/queue"} <= set(service["extensions"])

    pipelines = service["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] == ["otlp"], name
        assert pipeline["processors"][0] == "memory_limiter", name
        assert pipeline["processors"][-1] == "batch", name
    assert pipelines["traces"]["exporters"] == [
        "otlp_http/crewscope",
        "otlp_grpc/jaeger",
        "otlp_http/tempo",
    ]
    assert pipelines["metrics"]["exporters"] == ["otlp_http/crewscope", "otlp_http/mimir"]
    assert pipelines["logs"]["exporters"] == ["otlp_http/crewscope", "otlp_http/loki"]

    exporters = config["exporters"]
    for name in DESTINATIONS:
        exporter = exporters[name]
        assert exporter["retry_on_failure"]["enabled"] is True, name
        assert exporter["sending_queue"]["storage"] == "file_storage/queue", name
    assert exporters["otlp_http/crewscope"]["endpoint"] == "http://127.0.0.1:8000"
    assert exporters["otlp_grpc/jaeger"]["endpoint"] == "127.0.0.1:14317"
    assert exporters["otlp_http/mimir"]["endpoint"] == "http://127.0.0.1:9009/otlp"
    assert exporters["otlp_http/loki"]["endpoint"] == "http://127.0.0.1:3100/otlp"
    # ClickHouse: configured, off until listed; the exporter's own tables in `otel`.
    clickhouse = exporters["clickhouse"]
    assert clickhouse["endpoint"] == "tcp://127.0.0.1:9000"
    assert clickhouse["database"] == "otel"
    assert clickhouse["username"] == "default"
    assert clickhouse["create_schema"] is True
    assert clickhouse["async_insert"] is True
    assert clickhouse["json"] is False  # Map attribute columns, the tables crewscope reads
    assert clickhouse["ttl"] == 0
    assert clickhouse["cluster_name"] == ""
    assert clickhouse["table_engine"] == {"name": "MergeTree", "params": ""}
    assert clickhouse["traces_table_name"] == "otel_traces"
    assert clickhouse["logs_table_name"] == "otel_logs"
    assert clickhouse["metrics_tables"]["sum"] == {"name": "otel_metrics_sum"}
    assert all("clickhouse" not in p["exporters"] for p in pipelines.values())

    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "127.0.0.1:4317"
    assert protocols["http"]["endpoint"] == "127.0.0.1:4318"
    assert config["extensions"]["health_check"]["endpoint"] == "127.0.0.1:13133"


def test_endpoints_and_credentials_come_from_env(
    otelcol_binary: Path, collector_harness: ModuleType
) -> None:
    env = {
        "OTELCOL_GRPC_ENDPOINT": "0.0.0.0:14000",
        "CREWSCOPE_OTLP_ENDPOINT": "http://crewscope.internal:9000",
        "CREWSCOPE_INGEST_TOKEN": "s3cret",
        "TEMPO_OTLP_ENDPOINT": "https://tempo.example.net",
        "TEMPO_AUTHORIZATION": "Basic dXNlcjp0b2tlbg==",
        "MIMIR_TENANT": "team-a",
        "LOKI_OTLP_ENDPOINT": "https://loki.example.net/otlp",
        "LOKI_TENANT": "team-b",
        "OTELCOL_QUEUE_DIR": "/var/lib/otelcol-crewscope",
        "CLICKHOUSE_ENDPOINT": "https://ch.example.net:8443?dial_timeout=10s",
        "CLICKHOUSE_DATABASE": "crewscope",
        "CLICKHOUSE_USERNAME": "writer",
        "CLICKHOUSE_PASSWORD": "ch-s3cret",
        "CLICKHOUSE_TTL": "720h",
        "CLICKHOUSE_CREATE_SCHEMA": "false",
        "CLICKHOUSE_ASYNC_INSERT": "false",
        "CLICKHOUSE_CLUSTER": "crewscope",
        "CLICKHOUSE_TABLE_ENGINE": "ReplicatedMergeTree",
        "CLICKHOUSE_TABLE_ENGINE_PARAMS": REPLICATED_PARAMS,
    }
    config = resolved_config(otelcol_binary, collector_harness, env, mode="unredacted")
    exporters = config["exporters"]

    def headers(name: str) -> dict[str, str]:
        return {h["name"]: h["value"] for h in exporters[name]["headers"]}

    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:14000"
    assert exporters["otlp_http/crewscope"]["endpoint"] == "http://crewscope.internal:9000"
    assert headers("otlp_http/crewscope")["Authorization"] == "Bearer s3cret"
    assert exporters["otlp_http/tempo"]["endpoint"] == "https://tempo.example.net"
    assert headers("otlp_http/tempo")["Authorization"] == "Basic dXNlcjp0b2tlbg=="
    assert headers("otlp_http/mimir")["X-Scope-OrgID"] == "team-a"
    assert exporters["otlp_http/loki"]["endpoint"] == "https://loki.example.net/otlp"
    assert headers("otlp_http/loki")["X-Scope-OrgID"] == "team-b"
    assert config["extensions"]["file_storage/queue"]["directory"] == "/var/lib/otelcol-crewscope"
    clickhouse = exporters["clickhouse"]
    assert clickhouse["endpoint"] == "https://ch.example.net:8443?dial_timeout=10s"
    assert clickhouse["database"] == "crewscope"
    assert (clickhouse["username"], clickhouse["password"]) == ("writer", "ch-s3cret")
    assert clickhouse["ttl"] == 720 * 3600 * 10**9  # print-config shows durations in ns
    assert clickhouse["create_schema"] is False
    assert clickhouse["async_insert"] is False
    assert clickhouse["cluster_name"] == "crewscope"
    assert clickhouse["table_engine"] == {
        "name": "ReplicatedMergeTree",
        "params": REPLICATED_PARAMS,
    }
    assert clickhouse["sending_queue"]["storage"] == "file_storage/queue"
    listed = {f"OTELCOL_{s}_EXPORTERS": "[clickhouse]" for s in ("TRACES", "METRICS", "LOGS")}
    config_arg = f"--config={collector_harness.COLLECTOR_CONFIG}"
    proc = run(otelcol_binary, collector_harness, "validate", config_arg, env=env | listed)
    assert proc.returncode == 0, proc.stderr


def test_clickhouse_password_is_redacted(
    otelcol_binary: Path, collector_harness: ModuleType
) -> None:
    env = {"CLICKHOUSE_PASSWORD": "ch-s3cret"}
    clickhouse = resolved_config(otelcol_binary, collector_harness, env)["exporters"]["clickhouse"]
    assert clickhouse["password"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("traces", "metrics", "logs"),
    [
        (["otlp_http/crewscope"], ["otlp_http/crewscope"], ["otlp_http/crewscope"]),
        (["otlp_grpc/jaeger", "debug"], ["otlp_http/mimir"], ["otlp_http/loki", "debug"]),
        (["otlp_http/crewscope", "clickhouse"], ["clickhouse"], ["clickhouse", "otlp_http/loki"]),
    ],
)
def test_destinations_are_chosen_by_env(
    otelcol_binary: Path,
    collector_harness: ModuleType,
    traces: list[str],
    metrics: list[str],
    logs: list[str],
) -> None:
    env = {
        "OTELCOL_TRACES_EXPORTERS": "[" + ", ".join(traces) + "]",
        "OTELCOL_METRICS_EXPORTERS": "[" + ", ".join(metrics) + "]",
        "OTELCOL_LOGS_EXPORTERS": "[" + ", ".join(logs) + "]",
    }
    proc = run(
        otelcol_binary,
        collector_harness,
        "validate",
        f"--config={collector_harness.COLLECTOR_CONFIG}",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    pipelines = resolved_config(otelcol_binary, collector_harness, env)["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == traces
    assert pipelines["metrics"]["exporters"] == metrics
    assert pipelines["logs"]["exporters"] == logs


def test_unknown_destination_is_rejected(
    otelcol_binary: Path, collector_harness: ModuleType
) -> None:
    proc = run(
        otelcol_binary,
        collector_harness,
        "validate",
        f"--config={collector_harness.COLLECTOR_CONFIG}",
        env={"OTELCOL_TRACES_EXPORTERS": "[otlp_http/crewscope, otlp_http/zipkin]"},
    )
    assert proc.returncode != 0
    assert 'references exporter "otlp_http/zipkin" which is not configured' in proc.stderr
