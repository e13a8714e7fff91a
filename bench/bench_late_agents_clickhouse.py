"""ClickHouse: the cost of naming calls stored before their agent span, at open and at insert.

On a new embedded ClickHouse (chDB) store: `--own` crewscope-shaped spans (what makes the
by-trace copy of spans large), then `--calls` traces of another instrumentation whose LLM
call is inserted before its agent span (two inserts, as two export batches). The views
find each call's agent on the second insert (sql/schema_late_agents.sql); no serve process
ran the naming UPDATE, so the first pass of `apply_late_agents` over every trace (what a
store's open runs) names the call rows and spans; later passes find nothing left to name,
which is what every later open costs.

    .venv/bin/python bench/bench_late_agents_clickhouse.py --calls 200000 --own 2000000
"""

from __future__ import annotations

import argparse
import tempfile
import time

from crewscope.query_api.store.clickhouse.database import ClickHouseDatabase
from crewscope.query_api.store.clickhouse.late_agents import apply_late_agents
from crewscope.query_api.store.clickhouse.location import parse_store

COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, ScopeName, "
    "SpanAttributes, Duration, StatusCode"
)
TRACE = "lower(hex(cityHash64(number, 't'))) || lower(hex(cityHash64(number, 'u')))"
OWN = """SELECT now64(9) - toIntervalSecond(number % 86400),
    lower(hex(cityHash64(intDiv(number, 10), 'b'))) || lower(hex(cityHash64(intDiv(number, 10), 'c'))),
    lower(hex(cityHash64(number, 's'))), '', 'step Researcher', 'app', 'crewscope',
    map('crewai.step.index', '1'), 1000, 'Ok' FROM numbers({n})"""
CALLS = f"""SELECT now64(9) - toIntervalSecond(number % 80000), {TRACE},
    lower(hex(cityHash64(number, 'call'))), lower(hex(cityHash64(number, 'agent'))),
    'ChatCompletion', 'peer_app', 'openinference.instrumentation.openai',
    map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'gpt-4o-mini',
        'gen_ai.usage.input_tokens', '10', 'gen_ai.usage.output_tokens', '2'), 1000, 'Ok'
    FROM numbers({{n}})"""
AGENTS = f"""SELECT now64(9) - toIntervalSecond(number % 80000) - toIntervalMillisecond(1),
    {TRACE}, lower(hex(cityHash64(number, 'agent'))), '', 'Agent', 'peer_app',
    'openinference.instrumentation.crewai',
    map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', 'A' || toString(number % 50)),
    5000, 'Ok' FROM numbers({{n}})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--own", type=int, default=2_000_000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    db = ClickHouseDatabase(
        parse_store(f"chdb://{tempfile.mkdtemp(prefix='late-ch-')}?database=late")
    )
    with db._guard as client:
        for what, select, n in (("own spans", OWN, args.own), ("peer calls", CALLS, args.calls),
                                ("their agent spans", AGENTS, args.calls)):  # fmt: skip
            if n:
                t = time.perf_counter()
                client.command(f"INSERT INTO otel_traces ({COLUMNS}) {select.format(n=n)}")
                print(f"insert {n:>9,} {what:<18} {time.perf_counter() - t:6.2f} s")
        late = client.query("SELECT count() FROM crewscope_late_calls").result_rows[0][0]
        spans = client.query("SELECT count() FROM crewscope_spans_by_trace").result_rows[0][0]
        print(f"late calls {late:,}, spans {spans:,}")
        for i in range(args.passes):
            t = time.perf_counter()
            named = apply_late_agents(client)
            print(f"naming pass {i + 1}: {named:,} rows named in {time.perf_counter() - t:.2f} s")
        left = client.query(
            "SELECT count() FROM crewscope_llm_call_rows WHERE AgentName IS NULL"
        ).result_rows[0][0]
        print(f"call rows left without an agent: {left}")


if __name__ == "__main__":
    main()
