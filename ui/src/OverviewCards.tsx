// The Overview's parts that a host sample does not change. Each is memoised on the slice of the
// snapshot it shows, so a sample (every few seconds) re-renders none of them.
import { memo } from "react";
import type { Alert } from "./bindings/Alert";
import type { Capability } from "./bindings/Capability";
import type { CheckState } from "./bindings/CheckState";
import type { DiskSample } from "./bindings/DiskSample";
import type { DiskForecast } from "./bindings/DiskForecast";
import { bytes } from "./format";
import { useCommand } from "./state/useCommand";

type Open = (page: "services" | "alerts") => void;

export const AlertsCard = memo(function AlertsCard({ alerts, onOpen }: { alerts: Alert[]; onOpen: Open }) {
  return (
    <div className="card">
      <div className="card-title">
        Active alerts
        <button className="link" onClick={() => onOpen("alerts")}>Open Alerts</button>
      </div>
      {alerts.length === 0 && <div className="dim" data-testid="overview-no-alerts">All clear.</div>}
      {alerts.slice(0, 4).map((a) => (
        <div key={a.id} className="mini-alert" data-testid="overview-alert">
          <span className={`sev ${a.severity}`}>{a.severity}</span>
          <span className="name">{a.title}</span>
          <span className="dim">{a.status}</span>
        </div>
      ))}
    </div>
  );
});

export const ServicesCard = memo(function ServicesCard({ checks, onOpen }: { checks: CheckState[]; onOpen: Open }) {
  return (
    <div className="card">
      <div className="card-title">
        Services
        <button className="link" onClick={() => onOpen("services")}>Open Services</button>
      </div>
      <div className="mini-tiles">
        {checks.map((c) => {
          const st = c.config.enabled ? c.latest?.status ?? "pending" : "disabled";
          return (
            <div key={c.config.name} className="mini-tile" data-testid={`overview-check-${c.config.name}`} title={c.latest?.error_message ?? c.target}>
              <span className={`dot ${st}`} />
              <span className="name">{c.config.name}</span>
              <span className="dim">{st === "healthy" && c.latest?.latency_ms != null ? `${c.latest.latency_ms.toFixed(0)} ms` : st}</span>
            </div>
          );
        })}
        {checks.length === 0 && <div className="dim">No checks configured.</div>}
      </div>
    </div>
  );
});

export const Capabilities = memo(function Capabilities({ capabilities }: { capabilities: Capability[] }) {
  return (
    <section className="capabilities">
      {capabilities.map((c) => (
        <div key={c.id} className={`card capability ${c.available ? "on" : "soon"}`} data-testid={`capability-${c.id}`}>
          <div className="cap-head">
            <span>{c.name}</span>
            <span className={`badge ${c.available ? "ok" : ""}`}>{c.available ? "Active" : "Coming soon"}</span>
          </div>
          <p>{c.summary}</p>
        </div>
      ))}
    </section>
  );
});

/** What a disk's trend over the last week says, in words. */
export function forecastWords(f: DiskForecast | undefined): { text: string; warn: boolean } {
  if (!f || f.growth_bytes_per_day === null) return { text: "Trend after a day of history", warn: false };
  const days = f.days_to_full;
  if (days === null) return { text: f.growth_bytes_per_day < 0 ? "Freeing up" : "Steady", warn: false };
  const when = days < 1 ? `about ${Math.max(1, Math.round(days * 24))} hours` : `about ${Math.round(days)} days`;
  return { text: `Full in ${when} at ${bytes(f.growth_bytes_per_day)} a day`, warn: days < 14 };
}

/** Each volume with its space and, from the last week's trend, when it is full at this pace. */
export function Volumes({ disks }: { disks: DiskSample[] }) {
  // The trend moves hourly: read again when an alert changes (a forecast alert among them).
  const forecasts = useCommand("disk_forecasts", {}, { refetchOn: ["alert_changed"] });
  return (
    <div className="card">
      <div className="card-title">Volumes</div>
      {disks.map((d) => {
        const trend = forecastWords(forecasts.data?.find((f) => f.mount_point === d.mount_point));
        return (
          <div key={d.mount_point} className="volume" data-testid={`volume-${d.mount_point}`}>
            <div className="volume-head">
              <span className="name">{d.mount_point}</span>
              <span className="dim">{bytes(d.used_bytes)} of {bytes(d.total_bytes)}</span>
            </div>
            <div className="bar"><div className={`fill ${d.used_percent >= 95 ? "crit" : d.used_percent >= 85 ? "warn" : "ok"}`} style={{ width: `${Math.min(100, d.used_percent)}%` }} /></div>
            {forecasts.data && <div className={trend.warn ? "warn-text" : "dim"} data-testid="volume-trend">{trend.text}</div>}
          </div>
        );
      })}
    </div>
  );
}
