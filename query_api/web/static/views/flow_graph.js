// A flow's method graph: start methods on the left, listeners to the right of what they
// listen to, router labels on their edges, executions per method in this run.
import { html } from "../lib/ui.js";
import { ms, num } from "../lib/format.js";

const W = 170;
const H = 52;
const GAP_X = 70;
const GAP_Y = 22;

export function layout(graph) {
  const names = graph.nodes.map((n) => n.method);
  const layer = Object.fromEntries(names.map((n) => [n, 0]));
  const incoming = Object.fromEntries(names.map((n) => [n, []]));
  for (const e of graph.edges) if (incoming[e.target]) incoming[e.target].push(e.source);
  // longest path from the start methods; a cycle (a router looping back) stops growing
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const n of names) {
      const node = graph.nodes.find((x) => x.method === n);
      if (node.start) continue;
      const best = Math.max(-1, ...incoming[n].filter((s) => s in layer && s !== n).map((s) => layer[s]));
      if (best + 1 > layer[n] && best + 1 < names.length) {
        layer[n] = best + 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const columns = {};
  for (const n of names) (columns[layer[n]] = columns[layer[n]] || []).push(n);
  const pos = {};
  for (const [col, members] of Object.entries(columns)) {
    members.forEach((n, i) => (pos[n] = { x: 10 + col * (W + GAP_X), y: 10 + i * (H + GAP_Y) }));
  }
  const cols = Object.keys(columns).length;
  const rows = Math.max(...Object.values(columns).map((m) => m.length));
  const back = graph.edges.some((e) => pos[e.source] && pos[e.target] && pos[e.target].x <= pos[e.source].x);
  return { pos, width: 20 + cols * W + (cols - 1) * GAP_X, height: 20 + rows * H + (rows - 1) * GAP_Y + (back ? 40 : 0) };
}

function Edge({ e, pos }) {
  const a = pos[e.source];
  const b = pos[e.target];
  if (!a || !b) return null;
  let d;
  let lx;
  let ly;
  if (b.x > a.x) {
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`;
    lx = mx;
    ly = (y1 + y2) / 2 - 4;
  } else { // back or same-column edge: loop below
    const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y + H;
    const drop = Math.max(y1, y2) + 30;
    d = `M${x1},${y1} C${x1},${drop} ${x2},${drop} ${x2},${y2 + 6}`;
    lx = (x1 + x2) / 2;
    ly = drop - 8;
  }
  return html`<g class="edge" data-edge=${`${e.source}->${e.target}`}>
    <path d=${d} marker-end="url(#arrow)" />
    ${e.label && html`<text x=${lx} y=${ly} text-anchor="middle" class="edge-label">${e.label}</text>`}
  </g>`;
}

export function FlowGraph({ graph }) {
  if (!graph || !graph.nodes.length) return html`<p class="muted">No method graph recorded.</p>`;
  const { pos, width, height } = layout(graph);
  return html`<div class="flow-graph" data-testid="flow-graph">
    <svg width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="img"
        aria-label="flow method graph">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#778" /></marker></defs>
      ${graph.edges.map((e, i) => html`<${Edge} key=${i} e=${e} pos=${pos} />`)}
      ${graph.nodes.map((n) => {
        const p = pos[n.method];
        const cls = n.failed > 0 ? "bad" : n.executions === 0 ? "idle" : "ran";
        return html`<g class="node ${cls}" data-method=${n.method} transform=${`translate(${p.x},${p.y})`}>
          <title>${n.method}${n.listen_to && n.listen_to.length ? ` — listens to ${(n.condition || "or").toUpperCase()} ${n.listen_to.join(", ")}` : ""}</title>
          <rect width=${W} height=${H} rx="8" />
          <text x="10" y="20" class="node-name">${n.method.length > 20 ? n.method.slice(0, 19) + "…" : n.method}</text>
          <text x="10" y="39" class="node-meta">
            ${n.start ? "start · " : ""}${n.router ? "router · " : ""}<tspan data-field="executions" data-value=${n.executions}>${num(n.executions)}×</tspan>${n.failed ? ` · ${n.failed} failed` : ""}${n.avg_ms !== null && n.avg_ms !== undefined ? ` · ${ms(n.avg_ms)}` : ""}
          </text>
        </g>`;
      })}
    </svg>
  </div>`;
}
