// The live feed: one WebSocket to /api/v1/monitoring/live shared by every view, reconnecting
// with backoff; views subscribe to its messages while they are on screen.
import { useEffect, useRef, useState } from "./ui.js";
import { API } from "./api.js";

const messageListeners = new Set();
const statusListeners = new Set();
let socket = null;
let status = "connecting";
let attempts = 0;

function setStatus(next) {
  status = next;
  statusListeners.forEach((fn) => fn(next));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${API}/live`);
  socket.onopen = () => {
    attempts = 0;
    setStatus("live");
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    messageListeners.forEach((fn) => fn(message));
  };
  socket.onclose = () => {
    socket = null;
    setStatus("reconnecting");
    const delay = Math.min(10000, 500 * 2 ** attempts++);
    setTimeout(connect, delay);
  };
}

function ensureConnected() {
  if (socket === null && status !== "reconnecting") connect();
}

// handler(message) for every message while the component is mounted (latest closure used).
export function useLive(handler) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    ensureConnected();
    const fn = (m) => ref.current(m);
    messageListeners.add(fn);
    return () => messageListeners.delete(fn);
  }, []);
}

export function useLiveStatus() {
  const [value, setValue] = useState(status);
  useEffect(() => {
    ensureConnected();
    statusListeners.add(setValue);
    return () => statusListeners.delete(setValue);
  }, []);
  return value;
}

// One line of activity from an event or log message, for the activity lists.
export function activityLine(m) {
  if (m.type === "log") {
    return { t: m.timestamp, kind: "log", status: m.severity, text: m.body, agent: m.agent, run: m.run_id };
  }
  if (m.type !== "event") return null;
  const d = m.data || {};
  const who = m.agent ? `${m.agent}: ` : "";
  const texts = {
    llm_call: () => `LLM ${d.model || "call"} ${d.total_tokens ?? 0} tokens`,
    tool_call: () => `tool ${d.tool || m.name}`,
    agent_step: () => `step ${d.index ?? ""} ${d.type || ""}`.trim(),
    task_completed: () => `finished ${m.task || "task"}`,
    run_completed: () => `crew ${m.crew || ""} finished`,
    flow_completed: () => `flow finished (${m.name})`,
    memory: () => `memory ${d.operation || ""}`,
  };
  const text = (texts[m.event] || (() => m.name))();
  const error = d.status === "error" ? ` — ${d.error_type || "error"}: ${d.error_message || ""}` : "";
  return {
    t: m.timestamp, kind: m.event, status: d.status, text: who + text + error,
    agent: m.agent, run: m.run_id,
  };
}
