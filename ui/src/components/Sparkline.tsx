/** A tiny latency line; gaps where a run had no latency. */
export function Sparkline({ values, width = 120, height = 28 }: { values: (number | null)[]; width?: number; height?: number }) {
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length < 2) return <svg width={width} height={height} className="sparkline" aria-hidden="true" />;
  const max = Math.max(...nums, 1);
  const step = width / Math.max(1, values.length - 1);
  const pts = values.map((v, i) => (v === null ? null : `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`));
  const segments: string[] = [];
  let cur: string[] = [];
  pts.forEach((p) => {
    if (p === null) {
      if (cur.length) segments.push(cur.join(" "));
      cur = [];
    } else cur.push(p);
  });
  if (cur.length) segments.push(cur.join(" "));
  return (
    <svg width={width} height={height} className="sparkline" aria-label={`latency, max ${max.toFixed(0)} ms`}>
      {segments.map((s, i) => (
        <polyline key={i} points={s} fill="none" stroke="var(--accent)" strokeWidth="1.5" />
      ))}
    </svg>
  );
}
