// Number, duration, cost and time formatting: one place, so every view reads the same.
const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

export const DASH = "–";

export function num(value) {
  return value === null || value === undefined ? DASH : int.format(value);
}

export function pct(value) {
  return value === null || value === undefined ? DASH : `${dec1.format(value)} %`;
}

export function ms(value) {
  if (value === null || value === undefined) return DASH;
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${int.format(value)} ms`;
  if (value < 60000) return `${(value / 1000).toFixed(2)} s`;
  const minutes = Math.floor(value / 60000);
  return `${minutes} min ${Math.round((value % 60000) / 1000)} s`;
}

export function cost(value) {
  if (value === null || value === undefined) return DASH;
  if (value === 0) return "$0";
  return value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(4)}`;
}

export function mb(value) {
  return value === null || value === undefined ? DASH : `${dec1.format(value)} MB`;
}

export function tokens(input, output) {
  if ((input ?? null) === null && (output ?? null) === null) return DASH;
  return `${num(input ?? 0)} in / ${num(output ?? 0)} out`;
}

const timeFmt = new Intl.DateTimeFormat("en-GB", {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export function when(iso) {
  if (!iso) return DASH;
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return Number.isNaN(d.getTime()) ? DASH : timeFmt.format(d);
}

const clockFmt = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// the time of day; the date too when it is not today
export function clock(iso) {
  if (!iso) return DASH;
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return d.toDateString() === new Date().toDateString() ? clockFmt.format(d) : timeFmt.format(d);
}

export function ago(iso) {
  if (!iso) return DASH;
  const t = typeof iso === "number" ? iso * 1000 : Date.parse(iso);
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// data-value: the raw number for tests and copy-paste, "" when null.
export function raw(value) {
  return value === null || value === undefined ? "" : String(value);
}

// "Type: message" without repeating a type the message already starts with.
export function errorText(type, message) {
  const t = type || "error";
  const m = message || "";
  return m.startsWith(t) ? m : m ? `${t}: ${m}` : t;
}
