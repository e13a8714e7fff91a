"""The dashboard page: static/dashboard.html filled from a DashboardResponse (no JS build)."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources
from string import Template

from crewscope.query_api.models.agents import AgentSummary
from crewscope.query_api.models.dashboard import DashboardResponse

BAR_PX = 240


@cache
def _template() -> Template:
    text = resources.files("crewscope.query_api").joinpath("static", "dashboard.html")
    return Template(text.read_text("utf-8"))


def _num(value: float | int | None, fmt: str = "{:,.0f}", suffix: str = "") -> str:
    return "–" if value is None else escape(fmt.format(value) + suffix)


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return _num(value / 1000, "{:,.2f}", " s") if value >= 1000 else _num(value, "{:,.0f}", " ms")


def _cost(value: float | None) -> str:
    return "unknown" if value is None else _num(value, "${:,.4f}")


def _row(*cells: str) -> str:
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _agents(agents: list[AgentSummary], empty: str) -> str:
    if not agents:
        return _row(escape(empty), "", "", "", "", "")
    return "\n".join(
        _row(
            escape(a.agent),
            _num(a.total_executions),
            _num(a.success_rate, "{:.1f}", "%"),
            _ms(a.avg_ms),
            _ms(a.p95_ms),
            _cost(a.cost_usd),
        )
        for a in agents
    )


def render_dashboard(data: DashboardResponse) -> str:
    totals = "\n".join(
        _row(
            escape(t.period),
            _num(t.runs),
            _num(t.failed_runs),
            _num(t.executions),
            _num(t.success_rate, "{:.1f}", "%"),
            _ms(t.avg_execution_ms),
            f"{_num(t.input_tokens)} / {_num(t.output_tokens)}",
            _cost(t.cost_usd),
        )
        for t in data.totals
    )
    peak = max((p.executions for p in data.executions_trend), default=0) or 1
    trend = "\n".join(
        _row(
            escape(p.day.isoformat()),
            _num(p.executions),
            f'<span class="{"bad" if p.failed else ""}">{_num(p.failed)}</span>',
            _num(p.success_rate, "{:.1f}", "%"),
            _ms(p.avg_ms),
            f'<span class="bar" style="width:{BAR_PX * p.successful // peak}px"></span>'
            f'<span class="bar fail" style="width:{BAR_PX * p.failed // peak}px"></span>',
        )
        for p in data.executions_trend
    ) or _row("no executions yet", "", "", "", "", "")
    return _template().substitute(
        generated_at=escape(data.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
        totals=totals,
        top_agents=_agents(data.top_agents, "no executions in the last 7 days"),
        issues=_agents(data.agents_with_issues, "none"),
        trend=trend,
    )
