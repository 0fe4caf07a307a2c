const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function bytes(n: number): string {
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 || v >= 10 ? 0 : 1)} ${UNITS[i]}`;
}

export const rate = (n: number) => `${bytes(n)}/s`;
export const pct = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} %`;

export function duration(secs: number): string {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function formatValue(unit: string, v: number): string {
  switch (unit) {
    case "percent":
      return pct(v);
    case "bytes":
      return bytes(v);
    case "bytes_per_second":
      return rate(v);
    case "celsius":
      return `${v.toFixed(0)} °C`;
    default:
      return v.toFixed(2);
  }
}
