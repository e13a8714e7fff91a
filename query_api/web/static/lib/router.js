// Client-side routing over real URLs: every view has its own address, shareable and
// restorable (the server answers each with the same shell).
import { useEffect, useState } from "./ui.js";

const ROUTES = [
  ["overview", /^\/$/],
  ["agents", /^\/agents\/?$/],
  ["agent", /^\/agents\/(.+)$/],
  ["runs", /^\/runs\/?$/],
  ["run", /^\/runs\/([^/]+)$/],
  ["usage", /^\/usage\/?$/],
];

export function match(pathname) {
  for (const [view, pattern] of ROUTES) {
    const m = pattern.exec(pathname);
    if (m) return { view, param: m[1] === undefined ? null : decodeURIComponent(m[1]) };
  }
  return { view: "notfound", param: null };
}

const listeners = new Set();

function current() {
  return { pathname: location.pathname, search: location.search };
}

export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", url);
  listeners.forEach((fn) => fn(current()));
  if (!replace) window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => listeners.forEach((fn) => fn(current())));

// Same-origin links to views navigate without a reload (API, docs and assets load normally).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (/^\/(api|docs|redoc|ui|metrics|openapi\.json)/.test(url.pathname)) return;
  if (match(url.pathname).view === "notfound") return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

export function useLocation() {
  const [loc, setLoc] = useState(current());
  useEffect(() => {
    listeners.add(setLoc);
    return () => listeners.delete(setLoc);
  }, []);
  return loc;
}

// The view's state in the URL query string: read as an object, written with a patch
// (empty values removed); replace=true for typing, false for deliberate steps.
export function queryParams(search) {
  return Object.fromEntries(new URLSearchParams(search));
}

export function setQuery(patch, { replace = false } = {}) {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || value === null || value === "") params.delete(key);
    else params.set(key, value);
  }
  const qs = params.toString();
  navigate(location.pathname + (qs ? `?${qs}` : ""), { replace });
}

export const runHref = (id) => `/runs/${encodeURIComponent(id)}`;
export const agentHref = (name) => `/agents/${encodeURIComponent(name)}`;
