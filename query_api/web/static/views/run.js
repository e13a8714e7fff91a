// Run detail (/runs/{id}): totals, the waterfall of the run's span tree on one time axis,
// the selected span's attributes and captured content, a flow's method graph, nested runs
// and the run's logs.
import { html, useMemo, useState } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { Page, Loading, ErrorBox, Stats, Section, StatusBadge } from "../lib/components.js";
import { cost, ms, num, when, raw, errorText } from "../lib/format.js";
import { runHref, agentHref } from "../lib/router.js";
import { FlowGraph } from "./flow_graph.js";

const LLM = new Set(["chat", "text_completion", "generate_content", "embeddings"]);
// attributes that hold captured content (recorded only when capture is switched on)
const CONTENT_KEYS = [
  "gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages",
  "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
];

export function spanKind(s) {
  if (s.operation && LLM.has(s.operation)) return "llm";
  if (s.operation === "execute_tool") return "tool";
  if (s.operation === "invoke_agent") return s.task ? "task" : "agent";
  if (s.operation === "invoke_workflow") return "run";
  if (s.name.startsWith("flow_method")) return "method";
  if (s.name.startsWith("step ")) return "step";
  if (s.name.startsWith("memory ")) return "memory";
  return "other";
}

const known = (v) => v !== null && v !== undefined;
const sumOf = (rows, f) => (rows.length ? rows.reduce((sum, r) => sum + (r.span[f] || 0), 0) : null);

// Depth-first rows; `cost` is the span's own cost (LLM calls) or the sum of its priced
// descendants' (a task, a crew), null when nothing below had a price; `tokens` likewise:
// the span's own, or the sum of the LLM calls below it (`summed` says which).
export function flatten(spans, depth = 0, out = []) {
  for (const s of spans) {
    const own = known(s.input_tokens) || known(s.output_tokens);
    const row = { span: s, depth, cost: s.cost_usd, input: s.input_tokens, output: s.output_tokens, summed: !own };
    out.push(row);
    const first = out.length;
    flatten(s.children || [], depth + 1, out);
    const below = out.slice(first);
    if (!known(row.cost)) row.cost = sumOf(below.filter((r) => known(r.span.cost_usd)), "cost_usd");
    if (!own) {
      const calls = below.filter((r) => spanKind(r.span) === "llm" && (known(r.span.input_tokens) || known(r.span.output_tokens)));
      row.input = sumOf(calls, "input_tokens");
      row.output = sumOf(calls, "output_tokens");
    }
  }
  return out;
}


function Bar({ span, t0, total }) {
  const start = Date.parse(span.start_time) - t0;
  const left = total > 0 ? (start / total) * 100 : 0;
  const width = total > 0 ? Math.max((span.duration_ms / total) * 100, 0.3) : 100;
  return html`<div class="bar-track"><div class="bar k-${spanKind(span)} ${span.status === "error" ? "bad" : ""}"
    style=${`left:${Math.min(left, 99.7)}%;width:${Math.min(width, 100 - Math.min(left, 99.7))}%`}></div></div>`;
}

function Waterfall({ rows, t0, total, selected, onSelect }) {
  return html`<div class="waterfall" data-testid="waterfall" role="table" aria-label="span waterfall">
    <div class="wf-row wf-head" role="row">
      <div role="columnheader">Span</div><div role="columnheader">Timeline (${ms(total)})</div>
      <div role="columnheader" class="num">Duration</div><div role="columnheader" class="num">Tokens in/out</div>
      <div role="columnheader" class="num">Cost</div>
    </div>
    ${rows.map(({ span, depth, cost: rowCost, input, output, summed }) => html`<div role="row" key=${span.span_id}
        class="wf-row ${span.status === "error" ? "row-bad" : ""} ${selected === span.span_id ? "selected" : ""}"
        data-span-id=${span.span_id} data-status=${span.status} data-operation=${span.operation || ""}
        data-kind=${spanKind(span)} tabindex="0"
        onClick=${() => onSelect(span.span_id)}
        onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), onSelect(span.span_id))}>
      <div class="wf-name" style=${`padding-left:${depth * 14 + 4}px`} title=${span.name}>
        <span class="dot k-${spanKind(span)}"></span>${span.name}
        ${span.status === "error" && html`<div class="sub bad-text" data-field="error">${errorText(span.error_type, span.status_message)}</div>`}
      </div>
      <${Bar} span=${span} t0=${t0} total=${total} />
      <div class="num" data-field="duration_ms" data-value=${raw(span.duration_ms)}>${ms(span.duration_ms)}</div>
      <div class="num ${summed ? "muted" : ""}" data-field="input_tokens" data-value=${raw(input)}
        title=${summed && input !== null ? "sum of the LLM calls below" : ""}>
        ${input === null && output === null ? "" : `${num(input)} / ${num(output)}`}
        <span hidden data-field="output_tokens" data-value=${raw(output)}></span>
      </div>
      <div class="num ${span.cost_usd === null ? "muted" : ""}" data-field="cost_usd" data-value=${raw(rowCost)}
        title=${span.cost_usd === null && rowCost !== null ? "sum of the LLM calls below" : ""}>${rowCost === null ? "" : cost(rowCost)}</div>
    </div>`)}
  </div>`;
}

function SpanDetail({ span }) {
  if (!span) return html`<p class="muted">Select a span to see its attributes.</p>`;
  const attrs = Object.entries(span.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  const content = attrs.filter(([k]) => CONTENT_KEYS.includes(k));
  const other = attrs.filter(([k]) => !CONTENT_KEYS.includes(k));
  return html`<div data-testid="span-detail" data-span-id=${span.span_id}>
    <h3>${span.name}</h3>
    <dl class="facts">
      <dt>Status</dt><dd><${StatusBadge} status=${span.status} /> ${span.status_message || ""}</dd>
      <dt>Started</dt><dd>${when(span.start_time)}</dd>
      <dt>Duration</dt><dd>${ms(span.duration_ms)}</dd>
      ${span.agent && html`<dt>Agent</dt><dd><a href=${agentHref(span.agent)}>${span.agent}</a></dd>`}
      ${span.task && html`<dt>Task</dt><dd>${span.task}</dd>`}
      ${span.tool && html`<dt>Tool</dt><dd>${span.tool}</dd>`}
      ${span.model && html`<dt>Model</dt><dd>${span.model}${span.provider ? ` (${span.provider})` : ""}</dd>`}
      ${(span.input_tokens !== null || span.output_tokens !== null) && html`<dt>Tokens</dt><dd>${num(span.input_tokens)} in / ${num(span.output_tokens)} out</dd>`}
      ${span.cost_usd !== null && html`<dt>Cost</dt><dd>${cost(span.cost_usd)}</dd>`}
      <dt>Span id</dt><dd><code>${span.span_id}</code></dd>
    </dl>
    ${content.length > 0 ? html`<h4>Captured content</h4>
      ${content.map(([k, v]) => html`<div class="content" data-attr=${k}><div class="muted">${k}</div><pre>${pretty(v)}</pre></div>`)}`
      : html`<p class="muted small">Prompts, completions and tool arguments are not recorded
        (set OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT to capture them).</p>`}
    ${span.events && span.events.length > 0 && html`<h4>Events</h4><ul class="plain">
      ${span.events.map((e) => html`<li><time>${when(e.time)}</time> ${e.name}
        ${Object.keys(e.attributes || {}).length > 0 && html`<pre class="small">${JSON.stringify(e.attributes, null, 1)}</pre>`}</li>`)}</ul>`}
    <h4>Attributes</h4>
    <table class="attrs"><tbody>
      ${other.map(([k, v]) => html`<tr data-attr=${k}><th>${k}</th><td>${v}</td></tr>`)}
    </tbody></table>
  </div>`;
}

function pretty(v) {
  try {
    return JSON.stringify(JSON.parse(v), null, 2);
  } catch {
    return v;
  }
}

function Logs({ runId }) {
  const { data, error } = useApi({ logs: [`/runs/${encodeURIComponent(runId)}/logs`, { limit: 100 }] }, runId);
  if (error) return html`<p class="bad-text">${error.message}</p>`;
  if (!data) return html`<${Loading} />`;
  const logs = data.logs.logs;
  if (!logs.length) return html`<p class="muted" data-testid="run-logs">No log records for this run.</p>`;
  return html`<ul class="activity" data-testid="run-logs">
    ${logs.map((l, i) => html`<li key=${i} class=${["error", "fatal"].includes(l.severity) ? "bad-text" : l.severity === "warn" ? "warn-text" : ""}>
      <time>${when(l.time)}</time> <span class="kind">${l.severity || ""}</span>
      ${l.agent && html`<span class="muted">${l.agent}:</span>`} ${l.body}</li>`)}
  </ul>`;
}

const RUN_STATS = [
  ["duration", "duration_ms", ms], ["input tokens", "input_tokens", num],
  ["output tokens", "output_tokens", num], ["cost", "cost_usd", cost], ["spans", "spans", num],
  ["tasks", "tasks", num], ["LLM calls", "llm_calls", num], ["tool calls", "tool_calls", num],
  ["errors", "errors", num],
];

export function RunDetail({ param }) {
  const { data, error, reload } = useApi({ run: [`/runs/${encodeURIComponent(param)}`] }, param);
  const [selected, setSelected] = useState(null);
  const rows = useMemo(() => (data ? flatten(data.run.spans) : []), [data]);
  if (error && !data) {
    return html`<${Page} view="run" state="error" title="Run">
      <${ErrorBox} error=${error} retry=${error.status === 404 ? null : reload} />
      <p><a href="/runs">← All runs</a></p>
    <//>`;
  }
  if (!data) return html`<${Page} view="run" state="loading" title="Run"><${Loading} /><//>`;
  const run = data.run;
  const t0 = Math.min(...rows.map((r) => Date.parse(r.span.start_time)));
  const t1 = Math.max(...rows.map((r) => Date.parse(r.span.end_time)));
  const chosen = rows.find((r) => r.span.span_id === selected);
  const title = html`<span>${run.name || run.run_id} <span class="muted small">${run.kind}</span>
    <${StatusBadge} status=${run.status} /></span>`;
  return html`<${Page} view="run" state="ready" title=${title}
      actions=${html`<span class="muted">${run.parent_run_id ? html`nested in <a href=${runHref(run.parent_run_id)}>parent run</a> · ` : ""}<a href="/runs">All runs</a></span>`}>
    <div class="card">
      <${Stats} testid="run-totals" obj=${{ ...run, ...run.counts }} items=${RUN_STATS} />
      <p class="muted small">Started ${when(run.start_time)} · trace <code>${run.trace_id}</code>
        ${run.crew && run.kind !== "crew" ? ` · crew ${run.crew}` : ""}</p>
      ${run.error_preview && html`<p class="bad-text">${errorText(run.error_type, run.error_preview)}</p>`}
      ${run.errors.length > 0 && html`<ul class="plain errors">${run.errors.map((e) => html`<li class="bad-text">
        <a href="#" onClick=${(ev) => { ev.preventDefault(); setSelected(e.span_id); }}>${e.span_name}</a>: ${errorText(e.error_type, e.message)}</li>`)}</ul>`}
    </div>
    ${run.flow_graph && html`<${Section} title="Flow methods" testid="flow-graph"><${FlowGraph} graph=${run.flow_graph} /><//>`}
    <div class="cols wide-left detail-cols">
      <${Section} title=${`Waterfall · ${rows.length} spans`} testid="waterfall">
        <${Waterfall} rows=${rows} t0=${t0} total=${t1 - t0} selected=${selected} onSelect=${setSelected} />
      <//>
      <section class="card sticky" data-section="span-detail"><${SpanDetail} span=${chosen && chosen.span} /></section>
    </div>
    ${run.nested_runs.length > 0 && html`<${Section} title="Nested runs" testid="nested-runs">
      <ul class="plain" data-testid="nested-runs">${run.nested_runs.map((n) => html`<li>
        <a href=${runHref(n.run_id)}>${n.name || n.run_id}</a> <span class="muted">${n.kind}${n.flow_method ? ` · from ${n.flow_method}` : ""}</span>
        <${StatusBadge} status=${n.status} /> ${ms(n.duration_ms)} · ${num(n.total_tokens)} tokens</li>`)}</ul>
    <//>`}
    ${run.output_preview && html`<${Section} title="Output" testid="output"><pre class="output">${run.output_preview}</pre><//>`}
    <${Section} title="Logs" testid="run-logs"><${Logs} runId=${run.run_id} /><//>
  <//>`;
}
