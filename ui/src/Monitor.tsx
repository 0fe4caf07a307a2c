import { useState } from "react";
import { Logs } from "./monitor/Logs";
import { Maintenance } from "./monitor/Maintenance";
import { Runbooks } from "./monitor/Runbooks";

export function Monitor() {
  const [tab, setTab] = useState<"maintenance" | "logs" | "runbooks">("maintenance");
  return (
    <div className="page">
      <div className="page-head">
        <h2>Monitor</h2>
        <div className="segmented">
          {(["maintenance", "logs", "runbooks"] as const).map((t) => (
            <button key={t} data-testid={`monitor-${t}`} className={tab === t ? "on" : ""} onClick={() => setTab(t)}>{t[0].toUpperCase() + t.slice(1)}</button>
          ))}
        </div>
      </div>
      {tab === "maintenance" && <Maintenance />}
      {tab === "logs" && <Logs />}
      {tab === "runbooks" && <Runbooks />}
    </div>
  );
}
