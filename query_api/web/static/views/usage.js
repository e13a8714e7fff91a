// Usage (/usage): tokens and cost per model and per agent, tokens over time, tool calls
// with errors and latency, HTTP endpoint performance, system health.
import { html } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { Page, Loading, ErrorBox, Empty, Section, Chart, RangeSelect, Num, StatusBadge } from "../lib/components.js";
import { cost, ms, num, pct } from "../lib/format.js";
import { queryParams, setQuery, agentHref } from "../lib/router.js";
import { windowParams, buckets, perBucket } from "./shared.js";

const COLORS = ["#4f6bed", "#e67e22", "#3b7a57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"];

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
        <table class="grid" data-testid="models"><thead><tr>
          <th>Model</th><th class="num">Calls</th><th class="num">Errors</th><th class="num">Tokens in</th>
          <th class="num">Tokens out</th><th class="num">Cost</th><th class="num">Avg</th>
        </tr></thead><tbody>
          ${llm.by_model.map((m) => html`<tr data-model=${m.model || ""}>
            <td>${m.model || "unknown"} <span class="muted small">${m.provider || ""}</span></td>
            <${Num} field="calls" value=${m.calls} text=${num(m.calls)} />
            <${Num} field="errors" value=${m.errors} text=${num(m.errors)} />
            <${Num} field="input_tokens" value=${m.input_tokens} text=${num(m.input_tokens)} />
            <${Num} field="output_tokens" value=${m.output_tokens} text=${num(m.output_tokens)} />
            <${Num} field="cost_usd" value=${m.cost_usd} text=${m.cost_usd === null ? "no price" : cost(m.cost_usd)} />
            <${Num} field="avg_ms" value=${m.avg_ms} text=${ms(m.avg_ms)} />
          </tr>`)}
        </tbody></table>
      <//>
      <${Section} title="Agents" testid="agents-usage">
        <table class="grid" data-testid="agents-usage"><thead><tr>
          <th>Agent</th><th class="num">LLM calls</th><th class="num">Tokens in</th><th class="num">Tokens out</th><th class="num">Cost</th>
        </tr></thead><tbody>
          ${llm.by_agent.map((a) => html`<tr data-agent=${a.agent || ""}>
            <td>${a.agent ? html`<a href=${agentHref(a.agent)}>${a.agent}</a>` : html`<span class="muted">no agent</span>`}</td>
            <${Num} field="calls" value=${a.calls} text=${num(a.calls)} />
            <${Num} field="input_tokens" value=${a.input_tokens} text=${num(a.input_tokens)} />
            <${Num} field="output_tokens" value=${a.output_tokens} text=${num(a.output_tokens)} />
            <${Num} field="cost_usd" value=${a.cost_usd} text=${cost(a.cost_usd)} />
          </tr>`)}
        </tbody></table>
      <//>
    </div>
    <${Section} title="Tools" testid="tools">
      <table class="grid" data-testid="tools"><thead><tr>
        <th>Tool</th><th class="num">Calls</th><th class="num">Errors</th><th class="num">Error rate</th>
        <th class="num">Avg</th><th class="num">p50</th><th class="num">p95</th><th class="num">Max</th><th class="num">Agents</th>
      </tr></thead><tbody>
        ${tools.tools.map((t) => html`<tr data-tool=${t.tool} class=${t.errors ? "row-bad" : ""}>
          <td>${t.tool}</td>
          <${Num} field="calls" value=${t.calls} text=${num(t.calls)} />
          <${Num} field="errors" value=${t.errors} text=${num(t.errors)} />
          <${Num} field="error_rate" value=${t.error_rate} text=${pct(t.error_rate)} />
          <${Num} field="avg_ms" value=${t.avg_ms} text=${ms(t.avg_ms)} />
          <${Num} field="p50_ms" value=${t.p50_ms} text=${ms(t.p50_ms)} />
          <${Num} field="p95_ms" value=${t.p95_ms} text=${ms(t.p95_ms)} />
          <${Num} field="max_ms" value=${t.max_ms} text=${ms(t.max_ms)} />
          <${Num} field="agents" value=${t.agents} text=${num(t.agents)} />
        </tr>`)}
      </tbody></table>
      ${tools.tools.length === 0 && html`<p class="muted">No tool calls in this range.</p>`}
    <//>
    <${Section} title="HTTP endpoints" testid="endpoints">
      <table class="grid" data-testid="endpoints"><thead><tr>
        <th>Service</th><th>Route</th><th class="num">Requests</th><th class="num">4xx</th><th class="num">5xx</th>
        <th class="num">p50</th><th class="num">p90</th><th class="num">p99</th>
      </tr></thead><tbody>
        ${endpoints.endpoints.map((e) => html`<tr data-route=${`${e.method || ""} ${e.route}`}>
          <td class="small">${e.service || ""}</td><td><code>${e.method || ""} ${e.route}</code></td>
          <${Num} field="requests" value=${e.requests} text=${num(e.requests)} />
          <${Num} field="client_errors" value=${e.client_errors} text=${num(e.client_errors)} />
          <${Num} field="server_errors" value=${e.server_errors} text=${num(e.server_errors)} />
          <${Num} field="p50_ms" value=${e.p50_ms} text=${ms(e.p50_ms)} />
          <${Num} field="p90_ms" value=${e.p90_ms} text=${ms(e.p90_ms)} />
          <${Num} field="p99_ms" value=${e.p99_ms} text=${ms(e.p99_ms)} />
        </tr>`)}
      </tbody></table>
      ${endpoints.endpoints.length === 0 && html`<p class="muted">No HTTP server spans in this range.</p>`}
    <//>
    <${Section} title="System health" testid="health-section"><${Health} health=${health} /><//>
  <//>`;
}
