import { memo } from "react";
import type { EngineStatus } from "../bindings/EngineStatus";
import { ago } from "../format";
import { agoNextChangeIn, useNow } from "../state/clock";

// A sample this much later than due means the sampler fell behind.
const lateAfter = (e: EngineStatus) => e.metrics_interval_secs * 3000 + 5000;

function health(e: EngineStatus | undefined, now: number) {
  if (!e) return { cls: "idle", text: "Starting…" };
  if (e.state !== "running") return { cls: "crit", text: `Engine ${e.state}` };
  if (e.last_error) return { cls: "warn", text: e.last_error };
  if (e.last_sample_ms === null) return { cls: "idle", text: "Waiting for the first sample" };
  const late = now - e.last_sample_ms > lateAfter(e);
  return late ? { cls: "warn", text: `Last sample ${ago(e.last_sample_ms, now)}` } : { cls: "ok", text: `Live · sampled ${ago(e.last_sample_ms, now)}` };
}

/** The top bar's pill: the engine's state and how fresh its last sample is. Owns its clock. */
export const EngineHealth = memo(function EngineHealth({ engine }: { engine: EngineStatus | undefined }) {
  const last = engine?.state === "running" && !engine.last_error ? engine.last_sample_ms : null;
  const now = useNow((n) => {
    if (last === null || !engine) return Infinity;
    const untilLate = last + lateAfter(engine) + 1 - n;
    return untilLate > 0 ? Math.min(untilLate, agoNextChangeIn(last, n)) : agoNextChangeIn(last, n);
  });
  const h = health(engine, now);
  return (
    <div className={`pill ${h.cls}`} data-testid="engine-health" title={engine?.data_dir}>
      <span className="dot" />
      {h.text}
    </div>
  );
});
