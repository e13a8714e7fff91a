// The crewscope web UI: a frame with navigation and live status, and the view the URL names.
import { html, render, useEffect, useState } from "./lib/ui.js";
import { session } from "./lib/api.js";
import { match, useLocation } from "./lib/router.js";
import { useLiveStatus } from "./lib/live.js";
import { Page } from "./lib/components.js";
import { Overview } from "./views/overview.js";
import { Agents } from "./views/agents.js";
import { AgentDetail } from "./views/agent.js";
import { Runs } from "./views/runs.js";
import { RunDetail } from "./views/run.js";
import { Usage } from "./views/usage.js";

const VIEWS = {
  overview: [Overview, "overview", "Overview"],
  agents: [Agents, "agents", "Agents"],
  agent: [AgentDetail, "agents", "Agent"],
  runs: [Runs, "runs", "Runs"],
  run: [RunDetail, "runs", "Run"],
  usage: [Usage, "usage", "Usage"],
};

const NAV = [
  ["/", "overview", "Overview"],
  ["/agents", "agents", "Agents"],
  ["/runs", "runs", "Runs"],
  ["/usage", "usage", "Usage"],
];

function LiveDot() {
  const status = useLiveStatus();
  const label = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…" }[status];
  return html`<span class="live-dot ${status}" data-testid="live-status" data-status=${status}
    title="Live updates over WebSocket">${label}</span>`;
}

// The signed-in tenant and a sign-out button (shown only when the server has access control).
function Session() {
  const [who, setWho] = useState(null);
  useEffect(() => {
    session().then(setWho);
  }, []);
  if (!who || !who.tenant) return null;
  return html`<form class="session" method="post" action="/auth/sign-out" data-testid="session">
    <span title=${`scopes: ${who.scopes.join(", ")}`}>${who.tenant}</span>
    <button type="submit" class="link">Sign out</button>
  </form>`;
}

function NotFound() {
  return html`<${Page} view="notfound" state="error" title="Not found">
    <div class="error-box" data-testid="error">No view at ${location.pathname}. <a href="/">Overview</a></div>
  <//>`;
}

function App() {
  const loc = useLocation();
  const { view, param } = match(loc.pathname);
  const [Component, section, title] = VIEWS[view] || [NotFound, "", "Not found"];
  document.title = param ? `${param} · ${title} · crewscope` : `${title} · crewscope`;
  return html`
    <header class="top">
      <a class="brand" href="/">crewscope</a>
      <nav>${NAV.map(([href, key, label]) =>
        html`<a href=${href} class=${key === section ? "active" : ""}
          aria-current=${key === section ? "page" : undefined}>${label}</a>`)}</nav>
      <${LiveDot} />
      <${Session} />
    </header>
    <${Component} key=${loc.pathname} param=${param} search=${loc.search} />`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
