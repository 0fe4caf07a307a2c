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
import type { PlanConfig } from "../bindings/PlanConfig";
import type { PlanStatus } from "../bindings/PlanStatus";

const isLocal = (repository: string) => repository.startsWith("/");
const sameFolders = (a: PlanConfig, b: PlanConfig) => [...a.sources].sort().join("\n") === [...b.sources].sort().join("\n");

/** The plan that keeps an offsite copy of `p`'s folders: remote, same folders. */
export function offsiteCopy(p: PlanStatus, plans: PlanStatus[]): PlanStatus | null {
  if (!isLocal(p.plan.repository)) return null;
  return plans.find((q) => q !== p && !isLocal(q.plan.repository) && sameFolders(p.plan, q.plan)) ?? null;
}

export function Backups() {
  const overview = useCommand("backups_overview", {}, { refetchOn: ["backup_finished"] });
  const [adding, setAdding] = useState(false);
  const [offsiteOf, setOffsiteOf] = useState<PlanConfig | null>(null);
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
      {(plans.length === 0 || adding) && !offsiteOf && <Wizard onDone={() => { setAdding(false); reload(); }} onCancel={plans.length > 0 ? () => setAdding(false) : undefined} />}
      {offsiteOf && <Wizard key={offsiteOf.name} from={offsiteOf} onDone={() => { setOffsiteOf(null); reload(); }} onCancel={() => setOffsiteOf(null)} />}
      {browsed && <Browser key={browsed.plan.name} plan={browsed.plan.name} onClose={() => setBrowsing(null)} />}
      {plans.map((p) => (
        <PlanCard key={p.plan.name} p={p} job={job} macos={macos} onBrowse={() => setBrowsing(p.plan.name)} onChanged={reload}
          offsite={isLocal(p.plan.repository) ? { copy: offsiteCopy(p, plans), add: () => setOffsiteOf(p.plan) } : undefined} />
      ))}
      {plans.length > 0 && !adding && <button onClick={() => setAdding(true)}>Add a plan</button>}
      <TimeMachineLine tm={time_machine} />
      {history.length > 0 && <History runs={history} />}
    </div>
  );
}
