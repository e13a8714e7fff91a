"""Zero-code path: `opentelemetry-instrument --traces_exporter duckdb` on a crew this
project never saw, in a subprocess; the spans are read back from the DuckDB file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from tests.helpers.env import subprocess_env

APP = textwrap.dedent(
    '''
    import json, os, sys
    from crewai import Agent, Crew, LLM, Process, Task
    from crewai.tools import tool

    @tool("exchange_rate")
    def exchange_rate(currency: str) -> str:
        """Return today's exchange rate for a currency."""
        raise ConnectionError("rates service unreachable")

    @tool("glossary")
    def glossary(term: str) -> str:
        """Explain a finance term."""
        return f"{term}: a term"

    llm = LLM(model="gpt-4o-mini", base_url=os.environ["FAKE_LLM_URL"], api_key="sk-local")
    analyst = Agent(role="Analyst", goal="g", backstory="b", llm=llm, tools=[exchange_rate])
    teacher = Agent(role="Teacher", goal="g", backstory="b", llm=llm, tools=[glossary])
    editor = Agent(role="Editor", goal="g", backstory="b", llm=llm)
    tasks = [
        Task(name="rates", description="Get the rate of {ccy}", expected_output="x", agent=analyst),
        Task(name="explain", description="Explain {ccy}", expected_output="x", agent=teacher),
        Task(name="edit", description="Edit the text", expected_output="x", agent=editor),
    ]
    crew = Crew(name="finance_crew", agents=[analyst, teacher, editor], tasks=tasks,
                process=Process.sequential)
    out = crew.kickoff(inputs={"ccy": "EUR"})
    print(json.dumps({"raw": out.raw}))
    '''
)


def test_opentelemetry_instrument_lands_exact_spans_in_duckdb(tmp_path: Path, llm_server):
    app = tmp_path / "app.py"
    app.write_text(APP)
    db = tmp_path / "zero.duckdb"
    bindir = Path(sys.executable).parent
    env = subprocess_env(
        FAKE_LLM_URL=llm_server.base_url,
        CREWSCOPE_DB=str(db),
        OTEL_SERVICE_NAME="zero-code-app",
        OTEL_TRACES_EXPORTER="duckdb",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OPENAI_API_KEY="sk-local",
    )
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), str(bindir / "python"), str(app)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["raw"]

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        """SELECT SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, ServiceName,
                  InputTokens, OutputTokens, ErrorType, TraceId
           FROM otel_traces ORDER BY Timestamp"""
    ).fetchall()
    con.close()
    spans = {r[0]: r for r in rows}
    names = [r[2] for r in rows]
    assert len({r[9] for r in rows}) == 1, "one crew run = one trace"
    assert {r[5] for r in rows} == {"zero-code-app"}
    [root] = [r for r in rows if r[1] == ""]
    assert root[2] == "invoke_workflow finance_crew" and root[4] == "Ok"
    agents = [r for r in rows if r[2].startswith("invoke_agent")]
    assert [a[2] for a in agents] == [
        "invoke_agent Analyst",
        "invoke_agent Teacher",
        "invoke_agent Editor",
    ]
    assert all(spans[a[1]] == root for a in agents)
    tools = {r[2]: r for r in rows if r[2].startswith("execute_tool")}
    assert set(tools) == {"execute_tool exchange_rate", "execute_tool glossary"}
    assert tools["execute_tool exchange_rate"][4] == "Error"
    assert tools["execute_tool exchange_rate"][8] == "ConnectionError"
    assert tools["execute_tool glossary"][4] == "Unset"
    for t in tools.values():
        assert spans[t[1]][2].startswith("step ")
    chats = [r for r in rows if r[2].startswith("chat ")]
    assert all(r[3] == "Client" and spans[r[1]][2].startswith("step ") for r in chats)
    reported = [(c.prompt_tokens, c.completion_tokens) for c in llm_server.calls]
    # every LLM call succeeded: telemetry never broke one (it once did, by importing httpx2
    # on the export thread while the app's OpenAI client was probing it)
    assert {c[4] for c in chats} == {"Unset"}, proc.stderr[-3000:]
    assert [(c[6], c[7]) for c in chats] == reported
    assert (root[6], root[7]) == (sum(r[0] for r in reported), sum(r[1] for r in reported))
    for agent in agents:
        below = [c for c in chats if spans[spans[c[1]][1]] == agent]
        assert (agent[6], agent[7]) == (sum(c[6] for c in below), sum(c[7] for c in below))
    assert names.count("chat gpt-4o-mini") == len(reported) == 5
