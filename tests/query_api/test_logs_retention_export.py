"""Log records under retention and in exports, on a real server fed over OTLP/HTTP."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
from opentelemetry.sdk._logs.export import LogRecordExportResult

from crewscope.query_api.jobs.retention import cleanup
from tests.exporter.receiver.log_records import Rec, send_http
from tests.helpers.served import API, Served

DAY_NS = 86_400 * 10**9
TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def _send(served: Served) -> None:
    now = time.time_ns()
    recs = [
        Rec("ancient", "info", timestamp_ns=now - 60 * DAY_NS),
        Rec("old", "warn", timestamp_ns=now - 40 * DAY_NS, attributes={"gen_ai.agent.name": "A"}),
        Rec("recent", "error", TRACE, SPAN, {"gen_ai.agent.name": "A", "crewai.crew.name": "c",
                                             "k": "v"}, timestamp_ns=now - DAY_NS),
        Rec('quote " and, comma', "info", timestamp_ns=now - 1000),
    ]  # fmt: skip
    assert send_http(served.url, recs) is LogRecordExportResult.SUCCESS


def _count(served: Served) -> int:
    return int(served.rows("SELECT count(*) FROM otel_logs")[0][0])


def test_retention_deletes_old_log_records(served: Served) -> None:
    _send(served)
    db = served.app.state.db
    with db.reader() as s:
        dry = cleanup(s, db.projections, 30, dry_run=True)
        assert dry.deleted["otel_logs"] == 2 and _count(served) == 4
        result = cleanup(s, db.projections, 30)
    assert result.deleted["otel_logs"] == 2
    bodies = {r[0] for r in served.rows("SELECT Body FROM otel_logs")}
    assert bodies == {"recent", 'quote " and, comma'}
    listed = httpx.get(f"{served.url}{API}/logs").json()
    assert listed["total"] == 2


def test_export_logs_csv_and_json(served: Served) -> None:
    _send(served)
    url = f"{served.url}{API}/export/logs"
    j = httpx.get(url, params={"format": "json"})
    assert j.status_code == 200 and j.headers["content-type"].startswith("application/json")
    items = j.json()
    assert [i["body"] for i in items] == ["ancient", "old", "recent", 'quote " and, comma']
    recent = items[2]
    assert (recent["trace_id"], recent["span_id"], recent["agent"]) == (TRACE, SPAN, "A")
    assert recent["severity_text"] == "ERROR" and recent["severity_number"] == 17
    assert json.loads(recent["attributes"])["k"] == "v"
    assert items[0]["trace_id"] is None and items[0]["time"].endswith("Z")
    c = httpx.get(url, params={"format": "csv"})
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert 'filename="crewscope-logs-' in c.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [r["body"] for r in rows] == [i["body"] for i in items]
    assert rows[2]["span_id"] == SPAN
    agent = httpx.get(url, params={"format": "json", "agent": "A"}).json()
    assert [i["body"] for i in agent] == ["old", "recent"]
    assert [i["body"] for i in httpx.get(url, params={"format": "json", "crew": "c"}).json()] == [
        "recent"
    ]
    since = httpx.get(url, params={"format": "json", "start_date_from": items[2]["time"]}).json()
    assert [i["body"] for i in since] == ["recent", 'quote " and, comma']
