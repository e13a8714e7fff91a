// Agent detail (/agents/{agent}): latency percentiles and error rate over time, executions
// per day, top errors, tokens and cost, daily rollups, recent runs and activity.
import { html } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { Page, Loading, ErrorBox, Stats, Section, Chart, RangeSelect, Table, columns } from "../lib/components.js";
import { cost, ms, num, pct } from "../lib/format.js";
import { queryParams, setQuery } from "../lib/router.js";
import { RunsTable, ActivityList, windowParams, buckets, perBucket } from "./shared.js";

const ROLLUP_COLUMNS = columns(
  { key: "day", label: "Day" },
  "executions", "failed", "success_rate", "avg_ms", "p95_ms", "input_tokens", "output_tokens", "cost_usd",
);

const DAYS = { "1d": 1, "7d": 7, "30d": 30, "90d": 90 };

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function Charts({ agent, range }) {
  const params = windowParams(range);
  const { data, error } = useApi(
    { series: ["/metrics/executions/series", { agent, ...params }] }, `${agent}|${range}`,
  );
  if (error) return html`<p class="bad-text">${error.message}</p>`;
  if (!data) return html`<${Loading} />`;
  const s = data.series.series.find((x) => x.agent === agent) || { points: [] };
  const x = buckets(params);
  const xRange = [x[0], x[x.length - 1]];
  const at = (field) => perBucket(x, s.points, field, null);
  return html`<div class="cols">
    <${Chart} testid="chart-latency" title="Latency (ms)" x=${x} xRange=${xRange} yLabel="ms" series=${[
      { label: "p50", values: at("p50_ms"), color: "#4f6bed" },
      { label: "p95", values: at("p95_ms"), color: "#e67e22" },
      { label: "p99", values: at("p99_ms"), color: "#c0392b" },
    ]} />
    <${Chart} testid="chart-errors" title="Error rate (%)" x=${x} xRange=${xRange} yLabel="%" series=${[
      { label: "error rate", values: at((p) => (p.executions ? (p.failed / p.executions) * 100 : null)),
        color: "#c0392b", fill: "rgba(192,57,43,.1)" },
    ]} />
  </div>`;
}

export function AgentDetail({ param, search }) {
  const agent = param;
  const q = queryParams(search);
  const range = DAYS[q.range] ? q.range : "7d";
  const to = new Date();
  const from = new Date(to.getTime() - (DAYS[range] - 1) * 86400000);
  const enc = encodeURIComponent(agent);
  const { data, error, reload } = useApi({
    metrics: [`/agents/${enc}/metrics`, { time_range: range }],
    rollups: ["/rollups/daily", { agent, group_by: "agent", date_from: isoDay(from), date_to: isoDay(to), limit: 100 }],
    runs: ["/runs", { agent, limit: 10 }],
    activity: [`/agents/${enc}/activity`, { limit: 15 }],
  }, `${agent}|${range}`);
  const picker = html`<${RangeSelect} value=${range} onChange=${(v) => setQuery({ range: v }, { replace: true })} />`;
  if (error && !data) {
    return html`<${Page} view="agent" state="error" title=${agent}>
      <${ErrorBox} error=${error} retry=${error.status === 404 ? null : reload} /><p><a href="/agents">← All agents</a></p><//>`;
  }
  if (!data) return html`<${Page} view="agent" state="loading" title=${agent}><${Loading} /><//>`;
  const m = data.metrics;
  const t = m.execution_times;
  const days = [...data.rollups.rows].sort((a, b) => a.day.localeCompare(b.day));
  const dayStart = Date.parse(isoDay(from) + "T00:00:00Z") / 1000;
  const dayX = Array.from({ length: DAYS[range] }, (_, i) => dayStart + i * 86400);
  const byDay = new Map(days.map((d) => [Date.parse(d.day + "T00:00:00Z") / 1000, d]));
  return html`<${Page} view="agent" state="ready" title=${agent} actions=${picker}>
    <div class="card">
      <${Stats} testid="agent-stats" obj=${{ ...m, ...t, executions: m.total_executions }} items=${[
        ["executions", "executions", num], ["success rate", "success_rate", pct],
        ["error rate", "error_rate", pct], ["p50", "p50_ms", ms], ["p95", "p95_ms", ms], ["p99", "p99_ms", ms],
        ["input tokens", "input_tokens", num], ["output tokens", "output_tokens", num], ["cost", "cost_usd", cost],
      ]} />
      <p class="muted small">Trend: ${m.trend.replaceAll("_", " ")} · window ${range}</p>
    </div>
    <${Section} title="Latency and errors over time" testid="agent-charts"><${Charts} agent=${agent} range=${range} /><//>
    <div class="cols">
      <${Section} title="Executions per day" testid="executions-per-day">
        <${Chart} testid="chart-executions" x=${dayX} xRange=${[dayX[0] - 43200, dayX[dayX.length - 1] + 43200]} yLabel="executions"
          series=${[
            { label: "executions", values: dayX.map((t) => byDay.get(t)?.executions ?? 0), color: "#3b7a57", bars: true, fill: "rgba(59,122,87,.5)" },
            { label: "failed", values: dayX.map((t) => byDay.get(t)?.failed ?? 0), color: "#c0392b", bars: true, fill: "rgba(192,57,43,.5)" },
          ]} />
      <//>
      <${Section} title="Top errors" testid="top-errors">
        <ul class="plain" data-testid="top-errors">
          ${m.top_errors.length === 0 && html`<p class="muted">No errors in this window.</p>`}
          ${m.top_errors.map((e) => html`<li class="bad-text"><strong data-value=${e.count}>${num(e.count)}×</strong>
            ${e.error_type && html`<code>${e.error_type}</code>`} ${e.error}</li>`)}
        </ul>
      <//>
    </div>
    <${Section} title="Daily rollups" testid="rollups">
      <${Table} testid="rollups" columns=${ROLLUP_COLUMNS} rows=${[...days].reverse()}
        rowProps=${(d) => ({ "data-day": d.day })} empty="No rollups in this window yet (they refresh every minute)." />
    <//>
    <div class="cols wide-left">
      <${Section} title="Recent runs" testid="recent-runs"
          actions=${html`<a href=${`/runs?agent=${encodeURIComponent(agent)}`}>All runs with this agent →</a>`}>
        <${RunsTable} runs=${data.runs.runs} testid="recent-runs" />
      <//>
      <${Section} title="Activity" testid="activity">
        <${ActivityList} lines=${data.activity.activity.map((a) => ({
          t: Date.parse(a.time) / 1000, kind: a.kind, status: a.status, text: a.text, run: a.run_id,
        }))} empty="No activity." />
      <//>
    </div>
  <//>`;
}
