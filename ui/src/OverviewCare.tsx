// The Overview's "is my machine cared for" row: each backup plan's freshness and the last
// maintenance run, read from the engine and refreshed when a backup or a maintenance run ends.
import { memo } from "react";
import type { PlanStatus } from "./bindings/PlanStatus";
import type { RunReport } from "./bindings/RunReport";
import { useNow } from "./state/clock";
import { useCommand } from "./state/useCommand";

type Open = (page: "backups" | "monitor") => void;

/** "3 h ago", "2 d ago": how old the last good copy or run is, in the largest fitting unit. */
export function age(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return "just now";
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const HEALTH_CLASS: Record<string, string> = { ok: "ok", running: "ok", never: "warning", overdue: "warning", partial: "warning", failing: "critical" };

function PlanLine({ p, now }: { p: PlanStatus; now: number }) {
  return (
    <div className="mini-alert" data-testid="overview-plan" data-plan={p.plan.name}>
      <span className={`sev ${HEALTH_CLASS[p.health] ?? "warning"}`}>{p.health}</span>
      <span className="name">{p.plan.name}</span>
      <span className="dim" data-testid="overview-plan-age">
        {p.last_success_ms !== null ? `last good copy ${age(p.last_success_ms, now)}` : "no good copy yet"}
      </span>
    </div>
  );
}

function MaintenanceLine({ last, running, now }: { last: RunReport | null; running: boolean; now: number }) {
  const text = running
    ? "running now"
    : last
      ? `${last.status} ${age(last.ended_at ?? last.started_at, now)}${last.summary.failed > 0 ? `, ${last.summary.failed} task(s) failed` : ""}`
      : "not run yet";
  const cls = running || last?.status === "completed" ? "ok" : last ? "warning" : "info";
  return (
    <div className="mini-alert" data-testid="overview-maintenance">
      <span className={`sev ${cls}`}>maintenance</span>
      <span className="name">Last maintenance</span>
      <span className="dim">{text}</span>
    </div>
  );
}

/** Memoised: a host sample re-renders the Overview, not this card; its ages wake once a minute. */
export const CareCard = memo(function CareCard({ onOpen }: { onOpen: Open }) {
  const now = useNow(() => 60_000);
  const backups = useCommand("backups_overview", {}, { refetchOn: ["backup_finished"] });
  const maintenance = useCommand("maintenance_status", {}, { refetchOn: ["maintenance_complete"] });
  const plans = backups.data?.plans ?? [];
  return (
    <div className="card" data-testid="overview-care">
      <div className="card-title">
        Backups and maintenance
        <span>
          <button className="link" onClick={() => onOpen("backups")}>Open Backups</button>{" "}
          <button className="link" onClick={() => onOpen("monitor")}>Open Monitor</button>
        </span>
      </div>
      {backups.data && plans.length === 0 && <div className="dim" data-testid="overview-no-plans">No backup plan yet.</div>}
      {plans.map((p) => <PlanLine key={p.plan.name} p={p} now={now} />)}
      {maintenance.data && <MaintenanceLine last={maintenance.data.last_run} running={maintenance.data.running !== null} now={now} />}
    </div>
  );
});
