// Overview (/): period totals, runs and failures over time, agents with issues, recent runs,
// and the live activity stream.
import { html, useRef, useState } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { useLive, activityLine } from "../lib/live.js";
import { Page, Loading, ErrorBox, Empty, Stats, Section, Chart, RangeSelect } from "../lib/components.js";
import { cost, num, pct, ms } from "../lib/format.js";
import { queryParams, setQuery, agentHref } from "../lib/router.js";
import { RunsTable, ActivityList, windowParams, buckets, perBucket } from "./shared.js";

const PERIOD_LABELS = { "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days" };

const PERIOD_STATS = [
  ["runs", "runs", num], ["failed runs", "failed_runs", num], ["task success", "success_rate", pct],
  ["input tokens", "input_tokens", num], ["output tokens", "output_tokens", num], ["cost", "cost_usd", cost],
];

function Period({ p }) {
  return html`<div class="card period" data-testid="period" data-period=${p.period}>
    <h2>${PERIOD_LABELS[p.period] || p.period}</h2>
    <${Stats} obj=${p} items=${PERIOD_STATS} />
  </div>`;
}

function RunsChart({ range }) {
  const params = windowParams(range);
  const { data, error } = useApi({ series: ["/metrics/runs/series", params] }, range);
  if (error) return html`<p class="bad-text">Chart unavailable: ${error.message}</p>`;
  if (!data) return html`<${Loading} />`;
  const points = data.series.points;
  const x = buckets(params);
  return html`<${Chart} testid="chart-runs" x=${x} yLabel="runs" xRange=${[x[0], x[x.length - 1]]}
    series=${[
      { label: "completed", values: perBucket(x, points, "successful"), color: "#3b7a57", fill: "rgba(59,122,87,.12)" },
      { label: "failed", values: perBucket(x, points, "failed"), color: "#c0392b", fill: "rgba(192,57,43,.12)" },
    ]} />`;
}

export function Overview({ search }) {
  const q = queryParams(search);
  const range = q.range || "1d";
  const { data, error, reload } = useApi(
    { dash: ["/dashboard"], runs: ["/runs", { limit: 10 }] }, "overview",
  );
  const [lines, setLines] = useState([]);
  const pending = useRef(null);
  useLive((m) => {
    const line = activityLine(m);
    if (line) setLines((old) => [line, ...old].slice(0, 40));
    if (m.event === "run_completed" || m.event === "flow_completed") {
      clearTimeout(pending.current);
      pending.current = setTimeout(reload, 500);
    }
  });
  if (error && !data) return html`<${Page} view="overview" state="error" title="Overview"><${ErrorBox} error=${error} retry=${reload} /><//>`;
  if (!data) return html`<${Page} view="overview" state="loading" title="Overview"><${Loading} /><//>`;
  const { dash, runs } = data;
  const empty = runs.total === 0 && dash.totals.every((p) => p.runs === 0 && p.executions === 0);
  if (empty) {
    return html`<${Page} view="overview" state="empty" title="Overview">
      <${Empty} />
      <${Section} title="Live activity" testid="activity"><${ActivityList} lines=${lines} /><//>
    <//>`;
  }
  return html`<${Page} view="overview" state="ready" title="Overview">
    <div class="periods">${dash.totals.map((p) => html`<${Period} key=${p.period} p=${p} />`)}</div>
    <div class="cols">
      <${Section} title="Runs over time" testid="runs-chart"
          actions=${html`<${RangeSelect} value=${range} options=${["1d", "7d", "30d"]}
            onChange=${(v) => setQuery({ range: v }, { replace: true })} />`}>
        <${RunsChart} range=${range} />
      <//>
      <${Section} title="Agents with issues" testid="agents-with-issues">
        <ul class="plain" data-testid="agents-with-issues">
          ${dash.agents_with_issues.length === 0 && html`<p class="muted">No agent above the error threshold in the last 7 days.</p>`}
          ${dash.agents_with_issues.map((a) => html`<li data-agent=${a.agent}>
            <a href=${agentHref(a.agent)}>${a.agent}</a>
            <span class="bad-text">${num(a.failed_executions)} failed of ${num(a.total_executions)}</span>
            <span class="muted">(${pct(a.success_rate)} success, avg ${ms(a.avg_ms)})</span>
          </li>`)}
        </ul>
      <//>
    </div>
    <div class="cols wide-left">
      <${Section} title="Recent runs" testid="recent-runs"
          actions=${html`<a href="/runs">All ${num(runs.total)} runs →</a>`}>
        <${RunsTable} runs=${runs.runs} testid="recent-runs" />
      <//>
      <${Section} title="Live activity" testid="activity"><${ActivityList} lines=${lines} /><//>
    </div>
  <//>`;
}
