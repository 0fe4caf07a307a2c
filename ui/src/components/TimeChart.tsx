import { memo, useEffect, useLayoutEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { SeriesResult } from "../bindings/SeriesResult";
import { formatValue } from "../format";
import { toAligned, type LineSpec } from "../state/series";
import { cssVar } from "../theme";

interface Props {
  title: string;
  unit: string;
  lines: LineSpec[];
  result: SeriesResult | null;
  max?: number;
  testId?: string;
}

const RESOLUTION_LABEL: Record<SeriesResult["resolution"], string> = { raw: "raw", minute: "1 min", five_minutes: "5 min", hour: "1 h" };

export const TimeChart = memo(function TimeChart({ title, unit, lines, result, max, testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo(() => toAligned(result, lines), [result, lines]);
  // The x axis always spans the chosen window, however few points it holds yet.
  const span = useRef<[number, number]>([0, 1]);
  if (result) span.current = [result.since_ms / 1000, result.until_ms / 1000];
  const shape = lines.map((l) => l.metric + l.labels + l.color).join(",") + unit + (max ?? "");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 }, ticks: { stroke: cssVar("--grid") } };
    const opts: uPlot.Options = {
      width: el.clientWidth || 400,
      height: 180,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => span.current }, y: max !== undefined ? { range: [0, max] } : { range: (_u, _min, mx) => [0, mx > 0 ? mx * 1.1 : unit.startsWith("bytes") ? 1024 : 1] } },
      axes: [
        { ...axis },
        { ...axis, size: 90, values: (_u, vals) => vals.map((v) => formatValue(unit, v)) },
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 1.6,
          fill: l.color + "22",
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : formatValue(unit, v)),
        })),
      ],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuild only when the chart's shape changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  // Drawn before the browser paints the rest of the sample, so a sample costs one frame, not two.
  useLayoutEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const empty = (data[0]?.length ?? 0) === 0;
  return (
    <div className="card chart" data-testid={testId}>
      <div className="card-title">
        {title}
        {result && <span className="resolution" data-testid={testId ? `${testId}-resolution` : undefined}>{RESOLUTION_LABEL[result.resolution]}</span>}
      </div>
      <div ref={box} className="chart-box" />
      {empty && <div className="chart-empty">{result ? "No data in this range yet" : "Loading…"}</div>}
    </div>
  );
});
