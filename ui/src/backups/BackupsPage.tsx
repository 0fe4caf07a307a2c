import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { useEngineEvent } from "../state/bus";
import { useCommand } from "../state/useCommand";
import { Browser } from "./Browser";
import { History } from "./History";
import { JobBar } from "./JobBar";
import { PlanCard } from "./PlanCard";
import { TimeMachineLine } from "./Unreadable";
import { Wizard } from "./Wizard";

export function Backups() {
  const overview = useCommand("backups_overview", {}, { refetchOn: ["backup_finished"] });
  const [adding, setAdding] = useState(false);
  const [browsing, setBrowsing] = useState<string | null>(null);
  const reload = () => void overview.refetch();

  // Progress comes with the event; the finished run is read back with the overview.
  useEngineEvent((e) => {
    if (e.type === "backup_progress") overview.setData((o) => o && { ...o, job: e.job });
    if (e.type === "backup_finished") overview.setData((o) => o && { ...o, job: null });
  });

  if (!overview.data) {
    return overview.error ? <div className="card"><ErrorNote error={overview.error} /></div> : <div className="loading">Loading backups…</div>;
  }
  const { plans, job, history, macos, time_machine } = overview.data;
  const browsed = plans.find((p) => p.plan.name === browsing);
  return (
    <div className="page backups" data-testid="backups-page">
      {job && <JobBar job={job} />}
      {(plans.length === 0 || adding) && <Wizard onDone={() => { setAdding(false); reload(); }} onCancel={plans.length > 0 ? () => setAdding(false) : undefined} />}
      {browsed && <Browser key={browsed.plan.name} plan={browsed.plan.name} onClose={() => setBrowsing(null)} />}
      {plans.map((p) => (
        <PlanCard key={p.plan.name} p={p} job={job} macos={macos} onBrowse={() => setBrowsing(p.plan.name)} onChanged={reload} />
      ))}
      {plans.length > 0 && !adding && <button onClick={() => setAdding(true)}>Add a plan</button>}
      <TimeMachineLine tm={time_machine} />
      {history.length > 0 && <History runs={history} />}
    </div>
  );
}
