// Usage (/usage): tokens and cost per model and per agent, tokens over time, tool calls
// with errors and latency, HTTP endpoint performance, system health.
import { html } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { Page, Loading, ErrorBox, Empty, Section, Chart, RangeSelect, StatusBadge, Table, columns } from "../lib/components.js";
import { cost, num } from "../lib/format.js";
import { queryParams, setQuery, agentHref } from "../lib/router.js";
import { windowParams, buckets, perBucket } from "./shared.js";

const COLORS = ["#4f6bed", "#e67e22", "#3b7a57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"];

const MODEL_COLUMNS = columns(
  { key: "model", label: "Model", render: (m) => html`${m.model || "unknown"} <span class="muted small">${m.provider || ""}</span>` },
  "calls", "errors", "input_tokens", "output_tokens",
  { key: "cost_usd", fmt: (v) => (v === null ? "no price" : cost(v)) },
  "avg_ms",
);
const AGENT_COLUMNS = columns(
  { key: "agent", label: "Agent", render: (a) => (a.agent ? html`<a href=${agentHref(a.agent)}>${a.agent}</a>` : html`<span class="muted">no agent</span>`) },
  { key: "calls", label: "LLM calls" }, "input_tokens", "output_tokens", "cost_usd",
);
const TOOL_COLUMNS = columns(
  { key: "tool", label: "Tool" },
  "calls", "errors", "error_rate", "avg_ms", "p50_ms", "p95_ms", "max_ms",
  { key: "agents", label: "Agents", fmt: num },
);
const ENDPOINT_COLUMNS = columns(
  { key: "service", label: "Service" },
  { key: "route", label: "Route", render: (e) => html`<code>${e.method || ""} ${e.route}</code>` },
  { key: "requests", label: "Requests", fmt: num },
  { key: "client_errors", label: "4xx", fmt: num },
  { key: "server_errors", label: "5xx", fmt: num },
  "p50_ms", "p90_ms", "p99_ms",
);

function TokenChart({ range }) {
  const params = windowParams(range);
  const { data, error } = useApi(
    { series: ["/metrics/tokens/series", { group_by: "model", ...params }] }, range,
  );
  if (error) return html`<p class="bad-text">${error.message}</p>`;
  if (!data) return html`<${Loading} />`;
  const x = buckets(params);
  const series = data.series.series.slice(0, COLORS.length).map((s, i) => ({
    label: s.key || "unknown model", values: perBucket(x, s.points, "total_tokens"), color: COLORS[i],
  }));
  if (!series.length) return html`<p class="muted" data-testid="chart-tokens">No LLM calls in this range.</p>`;
  return html`<${Chart} testid="chart-tokens" x=${x} series=${series} yLabel="tokens"
    xRange=${[x[0], x[x.length - 1]]} />`;
}

function Health({ health }) {
  return html`<div data-testid="health">
    <p>Overall <${StatusBadge} status=${health.overall_status === "healthy" ? "ok" : health.overall_status} />
      <span class="muted">${health.overall_status}</span></p>
    <table class="grid"><thead><tr><th>Component</th><th>Status</th><th>Details</th></tr></thead><tbody>
      ${health.service_statuses.map((c) => html`<tr data-component=${c.name} data-status=${c.status}>
        <td>${c.name}</td>
        <td><span class="badge ${c.status === "healthy" ? "ok" : c.status === "not_configured" ? "dim" : "bad"}">${c.status}</span></td>
        <td class="small">${c.details || ""}
          ${Object.keys(c.metrics || {}).length > 0 && html`<div class="muted">${Object.entries(c.metrics)
            .map(([k, v]) => `${k}: ${v === null ? "–" : typeof v === "number" ? num(v) : v}`).join(" · ")}</div>`}</td>
      </tr>`)}
    </tbody></table>
  </div>`;
}

export function Usage({ search }) {
  const q = queryParams(search);
  const range = ["1d", "7d", "30d", "90d"].includes(q.range) ? q.range : "7d";
  const { data, error, reload } = useApi({
    llm: ["/llm", { time_range: range }],
    tools: ["/tools", { time_range: range }],
    endpoints: ["/endpoints", { time_range: range }],
    health: ["/system/health"],
  }, range);
  const picker = html`<${RangeSelect} value=${range} onChange=${(v) => setQuery({ range: v }, { replace: true })} />`;
  if (error && !data) return html`<${Page} view="usage" state="error" title="Usage" actions=${picker}><${ErrorBox} error=${error} retry=${reload} /><//>`;
  if (!data) return html`<${Page} view="usage" state="loading" title="Usage" actions=${picker}><${Loading} /><//>`;
  const { llm, tools, endpoints, health } = data;
  const nothing = !llm.by_model.length && !tools.tools.length;
  return html`<${Page} view="usage" state=${nothing ? "empty" : "ready"} title="Usage" actions=${picker}>
    ${nothing && html`<${Empty} what="LLM or tool calls in this range" />`}
    <${Section} title="Tokens per model over time" testid="tokens-chart"><${TokenChart} range=${range} /><//>
    <div class="cols">
      <${Section} title="Models" testid="models">
        <${Table} testid="models" columns=${MODEL_COLUMNS} rows=${llm.by_model}
          rowProps=${(m) => ({ "data-model": m.model || "" })} empty="No LLM calls in this range." />
      <//>
      <${Section} title="Agents" testid="agents-usage">
        <${Table} testid="agents-usage" columns=${AGENT_COLUMNS} rows=${llm.by_agent}
          rowProps=${(a) => ({ "data-agent": a.agent || "" })} />
      <//>
    </div>
    <${Section} title="Tools" testid="tools">
      <${Table} testid="tools" columns=${TOOL_COLUMNS} rows=${tools.tools} empty="No tool calls in this range."
        rowProps=${(t) => ({ "data-tool": t.tool, class: t.errors ? "row-bad" : "" })} />
    <//>
    <${Section} title="HTTP endpoints" testid="endpoints">
      <${Table} testid="endpoints" columns=${ENDPOINT_COLUMNS} rows=${endpoints.endpoints}
        rowProps=${(e) => ({ "data-route": `${e.method || ""} ${e.route}` })} empty="No HTTP server spans in this range." />
    <//>
    <${Section} title="System health" testid="health-section"><${Health} health=${health} /><//>
  <//>`;
}
