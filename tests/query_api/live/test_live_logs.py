"""Log records on the live feed: ``{"type": "log", ...}`` messages, selected by ``events=log``."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExportResult

from tests.exporter.receiver.log_records import Rec, send_http
from tests.helpers.served import Served
from tests.query_api.live.test_live import read_until, subscribe

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
RUN = "00f067aa0ba902b7"


def test_log_records_reach_live_clients(served: Served) -> None:
    everything = subscribe(served)
    logs_only = subscribe(served, "events=log")
    writer_only = subscribe(served, "events=log&agent=Writer")
    spans_only = subscribe(served, "events=llm_call")
    attrs = {"gen_ai.agent.name": "Writer", "crewai.crew.name": "live_crew",
             "crewai.task.name": "write", "crewscope.run.id": RUN,
             "crewscope.run.root_id": RUN}  # fmt: skip
    recs = [
        Rec("rate limited, retrying", "warn", TRACE, SPAN, attrs),
        Rec("no span here", "info", attributes={"gen_ai.agent.name": "Researcher"}),
    ]
    assert send_http(served.url, recs) is LogRecordExportResult.SUCCESS

    def second(m: dict[str, Any]) -> bool:
        return m.get("body") == "no span here"

    got = [m for m in read_until(logs_only, second) if m["type"] == "log"]
    assert [m["body"] for m in got] == ["rate limited, retrying", "no span here"]
    warn = got[0]
    assert warn["event"] == "log" and warn["severity"] == "warn"
    assert warn["severity_number"] == 13 and warn["severity_text"] == "WARNING"
    assert (warn["agent"], warn["crew"], warn["task"]) == ("Writer", "live_crew", "write")
    assert (warn["run_id"], warn["trace_id"], warn["span_id"]) == (RUN, TRACE, SPAN)
    assert warn["service"] == "log-app" and isinstance(warn["timestamp"], float)
    assert got[1]["trace_id"] is None and got[1]["span_id"] is None
    assert [m["body"] for m in read_until(everything, second) if m["type"] == "log"] == [
        "rate limited, retrying", "no span here",
    ]  # fmt: skip
    writer = json.loads(writer_only.recv(timeout=20))
    assert writer["type"] == "log" and writer["agent"] == "Writer"
    spans_only.send(json.dumps({"action": "ping"}))
    assert json.loads(spans_only.recv(timeout=10))["type"] == "pong"  # no log got through
    for ws in (everything, logs_only, writer_only, spans_only):
        ws.close()


def test_unknown_event_type_is_refused_and_log_is_known(served: Served) -> None:
    ws = subscribe(served)
    ws.send(json.dumps({"action": "subscribe", "events": ["log", "nope"]}))
    reply = json.loads(ws.recv(timeout=10))
    assert reply["type"] == "error" and "log" in reply["message"]
    ws.close()
