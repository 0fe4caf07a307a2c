import { memo } from "react";
import type { EngineStatus } from "../bindings/EngineStatus";
import { ago } from "../format";
import { agoNextChangeIn, useNow } from "../state/clock";

// A sample this much later than due means the sampler fell behind.
/** "14:03:07", local time, the same everywhere (no locale). */
export function timeOfDay(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

const lateAfter = (e: EngineStatus) => e.metrics_interval_secs * 3000 + 5000;

function health(e: EngineStatus | undefined, now: number) {
  if (!e) return { cls: "idle", text: "Starting…" };
  if (e.state !== "running") return { cls: "crit", text: `Engine ${e.state}` };
  if (e.last_error) return { cls: "warn", text: e.last_error };
  if (e.last_sample_ms === null) return { cls: "idle", text: "Waiting for the first sample" };
  const late = now - e.last_sample_ms > lateAfter(e);
  // On time, the pill names the sample's time of day: it changes with the sample, in the same
  // repaint, where a seconds counter would repaint the window every second.
  return late ? { cls: "warn", text: `Last sample ${ago(e.last_sample_ms, now)}` } : { cls: "ok", text: `Live · sampled at ${timeOfDay(e.last_sample_ms)}` };
}

/** The top bar's pill: the engine's state and how fresh its last sample is. Its clock wakes only to say samples are late. */
export const EngineHealth = memo(function EngineHealth({ engine }: { engine: EngineStatus | undefined }) {
  const last = engine?.state === "running" && !engine.last_error ? engine.last_sample_ms : null;
  const now = useNow((n) => {
    if (last === null || !engine) return Infinity;
    const untilLate = last + lateAfter(engine) + 1 - n;
    return untilLate > 0 ? untilLate : agoNextChangeIn(last, n);
  });
  const h = health(engine, now);
  return (
    <div className={`pill ${h.cls}`} data-testid="engine-health" title={engine?.data_dir}>
      <span className="dot" />
      {h.text}
    </div>
  );
});
