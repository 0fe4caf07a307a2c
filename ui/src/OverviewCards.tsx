// The Overview's parts that a host sample does not change. Each is memoised on the slice of the
// snapshot it shows, so a sample (every few seconds) re-renders none of them.
import { memo } from "react";
import type { Alert } from "./bindings/Alert";
import type { Capability } from "./bindings/Capability";
import type { CheckState } from "./bindings/CheckState";

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
