// Runs (/runs): flows and crews, filtered, sorted and paged through the URL; runs still in
// progress appear from the live feed and the table refetches when one finishes.
import { html, useRef, useState } from "../lib/ui.js";
import { useApi } from "../lib/api.js";
import { useLive } from "../lib/live.js";
import { Page, Loading, ErrorBox, Empty } from "../lib/components.js";
import { num } from "../lib/format.js";
import { queryParams, setQuery } from "../lib/router.js";
import { RunsTable, RUN_COLUMNS } from "./shared.js";

const PAGE = 25;
const SORTABLE = new Set(["name", "status", "start_time", "duration_ms", "total_tokens", "cost_usd"]);
const FILTERS = ["kind", "name", "status", "agent", "from", "to", "q"];

// datetime-local (the browser's local time) <-> ISO 8601 for the API
const toIso = (local) => (local ? new Date(local).toISOString() : undefined);

function Filters({ q }) {
  const form = useRef(null);
  const apply = (replace) => {
    const fd = new FormData(form.current);
    const patch = { offset: undefined };
    FILTERS.forEach((k) => (patch[k] = (fd.get(k) || "").trim() || undefined));
    setQuery(patch, { replace });
  };
  return html`<form class="filters" data-testid="filters" ref=${form}
      onSubmit=${(e) => { e.preventDefault(); apply(false); }}>
    <label>Kind <select name="kind" onChange=${() => apply(false)}>
      ${[["", "any"], ["flow", "flow"], ["crew", "crew"], ["agent", "agent"]].map(([v, l]) =>
        html`<option value=${v} selected=${(q.kind || "") === v}>${l}</option>`)}
    </select></label>
    <label>Status <select name="status" onChange=${() => apply(false)}>
      ${[["", "any"], ["completed", "completed"], ["failed", "failed"]].map(([v, l]) =>
        html`<option value=${v} selected=${(q.status || "") === v}>${l}</option>`)}
    </select></label>
    <label>Name <input name="name" value=${q.name || ""} placeholder="flow or crew" onChange=${() => apply(false)} /></label>
    <label>Agent <input name="agent" value=${q.agent || ""} placeholder="agent role" onChange=${() => apply(false)} /></label>
    <label>From <input type="datetime-local" name="from" value=${q.from || ""} onChange=${() => apply(false)} /></label>
    <label>To <input type="datetime-local" name="to" value=${q.to || ""} onChange=${() => apply(false)} /></label>
    <label class="grow">Search <input type="search" name="q" value=${q.q || ""} placeholder="name, crew, run id, error" onChange=${() => apply(false)} /></label>
    <button type="submit">Apply</button>
    ${FILTERS.some((k) => q[k]) && html`<button type="button" class="link" onClick=${() => {
      const clear = { offset: undefined };
      FILTERS.forEach((k) => (clear[k] = undefined));
      setQuery(clear);
    }}>Clear</button>`}
  </form>`;
}

function SortHeader({ field, label, q }) {
  const sort = q.sort || "start_time";
  const order = q.order || "desc";
  const numeric = ["duration_ms", "task_count", "total_tokens", "cost_usd"].includes(field);
  if (!SORTABLE.has(field)) return html`<th class=${numeric ? "num" : ""}>${label}</th>`;
  const active = sort === field;
  const next = active && order === "desc" ? "asc" : "desc";
  return html`<th class="sortable ${numeric ? "num" : ""} ${active ? "sorted" : ""}" data-sort=${field}
      aria-sort=${active ? (order === "asc" ? "ascending" : "descending") : "none"}
      onClick=${() => setQuery({ sort: field, order: next, offset: undefined })}>
    ${label}${active ? (order === "asc" ? " ▲" : " ▼") : ""}
  </th>`;
}

export function Runs({ search }) {
  const q = queryParams(search);
  const offset = Math.max(0, parseInt(q.offset || "0", 10) || 0);
  const params = {
    kind: q.kind, name: q.name, status: q.status, agent: q.agent, q: q.q,
    start_date_from: toIso(q.from), start_date_to: toIso(q.to),
    sort: q.sort, order: q.order, limit: PAGE, offset,
  };
  const { data, error, reload } = useApi({ runs: ["/runs", params] }, search);
  const [live, setLive] = useState({});
  const pending = useRef(null);
  useLive((m) => {
    if (m.type !== "event" || !m.run_id) return;
    if (m.event === "run_completed" || m.event === "flow_completed") {
      if (m.crew_run_id && m.run_id !== m.crew_run_id) return; // a nested crew of a flow
      setLive((old) => {
        const next = { ...old };
        delete next[m.run_id];
        return next;
      });
      clearTimeout(pending.current);
      pending.current = setTimeout(reload, 300);
      return;
    }
    const known = data && data.runs.runs.some((r) => r.run_id === m.run_id);
    if (known || offset > 0) return;
    setLive((old) => old[m.run_id] ? old : {
      ...old,
      [m.run_id]: {
        run_id: m.run_id, name: m.crew || m.name, crew: m.crew, kind: "running",
        status: "running", start_time: new Date(m.data.start_time * 1000).toISOString(),
        duration_ms: null, task_count: null, total_tokens: null, cost_usd: null,
      },
    });
  });
  const head = RUN_COLUMNS.map(([k, label]) => html`<${SortHeader} field=${k} label=${label} q=${q} />`);
  let body;
  let state = "ready";
  if (error && !data) {
    state = "error";
    body = html`<${ErrorBox} error=${error} retry=${reload} />`;
  } else if (!data) {
    state = "loading";
    body = html`<${Loading} />`;
  } else {
    const { runs, total } = data.runs;
    const filtered = FILTERS.some((k) => q[k]);
    const liveRuns = Object.values(live);
    if (total === 0 && !filtered && liveRuns.length === 0) {
      state = "empty";
      body = html`<${Empty} />`;
    } else {
      const last = Math.min(offset + runs.length, total);
      body = html`
        ${error && html`<p class="bad-text">Refresh failed: ${error.message}</p>`}
        <div class="card">
        <${RunsTable} runs=${runs} live=${liveRuns} testid="runs" header=${head} />
        ${runs.length === 0 && html`<p class="muted">No runs match these filters.</p>`}
        <div class="pager">
          <button type="button" data-testid="prev" disabled=${offset === 0}
            onClick=${() => setQuery({ offset: Math.max(0, offset - PAGE) || undefined })}>← Previous</button>
          <span data-testid="page-info">${total === 0 ? "0" : `${num(offset + 1)}–${num(last)}`} of ${num(total)}</span>
          <button type="button" data-testid="next" disabled=${offset + PAGE >= total}
            onClick=${() => setQuery({ offset: offset + PAGE })}>Next →</button>
        </div>
        </div>`;
    }
  }
  return html`<${Page} view="runs" state=${state} title="Runs">
    <${Filters} q=${q} key=${search} />
    ${body}
  <//>`;
}
