"""Jaeger v2 as a real OTLP destination of crewscope's Collector.

A real CrewAI crew (instrumented by crewscope, against the local fake LLM) sends its
spans over OTLP/gRPC to the real Collector on the repo's ``otel-collector.yaml``, which
fans them out to ``crewscope serve`` (OTLP/HTTP) and to a real Jaeger v2
(``scripts/build_jaeger.sh``, on ``jaeger.yaml``: memory storage, loopback only) through
the config's own ``otlp_grpc/jaeger`` exporter. Then the same traces are read back from
both: Jaeger's query APIs (``/api/v3/traces/{id}``, OTLP JSON; ``/api/traces/{id}``, the
model its UI reads) and crewscope's API (``/api/v1/monitoring/runs/{id}``), and compared
span by span with each other and with what the SDK recorded: span ids and parents, names
(Jaeger's operation names), service name, span kinds, status and message, exception
events and every ``gen_ai.*`` attribute.

The Jaeger binary is built in the session fixture (``jaeger_binary``, a no-op once cached),
so a cold run includes the build; no skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crewscope.demo.crew import build_crew, make_llm, word_counter_tool
from crewscope.instrumentation import CrewAIInstrumentor


def _load(name: str, filename: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules[name]


e2e = _load("crewscope_tests_collector_e2e", "_e2e.py")

SERVICE = "crewscope-jaeger-e2e"
API = "/api/v1/monitoring"
TO_CREWSCOPE_AND_JAEGER = {
    "OTELCOL_TRACES_EXPORTERS": "[otlp_http/crewscope, otlp_grpc/jaeger]",
    "OTELCOL_METRICS_EXPORTERS": "[otlp_http/crewscope]",
    "OTELCOL_LOGS_EXPORTERS": "[otlp_http/crewscope]",
}
TIMEOUT_S = 240
"""Per test, once Jaeger is built; conftest adds the build's time on a cold cache."""

KIND_NAMES = {  # SDK SpanKind -> (OTLP JSON enum, crewscope API, Jaeger span.kind tag)
    SpanKind.INTERNAL: (1, "Internal", "internal"),
    SpanKind.SERVER: (2, "Server", "server"),
    SpanKind.CLIENT: (3, "Client", "client"),
    SpanKind.PRODUCER: (4, "Producer", "producer"),
    SpanKind.CONSUMER: (5, "Consumer", "consumer"),
}
STATUS_NAMES = {  # SDK StatusCode -> (OTLP JSON code, crewscope API)
    StatusCode.UNSET: (0, "unset"),
    StatusCode.OK: (1, "ok"),
    StatusCode.ERROR: (2, "error"),
}


# --- reading the two sides -----------------------------------------------------------------


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def as_text(value: Any) -> str:
    """An attribute value written the way crewscope's API shows it (strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def any_value(value: Mapping[str, Any]) -> Any:
    """OTLP JSON AnyValue -> Python value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:  # int64 as a JSON string
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    raise AssertionError(f"unexpected OTLP value {value}")


def otlp_attributes(attributes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {a["key"]: any_value(a.get("value", {})) for a in attributes}


def gen_ai(attributes: Mapping[str, Any]) -> dict[str, str]:
    return {k: as_text(v) for k, v in attributes.items() if k.startswith("gen_ai.")}


def jaeger_v3_spans(jaeger: Any, trace_id: str) -> dict[str, dict[str, Any]]:
    """``GET /api/v3/traces/{id}`` (OTLP JSON): spans by id, with ``_service`` added."""
    document = get_json(f"{jaeger.query_url}/api/v3/traces/{trace_id}")
    out: dict[str, dict[str, Any]] = {}
    for resource_spans in document["result"]["resourceSpans"]:
        resource = otlp_attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                assert span["spanId"] not in out, f"span {span['spanId']} twice in Jaeger"
                out[span["spanId"]] = {**span, "_service": resource.get("service.name")}
    return out


def jaeger_v1_trace(jaeger: Any, trace_id: str) -> dict[str, Any]:
    """``GET /api/traces/{id}``: the trace as Jaeger's UI reads it."""
    document = get_json(f"{jaeger.query_url}/api/traces/{trace_id}")
    assert not document.get("errors"), document.get("errors")
    (trace,) = document["data"]
    return dict(trace)


def jaeger_trace_count(jaeger: Any, trace_id: str) -> int:
    try:
        return len(jaeger_v3_spans(jaeger, trace_id))
    except urllib.error.HTTPError as exc:  # 404 until the first span of the trace is stored
        if exc.code == 404:
            return 0
        raise


def walk(nodes: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for node in nodes:
        yield node
        yield from walk(node["children"])


def crewscope_spans(served: Any, trace_ids: set[str]) -> dict[str, Mapping[str, Any]]:
    """Every span of ``trace_ids`` from crewscope's API: each run's span tree
    (``GET /runs/{run_id}``), for every top-level run the run list shows."""
    runs = get_json(f"{served.url}{API}/runs?limit=100")["runs"]
    out: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        if run["trace_id"] not in trace_ids:
            continue
        detail = get_json(f"{served.url}{API}/runs/{run['run_id']}")
        for node in walk(detail["spans"]):
            out[node["span_id"]] = {**node, "_trace_id": run["trace_id"]}
    return out


def sdk_view(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    otlp_kind, crewscope_kind, jaeger_kind = KIND_NAMES[span.kind]
    otlp_status, crewscope_status = STATUS_NAMES[span.status.status_code]
    return {
        "trace_id": f"{context.trace_id:032x}",
        "parent": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": (otlp_kind, crewscope_kind, jaeger_kind),
        "status": (otlp_status, crewscope_status),
        "status_message": span.status.description or None,
        "events": [event.name for event in span.events],
        "gen_ai": gen_ai(dict(span.attributes or {})),
        "start_us": (span.start_time or 0) // 1000,
        "duration_us": ((span.end_time or 0) - (span.start_time or 0)) // 1000,
    }


# --- the crews -----------------------------------------------------------------------------


def run_crews(llm_server: Any, collector_grpc: str) -> list[ReadableSpan]:
    """Two instrumented crew runs (the second with a tool that raises: an error span with an
    exception event), exported over OTLP/gRPC to the Collector; returns what the SDK
    recorded."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://{collector_grpc}", insecure=True, timeout=10)
        )
    )
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        build_crew(make_llm(llm_server.base_url)).kickoff(inputs={"topic": "jaeger"})
        build_crew(make_llm(llm_server.base_url), tool=word_counter_tool(fail=True)).kickoff(
            inputs={"topic": "tracing backends"}
        )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # flushes the OTLP exporter
    return list(memory.get_finished_spans())


@pytest.fixture
def crewscope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``crewscope serve``'s app under uvicorn (in a thread), on a fresh DuckDB file."""
    # Its own API requests would be stored as spans too; off, so every span is the crew's.
    monkeypatch.setenv("CREWSCOPE_SELF_TELEMETRY", "false")
    served = e2e.start_crewscope(tmp_path / "crewscope.duckdb")
    yield served
    served.stop()


# --- the tests -----------------------------------------------------------------------------


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            assert len(address_hex) == width
            if table == "tcp":
                raw = bytes.fromhex(address_hex)[::-1]  # little-endian IPv4
                address = ".".join(str(b) for b in raw)
            else:
                address = "ipv6:" + address_hex
            found.add((address, int(port_hex, 16)))
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads Linux /proc")
@pytest.mark.timeout(TIMEOUT_S)
def test_jaeger_listens_on_loopback_only_on_the_configured_ports(jaeger: Any) -> None:
    """jaeger.yaml sets every listener: Jaeger listens on those 127.0.0.1 ports, nothing else
    (no 0.0.0.0 default of the Collector components it is made of)."""
    endpoints = [
        jaeger.otlp_grpc_endpoint,
        jaeger.otlp_http_endpoint,
        jaeger.query_http_endpoint,
        jaeger.query_grpc_endpoint,
        jaeger.health_endpoint,
        jaeger.metrics_endpoint,
    ]
    expected = {(host, int(port)) for host, port in (e.rsplit(":", 1) for e in endpoints)}
    assert listening_sockets(jaeger.process.proc.pid) == expected
    # The query service answers, and the UI route is served (Jaeger's page or placeholder).
    assert get_json(f"{jaeger.query_url}/api/services")["data"] in (None, [])
    with urllib.request.urlopen(f"{jaeger.query_url}/", timeout=10) as resp:
        assert resp.status == 200
        assert "<html" in resp.read().decode(errors="replace").lower()


@pytest.mark.timeout(TIMEOUT_S)
def test_crew_trace_in_jaeger_is_the_trace_crewscope_serves(
    jaeger: Any,
    start_main_collector: Any,
    crewscope: Any,
    llm_server: Any,
    collector_harness: ModuleType,
) -> None:
    collector = start_main_collector(
        None,
        crewscope_endpoint=crewscope.url,
        extra_env={"JAEGER_OTLP_ENDPOINT": jaeger.otlp_grpc_endpoint, **TO_CREWSCOPE_AND_JAEGER},
    )
    recorded = run_crews(llm_server, collector.grpc_endpoint)
    sdk = {f"{s.get_span_context().span_id:016x}": sdk_view(s) for s in recorded}  # type: ignore[union-attr]
    n = len(sdk)
    trace_ids = {view["trace_id"] for view in sdk.values()}
    assert n >= 20, f"two crew runs gave only {n} spans"
    assert len(trace_ids) == 2, trace_ids
    errors = [view["name"] for view in sdk.values() if view["status"][1] == "error"]
    assert errors == ["execute_tool word_counter"], errors

    # Both destinations get every span (crewscope's count, Jaeger's query API).
    def arrived() -> bool:
        return crewscope.count() >= n and sum(jaeger_trace_count(jaeger, t) for t in trace_ids) >= n

    ok, waited = e2e.wait_until(arrived, timeout=60, interval=0.2)
    sent = {
        exporter: collector.wait_for_metric("otelcol_exporter_sent_spans", n, exporter=exporter)
        for exporter in ("otlp_http/crewscope", "otlp_grpc/jaeger")
    }
    counts = (
        f"SDK {n} spans; Collector sent {sent}; crewscope stored {crewscope.count()}; "
        f"Jaeger has {sum(jaeger_trace_count(jaeger, t) for t in trace_ids)} (after {waited:.1f}s)"
    )
    print(f"\n{counts}")
    assert ok, counts
    assert sent == {"otlp_http/crewscope": n, "otlp_grpc/jaeger": n}, counts

    in_jaeger: dict[str, dict[str, Any]] = {}
    for trace_id in trace_ids:
        spans = jaeger_v3_spans(jaeger, trace_id)
        assert {s["traceId"] for s in spans.values()} == {trace_id}
        in_jaeger.update(spans)
    in_crewscope = crewscope_spans(crewscope, trace_ids)
    assert set(in_jaeger) == set(sdk), "Jaeger's span ids differ from the SDK's"
    assert set(in_crewscope) == set(sdk), "crewscope's span ids differ from the SDK's"

    for span_id, want in sdk.items():
        j, c = in_jaeger[span_id], in_crewscope[span_id]
        jaeger_view = {
            "trace_id": j["traceId"],
            "parent": j.get("parentSpanId") or None,
            "name": j["name"],
            "kind": j.get("kind", 0),
            "status": j.get("status", {}).get("code", 0),
            "status_message": j.get("status", {}).get("message") or None,
            "events": [e["name"] for e in j.get("events", [])],
            "gen_ai": gen_ai(otlp_attributes(j.get("attributes", []))),
            "start_us": int(j["startTimeUnixNano"]) // 1000,
            "duration_us": (int(j["endTimeUnixNano"]) - int(j["startTimeUnixNano"])) // 1000,
            "service": j["_service"],
        }
        crewscope_view = {
            "trace_id": c["_trace_id"],
            "parent": c["parent_span_id"],
            "name": c["name"],
            "kind": c["kind"],
            "status": c["status"],
            "status_message": c["status_message"],
            "events": [e["name"] for e in c["events"]],
            "gen_ai": {k: v for k, v in c["attributes"].items() if k.startswith("gen_ai.")},
        }
        assert jaeger_view == {
            **want,
            "kind": want["kind"][0],
            "status": want["status"][0],
            "service": SERVICE,
        }, f"span {span_id} ({want['name']}) in Jaeger"
        assert crewscope_view == {
            k: v for k, v in want.items() if k not in ("start_us", "duration_us")
        } | {"kind": want["kind"][1], "status": want["status"][1]}, (
            f"span {span_id} ({want['name']}) in crewscope"
        )

    # The gen_ai attributes compared above are there: operations, the model, the tokens.
    operations = {view["gen_ai"].get("gen_ai.operation.name") for view in sdk.values()}
    assert {"invoke_workflow", "invoke_agent", "chat", "execute_tool"} <= operations, operations
    chat_tokens = sum(
        int(view["gen_ai"]["gen_ai.usage.input_tokens"])
        for view in sdk.values()
        if view["gen_ai"].get("gen_ai.operation.name") == "chat"
    )
    assert chat_tokens == sum(call.prompt_tokens for call in llm_server.calls) > 0

    # The model Jaeger's UI reads (/api/traces/{id}): service, operation names, CHILD_OF
    # references, span.kind and error tags, the exception as a span log.
    for trace_id in trace_ids:
        trace = jaeger_v1_trace(jaeger, trace_id)
        services = {p["serviceName"] for p in trace["processes"].values()}
        assert services == {SERVICE}
        assert {s["spanID"] for s in trace["spans"]} == {
            i for i, v in sdk.items() if v["trace_id"] == trace_id
        }
        for span in trace["spans"]:
            want = sdk[span["spanID"]]
            tags = {t["key"]: t["value"] for t in span["tags"]}
            parents = [r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"]
            assert span["operationName"] == want["name"]
            assert parents == ([want["parent"]] if want["parent"] else [])
            assert span["startTime"] == want["start_us"]
            assert span["duration"] == want["duration_us"]
            assert tags.get("span.kind", "internal") == want["kind"][2]
            assert (tags.get("error") is True) == (want["status"][1] == "error")
            assert (
                gen_ai({k: v for k, v in tags.items() if k.startswith("gen_ai.")}) == want["gen_ai"]
            )
            logged = [
                f["value"] for log in span["logs"] for f in log["fields"] if f["key"] == "event"
            ]
            assert logged == want["events"]

    # The service and its operations as Jaeger lists them (the UI's search form).
    assert SERVICE in get_json(f"{jaeger.query_url}/api/services")["data"]
    operations_v3 = get_json(
        f"{jaeger.query_url}/api/v3/operations?service={urllib.parse.quote(SERVICE)}"
    )["operations"]
    assert {(o["name"], o["spanKind"]) for o in operations_v3} == {
        (v["name"], v["kind"][2]) for v in sdk.values()
    }

    # Service name on crewscope's side: its agents list.
    agents = get_json(f"{crewscope.url}{API}/agents")["agents"]
    assert {a["agent"] for a in agents} == {"Researcher", "Writer"}
    assert {a["service"] for a in agents} == {SERVICE}

    # Jaeger received and stored each span once: its own counters (Prometheus, _total).
    jaeger_metrics = collector_harness.parse_prometheus_text(
        urllib.request.urlopen(jaeger.metrics_url, timeout=5).read().decode()
    )

    def jaeger_metric(name: str, **labels: str) -> float:
        return sum(
            float(value)
            for metric, series, value in jaeger_metrics
            if metric == name and labels.items() <= series.items()
        )

    accepted = jaeger_metric("otelcol_receiver_accepted_spans_total", receiver="otlp")
    stored = jaeger_metric("otelcol_exporter_sent_spans_total", exporter="jaeger_storage_exporter")
    failed = jaeger_metric(
        "otelcol_exporter_send_failed_spans_total", exporter="jaeger_storage_exporter"
    )
    assert (accepted, stored, failed) == (n, n, 0), (
        f"Jaeger: receiver accepted {accepted:g}, storage exporter wrote {stored:g} "
        f"(failed {failed:g}); the SDK sent {n}"
    )
