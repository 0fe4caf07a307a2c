import type { MetricsConfig } from "../bindings/MetricsConfig";
import { bytes } from "../format";
import { useCommand } from "../state/useCommand";

/** Whether every number of the section is one the engine could take (a blank field is not). */
function complete(m: MetricsConfig): boolean {
  return Object.values(m).every((v) => typeof v !== "number" || Number.isFinite(v));
}

/**
 * The database's size now and what it levels off at with the values being edited, so a choice
 * ("every second, kept for a month") is seen in megabytes before it is saved.
 */
export function StorageEstimate({ metrics }: { metrics: MetricsConfig }) {
  const ok = complete(metrics);
  const estimate = useCommand("storage_estimate", { metrics }, { skip: !ok });
  const e = estimate.data;
  if (!ok || !e) return null;
  return (
    <p className="dim" data-testid="storage-estimate">
      Database now: {bytes(e.current_bytes)}. With these settings it levels off at about <strong>{bytes(e.estimated_bytes)}</strong>
      {e.series > 0 ? ` (${e.series} series sampled in the last hour` : " (no samples in the last hour yet"}
      {e.measured ? ")." : "; typical row sizes)."}
    </p>
  );
}
