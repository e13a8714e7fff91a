// Pieces several views show: a runs table, an activity list, chart ranges.
import { html } from "../lib/ui.js";
import { Num, StatusBadge } from "../lib/components.js";
import { cost, ms, num, when, ago, clock, errorText } from "../lib/format.js";
import { runHref } from "../lib/router.js";

// Chart windows: the range's start and a bucket width the API accepts for it.
export const WINDOWS = {
  "1d": { resolution: "1h", seconds: 86400 },
  "7d": { resolution: "1h", seconds: 7 * 86400 },
  "30d": { resolution: "1d", seconds: 30 * 86400 },
  "90d": { resolution: "1d", seconds: 90 * 86400 },
};

export function windowParams(range) {
  const w = WINDOWS[range] || WINDOWS["1d"];
  const bucket = w.resolution === "1d" ? 86400 : 3600;
  const now = Date.now() / 1000;
  const end = Math.ceil(now / bucket) * bucket;
  const start = end - w.seconds;
  return {
    resolution: w.resolution,
    start: new Date(start * 1000).toISOString(),
    end: new Date(end * 1000).toISOString(),
  };
}

export const seconds = (iso) => Date.parse(iso) / 1000;

// Every bucket start of a window (seconds), so a chart shows the whole range with zeros.
export function buckets(params) {
  const step = params.resolution === "1d" ? 86400 : 3600;
  const out = [];
  for (let t = seconds(params.start); t < seconds(params.end); t += step) out.push(t);
  return out;
}

// values of `field` per bucket from API points ({bucket, ...}); missing buckets get `missing`
export function perBucket(xs, points, field, missing = 0) {
  const by = new Map(points.map((p) => [seconds(p.bucket), p]));
  return xs.map((t) => (by.has(t) ? (typeof field === "function" ? field(by.get(t)) : by.get(t)[field]) : missing));
}

export function totalTokens(r) {
  if (r.total_tokens != null) return r.total_tokens;
  if (r.input_tokens == null && r.output_tokens == null) return null;
  return (r.input_tokens || 0) + (r.output_tokens || 0);
}

export function RunRow({ run, live }) {
  return html`<tr data-run-id=${run.run_id} data-live=${live ? "running" : undefined}
      class=${run.status === "failed" ? "row-bad" : live ? "row-live" : ""}>
    <td data-field="name"><a href=${runHref(run.run_id)}>${run.name || run.crew || run.run_id}</a>
      ${run.error_preview && html`<div class="sub bad-text" title=${run.error_preview}>${errorText(run.error_type, run.error_preview)}</div>`}
    </td>
    <td data-field="kind">${run.kind}</td>
    <td data-field="status"><${StatusBadge} status=${live ? "running" : run.status} /></td>
    <td data-field="start_time" data-value=${run.start_time} title=${run.start_time}>${when(run.start_time)}
      <div class="sub">${ago(run.start_time)}</div></td>
    <${Num} field="duration_ms" value=${live ? null : run.duration_ms} text=${live ? "running" : ms(run.duration_ms)} />
    <${Num} field="task_count" value=${run.task_count} text=${num(run.task_count)} />
    <${Num} field="total_tokens" value=${totalTokens(run)} text=${num(totalTokens(run))} />
    <${Num} field="cost_usd" value=${run.cost_usd} text=${cost(run.cost_usd)} />
  </tr>`;
}

export const RUN_COLUMNS = [
  ["name", "Run"], ["kind", "Kind"], ["status", "Status"], ["start_time", "Started"],
  ["duration_ms", "Duration"], ["task_count", "Tasks"], ["total_tokens", "Tokens"],
  ["cost_usd", "Cost"],
];

export function RunsTable({ runs, testid, live = [], header }) {
  return html`<table class="grid" data-testid=${testid}>
    <thead><tr>${header || RUN_COLUMNS.map(([k, label]) =>
      html`<th class=${["duration_ms", "task_count", "total_tokens", "cost_usd"].includes(k) ? "num" : ""}>${label}</th>`)}</tr></thead>
    <tbody>
      ${live.map((run) => html`<${RunRow} key=${"live" + run.run_id} run=${run} live=${true} />`)}
      ${runs.map((run) => html`<${RunRow} key=${run.run_id} run=${run} />`)}
    </tbody>
  </table>`;
}

export function ActivityList({ lines, empty = "Waiting for activity…" }) {
  if (!lines.length) return html`<ul class="activity" data-testid="activity"><p class="muted">${empty}</p></ul>`;
  return html`<ul class="activity" data-testid="activity">
    ${lines.map((l, i) => html`<li key=${i} class=${l.status === "error" || l.status === "fatal" ? "bad-text" : ""}
        data-kind=${l.kind}>
      <time title=${when(l.t)}>${clock(l.t)}</time> <span class="kind">${l.kind.replace("_", " ")}</span>
      ${l.run ? html`<a href=${runHref(l.run)}>${l.text}</a>` : l.text}
    </li>`)}
  </ul>`;
}
