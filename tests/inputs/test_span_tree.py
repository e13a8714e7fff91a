"""Odd spans of a run, read back through the API's span tree (``GET /runs/{run_id}``).

A run span (a crew kickoff, as the instrumentation marks it) and children sent over OTLP
with clock skew (children starting before their parent or ending after it), ends before
starts, parents that were never sent, spans that are their own parent, duplicate span ids,
odd names and attribute values. What the tree must show ("faithful", `expected_tree`):

- the run span at the root, and beneath it every span of the trace whose parent chain
  reaches it and which, like every span on that chain, starts within the run's window
  widened by the API's clock-skew margin (5 s either side, `span_tree.CLOCK_SKEW`);
  nothing else. A span outside that window is in the file but not in the tree (nor are
  its descendants): the documented margin, not a loss.
- a span that is its own parent, or whose parent was never sent, is not beneath the run.
- a duplicated span id appears once (one of its copies); where a chain passes through a
  duplicated id the test accepts either copy's place.
- each node as stored: start (to the microsecond), duration (0 when end < start), status,
  kind, attributes (each value cut to its first 1000 characters).

The last tests are API bugs these found (a parent cycle hung the run detail; a run at the end of time gave 500), fixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.inputs import wire
from tests.inputs.conftest import SETTINGS, Receiver, fresh_trace_id
from tests.inputs.values import Value, expected_map, key_values, texts, values

NOW_MS = 1_750_000_000_000  # fixed (deterministic); whole milliseconds, so the window's
SKEW_MS = 5_000  # edges (microseconds in the API) are exact
STATUSES = {0: "unset", 1: "ok", 2: "error"}
KINDS = {1: "Internal", 2: "Server", 3: "Client"}
OPS = [None, "chat", "execute_tool", "invoke_agent", "memory"]
MISSING = b"\xee" * 8
CALLER = b"\xef" * 8
"""Parents never sent: of children, and of a run kicked off inside a caller's span. No span
has these ids (a parent cycle is tested on its own below)."""


@dataclass
class Node:
    span_id: bytes
    parent: bytes
    start_ms: int
    end_ms: int
    name: str
    kind: int
    status: int
    attrs: list[tuple[str, Value]]


@dataclass
class Run:
    trace_id: bytes
    root: Node
    children: list[Node]

    @property
    def spans(self) -> list[Node]:
        return [self.root, *self.children]

    def request(self) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(key_values([("service.name", ("string", "tree"))]))
        ss = rs.scope_spans.add()
        for n in self.spans:
            span = ss.spans.add(
                trace_id=self.trace_id, span_id=n.span_id, parent_span_id=n.parent,
                name=n.name, kind=n.kind,  # type: ignore[arg-type]
                start_time_unix_nano=n.start_ms * 10**6, end_time_unix_nano=n.end_ms * 10**6,
                attributes=key_values(n.attrs),
            )  # fmt: skip
            span.status.code = n.status  # type: ignore[assignment]
        return request


def membership(run_id: bytes) -> list[tuple[str, Value]]:
    return [
        ("crewscope.run.id", ("string", run_id.hex())),
        ("crewscope.run.root_id", ("string", run_id.hex())),
    ]


@st.composite
def runs(draw: st.DrawFn) -> Run:
    trace_id = fresh_trace_id()
    root_id = b"\xd0" + trace_id[-7:]  # run ids are unique across traces (README: Runs)
    duration = draw(st.integers(-2_000, 60_000))  # negative: end before start
    crew = draw(texts)
    root = Node(
        root_id,
        draw(st.sampled_from([b"", CALLER])),  # top-level, or under a caller's span not sent
        NOW_MS,
        NOW_MS + duration,
        f"invoke_workflow {crew}",
        1,
        draw(st.sampled_from([0, 1, 2])),
        [
            ("gen_ai.operation.name", ("string", "invoke_workflow")),
            ("crewscope.run.kind", ("string", "crew")),
            ("crewai.crew.name", ("string", crew)),
            *membership(root_id),
        ],
    )
    children: list[Node] = []
    unique = [root_id]  # ids sent once so far, the run's first
    for _ in range(draw(st.integers(1, 7))):
        dup = bool(unique[1:]) and draw(st.integers(0, 5)) == 0
        if dup:  # a second copy of a child's id; its parent keeps the id graph acyclic
            span_id = draw(st.sampled_from(unique[1:]))
            parent = draw(st.sampled_from([b"", root_id, MISSING]))
        else:
            span_id = draw(
                st.binary(min_size=8, max_size=8).filter(
                    lambda b: b not in (*unique, CALLER, MISSING)
                )
            )
            parent = draw(
                st.one_of(
                    st.sampled_from(unique),  # the run or a span sent before
                    st.sampled_from(unique),
                    st.just(MISSING),  # never sent
                    st.just(b""),
                    st.just(span_id),  # itself
                )
            )
        # mostly within the run's window, some far off (the clock of another host)
        start = NOW_MS + draw(
            st.one_of(
                st.integers(-SKEW_MS, max(0, duration) + SKEW_MS),
                st.integers(-SKEW_MS, max(0, duration) + SKEW_MS),
                st.integers(-30_000, 90_000),
            )
        )
        end = start + draw(st.integers(-5_000, 30_000))
        op = draw(st.sampled_from(OPS))
        attrs: list[tuple[str, Value]] = draw(st.lists(st.tuples(texts, values(4)), max_size=3))
        if op:
            attrs += [("gen_ai.operation.name", ("string", op)), *membership(root_id)]
        children.append(
            Node(
                span_id,
                parent,
                start,
                end,
                draw(texts),
                draw(st.sampled_from([1, 2, 3])),
                draw(st.sampled_from([0, 1, 2])),
                attrs,
            )  # fmt: skip
        )
        if not dup:
            unique.append(span_id)
    return Run(trace_id, root, children)


def expected_tree(run: Run) -> tuple[set[str], set[str]]:
    """(ids that must be in the run's tree, ids that may also be there)."""
    lo = run.root.start_ms - SKEW_MS
    hi = run.root.start_ms + max(0, run.root.end_ms - run.root.start_ms) + SKEW_MS
    copies: dict[bytes, list[Node]] = {}
    for n in run.spans:
        copies.setdefault(n.span_id, []).append(n)
    in_window = {i for i, ns in copies.items() if any(lo <= n.start_ms <= hi for n in ns)}

    def reaches_root(node: Node, seen: frozenset[bytes]) -> str:
        """'yes', 'no' or 'maybe' (through a duplicated id)."""
        if node.span_id == run.root.span_id:
            return "yes"
        parent = node.parent
        if parent in seen or parent == node.span_id or parent not in copies:
            return "no"
        if parent not in in_window:
            return "no"
        answers = {reaches_root(p, seen | {node.span_id}) for p in copies[parent]}
        if len(copies[parent]) > 1:
            return "maybe" if answers != {"no"} else "no"
        return answers.pop()

    must, may = {run.root.span_id.hex()}, set()
    for span_id, ns in copies.items():
        if span_id == run.root.span_id or span_id not in in_window:
            continue
        answers = {reaches_root(n, frozenset()) for n in ns if lo <= n.start_ms <= hi}
        if len(ns) > 1 and answers != {"no"}:
            may.add(span_id.hex())
        elif answers == {"yes"}:
            must.add(span_id.hex())
        elif "maybe" in answers or "yes" in answers:
            may.add(span_id.hex())
    return must, may


def _walk(node: dict[str, Any], parent: dict[str, Any] | None = None) -> list[tuple[Any, Any]]:
    out = [(node, parent)]
    for child in node["children"]:
        out += _walk(child, node)
    return out


def _iso(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


@settings(SETTINGS, max_examples=25)
@given(run=runs(), encoding=st.sampled_from(wire.ENCODINGS))
def test_run_tree_shows_what_was_sent(receiver: Receiver, run: Run, encoding: str) -> None:
    data, headers = wire.body(run.request(), encoding)
    r = receiver.client.post("/v1/traces", content=data, headers=headers)
    assert r.status_code == 200, r.text[:300]
    r = receiver.get(f"/runs/{run.root.span_id.hex()}")
    assert r.status_code == 200, r.text[:500]
    detail = r.json()
    [root] = detail["spans"]
    assert root["span_id"] == run.root.span_id.hex()
    nodes = _walk(root)
    ids = [n["span_id"] for n, _ in nodes]
    assert len(ids) == len(set(ids)), "a span id twice in the tree"
    must, may = expected_tree(run)
    event(f"spans beneath the run: {min(len(must) - 1, 3)}{'+' if len(must) > 3 else ''}")
    event(f"sent but not in the tree: {bool(len(run.spans) > len(ids))}")
    event(f"duplicate ids: {bool(may)}")
    assert must <= set(ids) <= must | may, (sorted(must), sorted(may), sorted(ids))
    sent = {n.span_id.hex(): n for n in run.spans}
    for node, parent in nodes:
        copies = [s for s in run.spans if s.span_id.hex() == node["span_id"]]
        if parent is not None:
            assert node["parent_span_id"] == parent["span_id"]
        if len(copies) > 1:
            continue  # either copy
        s = sent[node["span_id"]]
        assert datetime.fromisoformat(node["start_time"]) == _iso(s.start_ms)
        assert node["duration_ms"] == max(0, s.end_ms - s.start_ms)
        assert node["status"] == STATUSES[s.status]
        assert node["kind"] == KINDS[s.kind]
        assert node["attributes"] == {k: v[:1000] for k, v in expected_map(s.attrs).items()}
    # the same run through the lists that name it
    assert receiver.get("/runs", q=run.root.span_id.hex()).status_code == 200
    assert receiver.get("/tasks", run_id=run.root.span_id.hex()).status_code == 200
    assert receiver.get(f"/runs/{run.root.span_id.hex()}/logs").status_code == 200


def _run_request(trace_id: bytes, spans: list[tuple[bytes, bytes, int, int]]) -> bytes:
    """Protobuf body: the first span is a crew run span, the others plain children."""
    root_id = spans[0][0]
    run = Run(trace_id, Node(root_id, spans[0][1], 0, 0, "invoke_workflow c", 1, 1, [
        ("gen_ai.operation.name", ("string", "invoke_workflow")),
        ("crewscope.run.kind", ("string", "crew")), *membership(root_id)]), [])  # fmt: skip
    request = run.request()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano, span.end_time_unix_nano = spans[0][2], spans[0][3]
    for sid, parent, start, end in spans[1:]:
        request.resource_spans[0].scope_spans[0].spans.add(
            trace_id=trace_id, span_id=sid, parent_span_id=parent, name="child",
            start_time_unix_nano=start, end_time_unix_nano=end,
        )  # fmt: skip
    return request.SerializeToString()


CYCLE_SCRIPT = textwrap.dedent(
    """
    import os, sys, tempfile, threading, time
    from fastapi.testclient import TestClient
    from crewscope.query_api import create_app
    body = bytes.fromhex(sys.argv[1])
    app = create_app(os.path.join(tempfile.mkdtemp(), "cycle.duckdb"), rollup_interval_s=0,
                     retention_days=None, self_telemetry=False)
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    r = client.post("/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200, r.text
    answer = []
    threading.Thread(
        target=lambda: answer.append(client.get("/api/v1/monitoring/runs/" + sys.argv[2])),
        daemon=True,
    ).start()
    deadline = time.monotonic() + float(sys.argv[3])
    while not answer and time.monotonic() < deadline:
        time.sleep(0.05)
    print(answer[0].status_code if answer else "no answer", flush=True)
    os._exit(0 if answer and answer[0].status_code < 500 else 1)
    """
)


def test_a_parent_cycle_does_not_hang_the_run_detail() -> None:
    """Repro: POST /v1/traces with run span A (parent B) and span B (parent A), then
    GET /api/v1/monitoring/runs/{A}: expected 200 (the run and B beneath it, or the run
    alone), got no answer ever. Run in a subprocess that exits after 8 s, so the spinning
    thread dies with it."""
    a, b = b"\xaa" * 8, b"\xbb" * 8
    now = time.time_ns()
    body = _run_request(fresh_trace_id(), [(a, b, now, now + 10**9), (b, a, now + 1, now + 2)])
    env = {**os.environ, "CREWSCOPE_INGEST_DECODE_WORKERS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", CYCLE_SCRIPT, body.hex(), a.hex(), "8"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-300:], done.stderr[-2000:])


def test_a_run_at_the_end_of_time_has_a_detail(receiver: Receiver) -> None:
    """Repro: a run span starting 1 s before 2**63 - 2 ns and ending at it (accepted and
    stored: within what TIMESTAMP_NS holds), GET /api/v1/monitoring/runs/{id}: expected
    200, got 500."""
    run_id = b"\xcd" * 8
    end = 2**63 - 2
    body = _run_request(fresh_trace_id(), [(run_id, b"", end - 10**9, end)])
    r = receiver.client.post("/v1/traces", content=body, headers={"Content-Type": wire.PROTOBUF})
    assert r.status_code == 200
    assert receiver.get("/runs").status_code == 200
    r = receiver.get(f"/runs/{run_id.hex()}")
    assert r.status_code == 200, r.text[:300]


def test_a_run_at_the_epoch_has_a_detail(receiver: Receiver) -> None:
    """The other edge: a run at 0 ns (1970-01-01), its window reaching before the epoch."""
    run_id = b"\xce" * 8
    body = _run_request(fresh_trace_id(), [(run_id, b"", 0, 0), (b"\xcf" * 8, run_id, 0, 5)])
    r = receiver.client.post("/v1/traces", content=body, headers={"Content-Type": wire.PROTOBUF})
    assert r.status_code == 200
    r = receiver.get(f"/runs/{run_id.hex()}")
    assert r.status_code == 200, r.text[:300]
    [root] = r.json()["spans"]
    assert root["start_time"].startswith("1970-01-01T00:00:00")
    assert [c["span_id"] for c in root["children"]] == ["cf" * 8]
    assert root["children"][0]["duration_ms"] == 5e-6
