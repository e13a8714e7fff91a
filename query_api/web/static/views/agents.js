// Agents (/agents): a card per agent, live: what it is running, the CPU, memory and threads
// of its process, its executions, tokens and cost over 24 hours, and its latest activity.
import { html, useEffect, useState } from "../lib/ui.js";
import { getJSON, useApi } from "../lib/api.js";
import { useLive, activityLine } from "../lib/live.js";
import { Page, Loading, ErrorBox, Empty, Stats } from "../lib/components.js";
import { cost, mb, num, pct, ago } from "../lib/format.js";
import { agentHref } from "../lib/router.js";
import { ActivityList } from "./shared.js";

const RUNNING_FOR_S = 120;
const ACTIVITY_REQUESTS = 4; // at once, for the cards' stored activity // no event for this long: the agent counts as idle again

const blank = () => ({
  status: "idle", task: null, since: 0, execs: 0, failed: 0, inTok: 0, outTok: 0, cost: 0,
  pendingCost: 0, lines: [], service: null, crew: null,
});

function serverLine(a) {
  return { t: Date.parse(a.time) / 1000, kind: a.kind, status: a.status, text: a.text, run: a.run_id };
}

function processFor(agent, live, samples) {
  const newest = (list) => list.sort((a, b) => b.t - a.t)[0] || null;
  const own = newest(samples.filter((s) => s.agent === agent.agent));
  if (own) return own;
  const service = live.service || agent.service;
  if (service) return newest(samples.filter((s) => s.service === service));
  const services = new Set(samples.map((s) => s.service));
  return services.size === 1 ? newest(samples) : null;
}

const CARD_STATS = [
  ["CPU", "cpu", pct], ["memory (RSS)", "memory", mb], ["threads", "threads", num],
  ["executions", "executions", num], ["success", "success_rate", pct],
  ["input tokens", "input_tokens", num], ["output tokens", "output_tokens", num], ["cost", "cost_usd", cost],
];

function Card({ agent, live, proc }) {
  const running = live.status === "running" && Date.now() / 1000 - live.since < RUNNING_FOR_S;
  const costValue = agent.cost_usd === null && live.cost === 0 ? null : (agent.cost_usd || 0) + live.cost;
  const execs = agent.total_executions + live.execs;
  const failed = agent.failed_executions + live.failed;
  const inTok = agent.input_tokens + live.inTok;
  const outTok = agent.output_tokens + live.outTok;
  return html`<article class="card agent-card ${running ? "running" : ""} ${failed > 0 ? "has-errors" : ""}"
      data-testid="agent-card" data-agent=${agent.agent}>
    <div class="card-head">
      <h2><a href=${agentHref(agent.agent)}>${agent.agent}</a></h2>
      <span class="badge ${running ? "run" : "dim"}" data-field="status" data-status=${running ? "running" : "idle"}>
        ${running ? `running ${live.task || ""}`.trim() : "idle"}</span>
    </div>
    <p class="sub muted">${live.crew || agent.crew || ""}${(live.crew || agent.crew) && " · "}last execution ${ago(agent.last_execution)}</p>
    <${Stats} cls="small-stats" items=${CARD_STATS} obj=${{
      cpu: proc ? proc.cpu : null, memory: proc ? proc.memory : null, threads: proc ? proc.threads : null,
      executions: execs, success_rate: execs ? ((execs - failed) / execs) * 100 : null,
      input_tokens: inTok, output_tokens: outTok, cost_usd: costValue,
    }} />
    ${proc && html`<p class="sub muted" data-testid="process">process ${proc.pid} (${proc.service || "unknown service"}), sampled ${ago(proc.t)}</p>`}
    <${ActivityList} lines=${live.lines.slice(0, 5)} empty="No recent activity." />
  </article>`;
}

export function Agents() {
  const { data, error, reload } = useApi(
    { agents: ["/agents", { time_range: "1d" }], procs: ["/metrics/process", { time_range: "1d" }] },
    "agents",
  );
  const [live, setLive] = useState({});
  const [samples, setSamples] = useState({});
  const [extra, setExtra] = useState([]); // agents first seen live
  // the activity already stored, once per agent
  useEffect(() => {
    if (!data) return;
    setSamples((old) => {
      const next = { ...old };
      for (const p of data.procs.processes) {
        const key = `${p.service}|${p.pid}`;
        const t = Date.parse(p.timestamp) / 1000;
        if (!next[key] || next[key].t < t) {
          next[key] = { t, service: p.service, pid: p.pid, agent: p.agent, crew: p.crew,
            cpu: p.cpu_percent, memory: p.memory_mb, threads: p.threads };
        }
      }
      return next;
    });
    // stored activity per card, a few requests at a time (the cards are already on screen)
    const queue = [...data.agents.agents];
    const next = () => {
      const a = queue.shift();
      if (!a) return undefined;
      return getJSON(`/agents/${encodeURIComponent(a.agent)}/activity`, { limit: 5 })
        .then((body) => setLive((old) => {
          const cur = old[a.agent] || blank();
          const have = new Set(cur.lines.map((l) => `${l.t}|${l.text}`));
          const lines = [...cur.lines, ...body.activity.map(serverLine).filter((l) => !have.has(`${l.t}|${l.text}`))]
            .sort((x, y) => y.t - x.t).slice(0, 20);
          return { ...old, [a.agent]: { ...cur, lines } };
        }))
        .catch(() => {})
        .then(next);
    };
    for (let i = 0; i < ACTIVITY_REQUESTS; i++) next();
  }, [data]);
  useLive((m) => {
    if (m.type === "process") {
      const d = m.data;
      setSamples((old) => ({ ...old, [`${m.service}|${m.pid}`]: {
        t: m.timestamp, service: m.service, pid: m.pid, agent: m.agent, crew: m.crew,
        cpu: d.cpu_percent, memory: d.memory_mb, threads: d.threads,
      } }));
      return;
    }
    if (!m.agent || (m.type !== "event" && m.type !== "log")) return;
    const line = activityLine(m);
    const known = data && data.agents.agents.some((a) => a.agent === m.agent);
    if (!known) setExtra((old) => (old.includes(m.agent) ? old : [...old, m.agent]));
    setLive((old) => {
      const cur = { ...(old[m.agent] || blank()) };
      cur.service = m.service || cur.service;
      cur.crew = m.crew || cur.crew;
      if (line) cur.lines = [line, ...cur.lines].slice(0, 20);
      const d = m.data || {};
      if (m.event === "task_completed") {
        cur.status = "idle";
        cur.task = null;
        cur.execs += 1;
        if (d.status === "error") cur.failed += 1;
        cur.inTok += d.input_tokens || 0;
        cur.outTok += d.output_tokens || 0;
        cur.cost += cur.pendingCost;
        cur.pendingCost = 0;
      } else if (m.type === "event" && ["llm_call", "tool_call", "agent_step", "memory"].includes(m.event)) {
        cur.status = "running";
        cur.task = m.task || cur.task;
        cur.since = Date.now() / 1000;
        if (m.event === "llm_call") cur.pendingCost += d.cost_usd || 0;
      }
      return { ...old, [m.agent]: cur };
    });
  });
  // the idle timeout needs a clock
  const [, setClock] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setClock((c) => c + 1), 5000);
    return () => clearInterval(id);
  }, []);
  if (error && !data) return html`<${Page} view="agents" state="error" title="Agents"><${ErrorBox} error=${error} retry=${reload} /><//>`;
  if (!data) return html`<${Page} view="agents" state="loading" title="Agents"><${Loading} /><//>`;
  const sampleList = Object.values(samples);
  const agents = [
    ...data.agents.agents,
    ...extra.filter((n) => !data.agents.agents.some((a) => a.agent === n)).map((n) => ({
      agent: n, total_executions: 0, successful_executions: 0, failed_executions: 0,
      input_tokens: 0, output_tokens: 0, cost_usd: null, last_execution: null, crew: null, service: null,
    })),
  ];
  if (!agents.length) return html`<${Page} view="agents" state="empty" title="Agents"><${Empty} what="agents" /><//>`;
  const order = (a) => (live[a.agent] && live[a.agent].status === "running" ? 0 : 1);
  agents.sort((a, b) => order(a) - order(b) || String(b.last_execution).localeCompare(String(a.last_execution)));
  return html`<${Page} view="agents" state="ready" title="Agents"
      actions=${html`<span class="muted">last 24 hours · live</span>`}>
    <div class="card-grid">
      ${agents.map((a) => html`<${Card} key=${a.agent} agent=${a} live=${live[a.agent] || blank()}
        proc=${processFor(a, live[a.agent] || blank(), sampleList)} />`)}
    </div>
  <//>`;
}
