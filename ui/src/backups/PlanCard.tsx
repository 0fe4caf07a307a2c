import { useState } from "react";
import type { JobInfo } from "../bindings/JobInfo";
import type { PlanStatus } from "../bindings/PlanStatus";
import { ErrorNote } from "../components/ErrorNote";
import { Ago } from "../components/Ago";
import { ago, bytes, duration } from "../format";
import { untilNextChangeIn, useNow } from "../state/clock";
import { call, useAction } from "../state/useCommand";
import { PasswordEntry } from "./PasswordEntry";
import { PlanEditor } from "./PlanEditor";
import { FullDiskAccessNote, runStatus, UnreadableList } from "./Unreadable";

// The engine's health words, as the pill colours of the top bar.
const HEALTH_PILL: Record<string, string> = { ok: "ok", running: "idle", never: "idle", overdue: "warn", partial: "warn", failing: "crit" };

function When({ ms }: { ms: number }) {
  const now = useNow((n) => untilNextChangeIn(ms, n));
  return ms <= now ? ago(ms, now) : `in ${duration(Math.round((ms - now) / 1000))}`;
}

interface Props {
  p: PlanStatus;
  job: JobInfo | null;
  macos: boolean;
  onBrowse: () => void;
  onChanged: () => void;
  /** A plan on this machine: the plan keeping its offsite copy (or none yet), and how to add one. */
  offsite?: { copy: PlanStatus | null; add: () => void };
}

export function PlanCard({ p, job, macos, onBrowse, onChanged, offsite }: Props) {
  const action = useAction();
  const name = p.plan.name;
  const act = async (work: () => Promise<unknown>) => {
    if (await action.run(work)) onChanged();
  };
  const remove = () => {
    if (confirm(`Remove the plan "${name}"? Its repository and snapshots stay on disk.`)) void act(() => call("delete_backup_plan", { name }));
  };
  // A REST server's password or an S3 secret key can change on the server's side; it is replaced here.
  const rest = p.plan.repository.startsWith("rest:");
  const s3 = p.plan.repository.startsWith("s3:");
  const [serverEntry, setServerEntry] = useState(false);
  const askPassword = (reason: string) => <PasswordEntry plan={name} reason={reason} onSaved={() => { action.clear(); onChanged(); }} />;
  const last = p.last_run;
  const [editing, setEditing] = useState(false);
  const [ownData, setOwnData] = useState<string | null>(null);
  const restoreOwnData = () => {
    if (!confirm(`Put back Caretaker's own database and settings from the latest snapshot of "${name}"? They take effect when Caretaker next starts; the current ones are kept beside them.`)) return;
    void action.run(async () => setOwnData((await call("restore_own_data", { plan: name, snapshot: null })).message));
  };
  if (editing) return <PlanEditor plan={p.plan} onSaved={() => { setEditing(false); onChanged(); }} onCancel={() => setEditing(false)} />;

  return (
    <div className="card" data-testid="plan-card" data-plan={name}>
      <div className="row spread">
        <div className="card-title">{name}</div>
        <span className={`pill ${HEALTH_PILL[p.health] ?? "idle"}`} data-testid="plan-health" title={p.health_message}><span className="dot" />{p.health_message}</span>
      </div>
      <div className="kv">
        <span>Folders</span><span className="mono">{p.plan.sources.join(", ")}</span>
        <span>Repository</span><span className="mono">{p.plan.repository}</span>
        <span>Schedule</span><span>{p.plan.schedule}{p.plan.upload_limit_kib > 0 && ` · uploads at most ${p.plan.upload_limit_kib} KiB/s`}</span>
        <span>Last run</span>
        <span data-testid="plan-last-run">
          {last ? <>{runStatus(last)} · <Ago ms={last.finished_ms ?? last.started_ms} /></> : "never"}
          {(last?.status === "ok" || last?.status === "partial") && ` · ${last.files_new} new, ${last.files_changed} changed, ${bytes(last.bytes_added)} added`}
          {last?.error && ` · ${last.error}`}
        </span>
        <span>Next run</span><span>{p.next_run_ms === null ? "—" : <When ms={p.next_run_ms} />}{p.paused && <span className="warn-text" data-testid="plan-paused"> · {p.paused}</span>}</span>
        <span>Repository size</span><span>{p.repository_bytes !== null ? bytes(p.repository_bytes) : "—"}</span>
        {offsite && <>
          <span>Offsite copy</span>
          <span data-testid="plan-offsite">
            {offsite.copy
              ? <>{offsite.copy.plan.name} · {offsite.copy.health_message}</>
              : <span className="warn-text">none: a fire or a theft would take this Mac and its backup disk together</span>}
          </span>
        </>}
        <span>Last check</span><span>{p.last_check ? <>{p.last_check.status}{p.last_check.read_data ? " (data read back)" : ""} · <Ago ms={p.last_check.started_ms} /></> : "not yet"}</span>
      </div>
      {last && <UnreadableList run={last} />}
      {last && <FullDiskAccessNote run={last} macos={macos} />}
      {p.password === "file" && <p className="warn-text">No keychain here: the repository password is in a private file in Caretaker's data folder.</p>}
      {p.password === "missing" && askPassword("The repository password is not in the keychain, so this plan cannot run.")}
      <ErrorNote error={action.error} onRefresh={onChanged} actions={{ wrong_password: askPassword("The saved password does not open this repository.") }} />
      {ownData && <p className="ok-text" data-testid="own-data-ready">{ownData}</p>}
      {serverEntry && <PasswordEntry plan={name} server reason={s3 ? "The bucket's secret access key, kept in the keychain." : "The REST server's password, kept in the keychain."} onSaved={() => { setServerEntry(false); onChanged(); }} />}
      <div className="row">
        <button data-testid="backup-now" className="primary" disabled={job !== null} onClick={() => void act(() => call("backup_now", { plan: name }))}>Back up now</button>
        <button data-testid="restore-open" onClick={onBrowse}>Restore…</button>
        <button disabled={job !== null} onClick={() => void act(() => call("verify_backup", { plan: name, readData: false }))}>Verify</button>
        <button data-testid="plan-edit" onClick={() => setEditing(true)}>Change…</button>
        {offsite && !offsite.copy && <button data-testid="plan-offsite-add" onClick={offsite.add}>Add an offsite copy…</button>}
        {(rest || s3) && <button data-testid="server-password-open" onClick={() => setServerEntry(!serverEntry)}>{s3 ? "Secret key…" : "Server password…"}</button>}
        {p.plan.include_caretaker_data && <button data-testid="own-data-restore" disabled={job !== null || action.busy} onClick={restoreOwnData}>Restore Caretaker's data…</button>}
        <button onClick={remove}>Remove plan</button>
      </div>
    </div>
  );
}
