// Pure helpers that shape engine series for charts. No decisions about the data live here:
// which table, which buckets and which values are the engine's.
import type { SeriesPoint } from "../bindings/SeriesPoint";
import type { SeriesResult } from "../bindings/SeriesResult";

export interface Range {
  id: string;
  label: string;
  secs: number;
  live: boolean;
}

export const RANGES: Range[] = [
  { id: "15m", label: "15 min", secs: 15 * 60, live: true },
  { id: "1h", label: "1 h", secs: 3600, live: false },
  { id: "24h", label: "24 h", secs: 86400, live: false },
  { id: "7d", label: "7 d", secs: 7 * 86400, live: false },
  { id: "30d", label: "30 d", secs: 30 * 86400, live: false },
  // From the hour rollups (kept two years by default).
  { id: "90d", label: "90 d", secs: 90 * 86400, live: false },
  { id: "1y", label: "1 y", secs: 365 * 86400, live: false },
  { id: "2y", label: "2 y", secs: 730 * 86400, live: false },
];

export interface LineSpec {
  metric: string;
  labels: string;
  label: string;
  color: string;
}

export const key = (metric: string, labels: string) => `${metric}|${labels}`;

/** Appends live points to a result, keeping only the window's span. Returns a new result. */
export function appendLive(result: SeriesResult, points: SeriesPoint[], ts: number, windowMs: number): SeriesResult {
  const byKey = new Map(result.series.map((s) => [key(s.metric, s.labels), s]));
  const series = result.series.map((s) => ({ ...s, ts: [...s.ts], values: [...s.values] }));
  const idx = new Map(series.map((s, i) => [key(s.metric, s.labels), i]));
  for (const p of points) {
    const k = key(p.metric, p.labels);
    let i = idx.get(k);
    if (i === undefined) {
      series.push({ metric: p.metric, labels: p.labels, unit: p.unit, ts: [], values: [] });
      i = series.length - 1;
      idx.set(k, i);
    }
    const s = series[i];
    if (s.ts.length === 0 || s.ts[s.ts.length - 1] < ts) {
      s.ts.push(ts);
      s.values.push(p.value);
    }
  }
  const cutoff = ts - windowMs;
  for (const s of series) {
    let drop = 0;
    while (drop < s.ts.length && s.ts[drop] < cutoff) drop++;
    if (drop > 0) {
      s.ts.splice(0, drop);
      s.values.splice(0, drop);
    }
  }
  void byKey;
  return { ...result, until_ms: ts, since_ms: cutoff, series };
}

/** uPlot's aligned columns: shared x (seconds) and one y column per line (null where missing). */
export function toAligned(result: SeriesResult | null, lines: LineSpec[]): (number | null)[][] {
  const cols = lines.map((l) => result?.series.find((s) => s.metric === l.metric && s.labels === l.labels));
  const seen = Array.from(new Set(cols.flatMap((c) => c?.ts ?? []))).sort((a, b) => a - b);
  // Where the engine was not running, break the line instead of drawing across the gap.
  const gap = (result?.step_ms ?? Infinity) * 3;
  const xs: number[] = [];
  seen.forEach((x, i) => {
    if (i > 0 && x - seen[i - 1] > gap) xs.push(seen[i - 1] + 1);
    xs.push(x);
  });
  const pos = new Map(xs.map((x, i) => [x, i]));
  const ys = cols.map((c) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    c?.ts.forEach((t, i) => {
      const p = pos.get(t);
      if (p !== undefined) col[p] = c.values[i];
    });
    return col;
  });
  return [xs.map((x) => x / 1000), ...ys];
}
