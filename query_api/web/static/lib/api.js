// The query API client: GET JSON under /api/v1/monitoring, errors with the API's message.
import { useEffect, useRef, useState } from "./ui.js";

export const API = "/api/v1/monitoring";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const where = (d.loc || []).filter((p) => p !== "query" && p !== "path").join(".");
        return where ? `${where}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return JSON.stringify(detail);
}

export function apiUrl(path, params = {}) {
  const url = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

// With access control on, a request refused for want of a credential (the sign-in cookie has
// gone or its token was revoked) sends the browser to the sign-in form, back here afterwards.
export function signIn() {
  const next = location.pathname + location.search;
  location.assign(`/auth/sign-in?next=${encodeURIComponent(next)}`);
}

// Who the browser is signed in as: {tenant, scopes}; tenant null when access control is off.
export async function session() {
  try {
    const response = await fetch("/auth/session", { headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

export async function getJSON(path, params = {}, signal = undefined) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `the crewscope server did not answer (${err.message})`);
  }
  if (response.status === 401) signIn();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.detail !== undefined) message = describe(body.detail);
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(response.status, message);
  }
  return response.json();
}

// Fetch several API resources at once: requests = {name: [path, params] | null}.
// Returns {data: {name: body}, error, loading, reload}; a newer key cancels an older fetch.
export function useApi(requests, key) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const id = ++latest.current;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    const names = Object.keys(requests).filter((n) => requests[n]);
    Promise.all(names.map((n) => getJSON(requests[n][0], requests[n][1] || {}, abort.signal)))
      .then((bodies) => {
        if (id !== latest.current) return;
        const data = {};
        names.forEach((n, i) => (data[n] = bodies[i]));
        setState({ data, error: null, loading: false });
      })
      .catch((error) => {
        if (error.name === "AbortError" || id !== latest.current) return;
        setState((s) => ({ data: s.data, error, loading: false }));
      });
    return () => abort.abort();
  }, [key, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
