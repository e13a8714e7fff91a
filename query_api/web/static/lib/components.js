// Building blocks shared by the views: the page frame and its states, stats, cells, charts.
import { html, useEffect, useRef } from "./ui.js";
import { raw, DASH, cost, ms, num, pct } from "./format.js";

// The view's root: data-state tells tests and screen readers where the page is.
export function Page({ view, state, title, actions, children }) {
  return html`<main id="view" data-view=${view} data-state=${state} aria-busy=${state === "loading"}>
    ${title && html`<div class="page-head"><h1>${title}</h1>${actions}</div>`}
    ${children}
  </main>`;
}

export function Loading() {
  return html`<p class="muted loading">Loading…</p>`;
}

export function ErrorBox({ error, retry }) {
  return html`<div class="error-box" data-testid="error" role="alert">
    <strong>Could not load this view.</strong>
    <p>${error && error.message}</p>
    ${retry && html`<button type="button" onClick=${retry}>Retry</button>`}
  </div>`;
}

// No data yet: the two lines that send a crew's telemetry to this server.
export function Empty({ what = "runs" }) {
  const origin = location.origin;
  return html`<div class="empty" data-testid="empty">
    <h2>No ${what} yet</h2>
    <p>Instrument a CrewAI app and send its telemetry here:</p>
    <pre><code>pip install 'crewscope[crewai,otlp]'
OTEL_EXPORTER_OTLP_ENDPOINT=${origin} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf opentelemetry-instrument python app.py</code></pre>
    <p class="muted">Runs appear here as they finish; this page updates by itself.</p>
  </div>`;
}

// A figure with its label; `value` is the raw number (data-value), `text` the formatted one.
export function Stat({ label, field, value, text, hint }) {
  return html`<div class="stat" data-field=${field} data-value=${raw(value)} title=${hint || ""}>
    <div class="stat-value">${text ?? DASH}</div>
    <div class="stat-label">${label}</div>
  </div>`;
}

export function Num({ field, value, text }) {
  return html`<td class="num" data-field=${field} data-value=${raw(value)}>${text}</td>`;
}

// Figures of `obj` from [label, field, format] triples.
export function Stats({ obj, items, testid, cls = "" }) {
  return html`<div class="stats ${cls}" data-testid=${testid}>
    ${items.map(([label, field, fmt]) => html`<${Stat} label=${label} field=${field} value=${obj[field]} text=${fmt(obj[field])} />`)}
  </div>`;
}

// A table from column specs {key, label, fmt?, render?}: `fmt` makes a numeric cell with
// data-value, `render(row)` a custom one; `rowProps(row)` adds attributes to each row.
// How a field is shown as a Table column wherever it appears: [label, format] (a format
// makes it a number cell).
const FIELDS = {
  calls: ["Calls", num], errors: ["Errors", num], error_rate: ["Error rate", pct],
  executions: ["Executions", num], failed: ["Failed", num], success_rate: ["Success", pct],
  input_tokens: ["Tokens in", num], output_tokens: ["Tokens out", num], cost_usd: ["Cost", cost],
  avg_ms: ["Avg", ms], p50_ms: ["p50", ms], p90_ms: ["p90", ms], p95_ms: ["p95", ms],
  p99_ms: ["p99", ms], max_ms: ["Max", ms],
};

// Table columns from field names (shown as FIELDS says) or {key, label, fmt, render} objects,
// which override what FIELDS says of their key.
export function columns(...specs) {
  return specs.map((spec) => {
    const c = typeof spec === "string" ? { key: spec } : spec;
    const [label, fmt] = FIELDS[c.key] || [];
    return { label, fmt, ...c };
  });
}

export function Table({ testid, columns, rows, rowProps = () => ({}), empty }) {
  return html`<table class="grid" data-testid=${testid}>
    <thead><tr>${columns.map((c) => html`<th class=${c.fmt ? "num" : ""}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((row, i) => html`<tr key=${i} ...${rowProps(row)}>
      ${columns.map((c) => (c.fmt
        ? html`<${Num} field=${c.key} value=${row[c.key]} text=${c.fmt(row[c.key])} />`
        : html`<td data-field=${c.key}>${c.render ? c.render(row) : row[c.key]}</td>`))}
    </tr>`)}</tbody>
  </table>
  ${rows.length === 0 && empty && html`<p class="muted">${empty}</p>`}`;
}

export function StatusBadge({ status }) {
  const s = status || "unset";
  const cls = { completed: "ok", ok: "ok", failed: "bad", error: "bad", running: "run" }[s] || "dim";
  return html`<span class="badge ${cls}" data-status=${s}>${s}</span>`;
}

export function RangeSelect({ value, onChange, options = ["1d", "7d", "30d", "90d"] }) {
  return html`<label class="range">Range
    <select name="range" value=${value} onChange=${(e) => onChange(e.target.value)}>
      ${options.map((o) => html`<option value=${o} selected=${o === value}>${o}</option>`)}
    </select>
  </label>`;
}

// A uPlot time-series chart: x = seconds, series = [{label, values, color, axis?}].
export function Chart({ testid, x, series, height = 180, title, yLabel = "", xRange = null }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !window.uPlot) return undefined;
    const opts = {
      width: Math.max(280, el.clientWidth || 600),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: xRange ? { time: true, range: () => xRange } : { time: true }, y: { range: (u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: "#667", grid: { stroke: "#eef" } },
        { stroke: "#667", grid: { stroke: "#eef" }, label: yLabel, size: 56 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label, stroke: s.color, width: 2,
          fill: s.fill, spanGaps: false,
          // dots where lines cannot show a value: few buckets, or values between gaps
          points: { show: !s.bars && (x.length <= 60 || s.values.includes(null)), size: 6 },
          paths: s.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
        })),
      ],
    };
    plot.current = new window.uPlot(opts, [x, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => {
      if (plot.current && el.clientWidth) plot.current.setSize({ width: el.clientWidth, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current && plot.current.destroy();
      plot.current = null;
    };
  }, [JSON.stringify([x, series.map((s) => [s.label, s.values])])]);
  return html`<figure class="chart" data-testid=${testid}>
    ${title && html`<figcaption>${title}</figcaption>`}
    ${x.length === 0 ? html`<p class="muted">No data in this range.</p>` : html`<div ref=${box}></div>`}
  </figure>`;
}

export function Section({ title, testid, children, actions }) {
  return html`<section class="card" data-section=${testid}>
    <div class="card-head"><h2>${title}</h2>${actions}</div>
    ${children}
  </section>`;
}
