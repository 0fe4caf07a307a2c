import { useCallback, useEffect, useRef, useState } from "react";
import type { BackupsOverview } from "./bindings/BackupsOverview";
import type { PlanStatus } from "./bindings/PlanStatus";
import type { JobInfo } from "./bindings/JobInfo";
import type { SnapshotInfo } from "./bindings/SnapshotInfo";
import type { TreeEntry } from "./bindings/TreeEntry";
import type { ConflictPolicy } from "./bindings/ConflictPolicy";
import type { RestoreOutcome } from "./bindings/RestoreOutcome";
import type { PlanConfig } from "./bindings/PlanConfig";
import { useEngineEvent } from "./state/bus";
import { ago, bytes, duration } from "./format";
import { asCommandError, platform, type CommandError } from "./platform";

const KEEP_DEFAULT = { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 };

function when(ms: number | null, now: number): string {
  if (ms === null) return "—";
  return ms <= now ? ago(ms, now) : `in ${duration(Math.round((ms - now) / 1000))}`;
}

/** First run: pick folders, a repository folder, and a password to write down. */
function Wizard({ onDone, onCancel }: { onDone: () => void; onCancel?: () => void }) {
  const [name, setName] = useState("Documents");
  const [sources, setSources] = useState("");
  const [repository, setRepository] = useState("");
  const [schedule, setSchedule] = useState("daily 02:00");
  const [password, setPassword] = useState("");
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);
  const [stored, setStored] = useState<string | null>(null);

  useEffect(() => {
    void (async () => {
      try {
        setPassword(await (await platform()).call("suggest_backup_password", {}));
      } catch (e) {
        setError(asCommandError(e));
      }
    })();
  }, []);

  const create = async () => {
    setBusy(true);
    setError(null);
    const plan: PlanConfig = {
      name: name.trim(),
      sources: sources.split("\n").map((s) => s.trim()).filter(Boolean),
      excludes: [],
      default_excludes: true,
      exclude_build_folders: false,
      repository: repository.trim(),
      schedule,
      keep: KEEP_DEFAULT,
      host: "",
      include_caretaker_data: true,
    };
    try {
      const r = await (await platform()).call("create_backup_plan", { plan, password });
      setStored(r.password_stored_in);
      if (r.password_stored_in === "keychain") onDone();
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };

  if (stored === "file") {
    return (
      <div className="card warn-card" data-testid="password-file-warning">
        <div className="card-title">Plan created</div>
        <p>No keychain is available on this machine, so the repository password is kept in a file only your user can read, in Caretaker's data folder. Keep your written copy somewhere else too.</p>
        <button onClick={onDone}>Done</button>
      </div>
    );
  }

  const exportPassword = () => {
    const blob = new Blob([`Caretaker backup repository\n${repository}\npassword: ${password}\n`], { type: "text/plain" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "caretaker-backup-password.txt";
    a.click();
  };

  return (
    <div className="card form" data-testid="backup-wizard">
      <div className="card-title">Set up a backup</div>
      <p className="dim">Backups are encrypted and deduplicated, in restic's format: the restic tool can read them too, without Caretaker.</p>
      <div className="grid2">
        <label>Plan name<input data-testid="wizard-name" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>When
          <select data-testid="wizard-schedule" value={schedule} onChange={(e) => setSchedule(e.target.value)}>
            <option value="hourly">every hour</option>
            <option value="daily 02:00">every day at 02:00</option>
            <option value="daily 12:30">every day at 12:30</option>
            <option value="manual">only when I press Back up now</option>
          </select>
        </label>
      </div>
      <label>Folders to back up (one absolute path per line)
        <textarea data-testid="wizard-sources" rows={3} placeholder="/Users/me/Documents" value={sources} onChange={(e) => setSources(e.target.value)} />
      </label>
      <label>Repository folder (an external disk, a mounted share, or a folder)
        <input data-testid="wizard-repository" placeholder="/Volumes/Backup/caretaker" value={repository} onChange={(e) => setRepository(e.target.value)} />
      </label>
      <label>Repository password
        <input data-testid="wizard-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <p className="warn-text">Write this password down or export it now. Without it, nobody (not even Caretaker on a new machine) can read these backups.</p>
      <div className="row">
        <button type="button" onClick={() => void navigator.clipboard?.writeText(password)}>Copy</button>
        <button type="button" onClick={exportPassword}>Export to a file…</button>
        <label className="check"><input type="checkbox" data-testid="wizard-saved" checked={saved} onChange={(e) => setSaved(e.target.checked)} /> I have saved the password</label>
      </div>
      <p className="dim">Caretaker's own database and settings are included in every plan.</p>
      {error && <pre className="error" data-testid="wizard-error">{error.message}</pre>}
      <div className="row">
        <button data-testid="wizard-create" className="primary" disabled={busy || !saved || !password || !sources.trim() || !repository.trim()} onClick={() => void create()}>
          {busy ? "Creating…" : "Create the plan"}
        </button>
        {onCancel && <button onClick={onCancel}>Cancel</button>}
      </div>
    </div>
  );
}

/** Bytes, files, rate and ETA; an unknown total is said, not guessed. */
function JobBar({ job, now }: { job: JobInfo; now: number }) {
  const first = useRef<{ at: number; bytes: number } | null>(null);
  if (!first.current || first.current.bytes > job.progress.bytes_done) first.current = { at: now, bytes: job.progress.bytes_done };
  const p = job.progress;
  const secs = Math.max(1, (now - first.current.at) / 1000);
  const rate = (p.bytes_done - first.current.bytes) / secs;
  const total = p.bytes_total;
  const pctDone = total ? Math.min(100, (100 * p.bytes_done) / Math.max(1, total)) : null;
  const eta = total && rate > 0 ? Math.round((total - p.bytes_done) / rate) : null;
  const cancel = async () => {
    try {
      await (await platform()).call("cancel_backup", {});
    } catch {
      /* already finished */
    }
  };
  return (
    <div className="job" data-testid="backup-progress">
      <div className="row spread">
        <span>
          <b>{job.kind === "forget" ? "Applying retention" : job.kind[0].toUpperCase() + job.kind.slice(1)}</b> · {job.plan} · {p.phase || "starting"}
        </span>
        <button data-testid="backup-cancel" onClick={() => void cancel()}>Cancel</button>
      </div>
      <div className={`bar ${pctDone === null ? "indeterminate" : ""}`}>
        <div style={{ width: `${pctDone ?? 100}%` }} />
      </div>
      <div className="dim">
        {bytes(p.bytes_done)} {total !== null ? `of ${bytes(total)}` : "(total not known yet)"}
        {p.files_total !== null ? ` · ${p.files_done} of ${p.files_total} files` : ""}
        {rate > 0 ? ` · ${bytes(rate)}/s` : ""}
        {eta !== null ? ` · about ${duration(eta)} left` : ""}
      </div>
    </div>
  );
}

function RestoreDialog({ plan, snapshot, entry, onClose }: { plan: string; snapshot: SnapshotInfo; entry: TreeEntry | null; onClose: () => void }) {
  const [dest, setDest] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<RestoreOutcome | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const what = entry ? entry.path : "the whole snapshot";
  const go = async (onConflict: ConflictPolicy | null) => {
    setBusy(true);
    setError(null);
    try {
      setResult(await (await platform()).call("restore_backup", { plan, snapshot: snapshot.id, path: entry?.path ?? "", destination: dest.trim(), onConflict }));
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card form" data-testid="restore-dialog">
      <div className="card-title">Restore {what}</div>
      <p className="dim">From the snapshot of {new Date(snapshot.time_ms).toLocaleString()}. Nothing is replaced without asking.</p>
      <label>Into the folder
        <input data-testid="restore-dest" placeholder="/Users/me/Restored" value={dest} onChange={(e) => setDest(e.target.value)} />
      </label>
      {result?.outcome === "conflict" && (
        <div className="warn-card" data-testid="restore-conflict">
          <p>{result.report.existing} file(s) already exist there, e.g. {result.report.examples.join(", ")}. Nothing was written. What should happen to them?</p>
          <div className="row">
            <button data-testid="conflict-skip" disabled={busy} onClick={() => void go("skip")}>Skip existing</button>
            <button data-testid="conflict-keep-both" disabled={busy} onClick={() => void go("keep_both")}>Keep both (restored copies get a dated name)</button>
            <button data-testid="conflict-overwrite" disabled={busy} onClick={() => void go("overwrite")}>Overwrite (after saving them in a safety snapshot)</button>
          </div>
        </div>
      )}
      {result?.outcome === "done" && (
        <div className="ok-text" data-testid="restore-done">
          Restored {result.summary.files_restored} file(s), {bytes(result.summary.bytes_restored)}
          {result.summary.files_skipped > 0 && `, skipped ${result.summary.files_skipped}`}
          {result.summary.files_renamed > 0 && `, ${result.summary.files_renamed} under a new name`}
          {result.summary.safety_snapshot && `; replaced files are in safety snapshot ${result.summary.safety_snapshot.slice(0, 8)}`}.
        </div>
      )}
      {error && <pre className="error" data-testid="restore-error">{error.message}</pre>}
      <div className="row">
        {result?.outcome !== "done" && (
          <button data-testid="restore-go" className="primary" disabled={busy || !dest.trim()} onClick={() => void go(null)}>
            {busy ? "Restoring…" : "Restore"}
          </button>
        )}
        <button onClick={onClose}>{result?.outcome === "done" ? "Close" : "Cancel"}</button>
      </div>
    </div>
  );
}

function Browser({ plan, onClose }: { plan: PlanStatus; onClose: () => void }) {
  const [snaps, setSnaps] = useState<SnapshotInfo[] | null>(null);
  const [snap, setSnap] = useState<SnapshotInfo | null>(null);
  const [path, setPath] = useState("");
  const [entries, setEntries] = useState<TreeEntry[] | null>(null);
  const [restoring, setRestoring] = useState<{ entry: TreeEntry | null } | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const name = plan.plan.name;

  useEffect(() => {
    void (async () => {
      try {
        setSnaps(await (await platform()).call("backup_snapshots", { plan: name }));
      } catch (e) {
        setError(asCommandError(e));
      }
    })();
  }, [name]);

  const open = useCallback(
    async (s: SnapshotInfo, p: string) => {
      setSnap(s);
      setPath(p);
      setEntries(null);
      try {
        setEntries(await (await platform()).call("backup_ls", { plan: name, snapshot: s.id, path: p }));
      } catch (e) {
        setError(asCommandError(e));
      }
    },
    [name],
  );

  const crumbs = path.split("/").filter(Boolean);
  return (
    <div className="card" data-testid="snapshot-browser">
      <div className="row spread">
        <div className="card-title">Snapshots of {name}</div>
        <button onClick={onClose}>Close</button>
      </div>
      {error && <pre className="error">{error.message}</pre>}
      {snaps === null && !error && <div className="dim">Reading the repository…</div>}
      {snaps?.length === 0 && <div className="dim">No snapshots yet.</div>}
      {!snap && snaps && snaps.length > 0 && (
        <table className="table">
          <thead><tr><th>When</th><th>Id</th><th>Files</th><th>Size</th><th /></tr></thead>
          <tbody>
            {snaps.map((s) => (
              <tr key={s.id} data-testid="snapshot-row">
                <td>{new Date(s.time_ms).toLocaleString()}{s.tags.includes("caretaker-safety") ? " (safety copy)" : ""}</td>
                <td className="mono">{s.short_id}</td>
                <td>{s.files}</td>
                <td>{bytes(s.bytes)}</td>
                <td className="actions">
                  <button data-testid="snapshot-browse" onClick={() => void open(s, "")}>Browse</button>
                  <button onClick={() => { setSnap(s); setRestoring({ entry: null }); }}>Restore all…</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {snap && !restoring && (
        <>
          <div className="crumbs">
            <button onClick={() => { setSnap(null); setEntries(null); }}>All snapshots</button>
            <span> / </span>
            <button onClick={() => void open(snap, "")}>{snap.short_id}</button>
            {crumbs.map((c, i) => (
              <span key={i}>
                {" / "}
                <button onClick={() => void open(snap, "/" + crumbs.slice(0, i + 1).join("/"))}>{c}</button>
              </span>
            ))}
          </div>
          {entries === null && <div className="dim">Loading…</div>}
          {entries && (
            <table className="table">
              <tbody>
                {entries.map((e) => (
                  <tr key={e.path} data-testid="tree-entry" data-name={e.name}>
                    <td>{e.is_dir ? <button className="link" onClick={() => void open(snap, e.path)}>📁 {e.name}</button> : <span>{e.name}</span>}</td>
                    <td>{e.is_dir ? "" : bytes(e.size)}</td>
                    <td>{e.mtime_ms ? new Date(e.mtime_ms).toLocaleString() : ""}</td>
                    <td className="actions"><button data-testid="restore-entry" onClick={() => setRestoring({ entry: e })}>Restore…</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {snap && restoring && <RestoreDialog plan={name} snapshot={snap} entry={restoring.entry} onClose={() => setRestoring(null)} />}
    </div>
  );
}

function PasswordEntry({ plan, onSaved }: { plan: string; onSaved: () => void }) {
  const [pw, setPw] = useState("");
  const [error, setError] = useState<CommandError | null>(null);
  const save = async () => {
    try {
      await (await platform()).call("set_backup_password", { plan, password: pw });
      onSaved();
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  return (
    <div className="warn-card form">
      <p className="warn-text">The repository password is not in the keychain, so this plan cannot run. Enter it (Caretaker checks that it opens the repository):</p>
      <div className="row">
        <input type="password" data-testid="plan-password" value={pw} onChange={(e) => setPw(e.target.value)} />
        <button disabled={!pw} onClick={() => void save()}>Save password</button>
      </div>
      {error && <pre className="error">{error.message}</pre>}
    </div>
  );
}

function PlanCard({ p, job, now, onBrowse, onChanged }: { p: PlanStatus; job: JobInfo | null; now: number; onBrowse: () => void; onChanged: () => void }) {
  const [error, setError] = useState<CommandError | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      onChanged();
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const last = p.last_run;
  const cls = { ok: "ok", running: "idle", never: "idle", overdue: "warn", failing: "crit" }[p.health] ?? "idle";
  return (
    <div className="card" data-testid="plan-card" data-plan={p.plan.name}>
      <div className="row spread">
        <div className="card-title">{p.plan.name}</div>
        <span className={`pill ${cls}`} data-testid="plan-health" title={p.health_message}><span className="dot" />{p.health_message}</span>
      </div>
      <div className="kv">
        <span>Folders</span><span className="mono">{p.plan.sources.join(", ")}</span>
        <span>Repository</span><span className="mono">{p.plan.repository}</span>
        <span>Schedule</span><span>{p.plan.schedule}</span>
        <span>Last run</span>
        <span data-testid="plan-last-run">
          {last ? `${last.status} · ${ago(last.finished_ms ?? last.started_ms, now)}` : "never"}
          {last?.status === "ok" && ` · ${last.files_new} new, ${last.files_changed} changed, ${bytes(last.bytes_added)} added`}
          {last?.error && ` · ${last.error}`}
        </span>
        <span>Next run</span><span>{when(p.next_run_ms, now)}</span>
        <span>Repository size</span><span>{p.repository_bytes !== null ? bytes(p.repository_bytes) : "—"}</span>
        <span>Last check</span><span>{p.last_check ? `${p.last_check.status}${p.last_check.read_data ? " (data read back)" : ""} · ${ago(p.last_check.started_ms, now)}` : "not yet"}</span>
      </div>
      {p.password === "file" && <p className="warn-text">No keychain here: the repository password is in a private file in Caretaker's data folder.</p>}
      {p.password === "missing" && <PasswordEntry plan={p.plan.name} onSaved={onChanged} />}
      {error && <pre className="error">{error.message}</pre>}
      <div className="row">
        <button data-testid="backup-now" className="primary" disabled={job !== null} onClick={() => void act(async () => (await platform()).call("backup_now", { plan: p.plan.name }))}>Back up now</button>
        <button data-testid="restore-open" onClick={onBrowse}>Restore…</button>
        <button disabled={job !== null} onClick={() => void act(async () => (await platform()).call("verify_backup", { plan: p.plan.name, readData: false }))}>Verify</button>
        <button onClick={() => { if (confirm(`Remove the plan "${p.plan.name}"? Its repository and snapshots stay on disk.`)) void act(async () => (await platform()).call("delete_backup_plan", { name: p.plan.name })); }}>Remove plan</button>
      </div>
    </div>
  );
}

export function Backups() {
  const [overview, setOverview] = useState<BackupsOverview | null>(null);
  const [job, setJob] = useState<JobInfo | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [adding, setAdding] = useState(false);
  const [browsing, setBrowsing] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  const load = useCallback(async () => {
    try {
      const o = await (await platform()).call("backups_overview", {});
      setOverview(o);
      setJob(o.job);
    } catch (e) {
      setError(asCommandError(e));
    }
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [load]);
  useEngineEvent((e) => {
    if (e.type === "backup_progress") setJob(e.job);
    if (e.type === "backup_finished") {
      setJob(null);
      void load();
    }
  });

  if (error && !overview) return <div className="card error">{error.message}</div>;
  if (!overview) return <div className="loading">Loading backups…</div>;
  const plans = overview.plans;
  const browsed = plans.find((p) => p.plan.name === browsing);
  return (
    <div className="page" data-testid="backups-page">
      {job && <JobBar job={job} now={now} />}
      {(plans.length === 0 || adding) && <Wizard onDone={() => { setAdding(false); void load(); }} onCancel={plans.length > 0 ? () => setAdding(false) : undefined} />}
      {browsed && <Browser plan={browsed} onClose={() => setBrowsing(null)} />}
      {plans.map((p) => (
        <PlanCard key={p.plan.name} p={p} job={job} now={now} onBrowse={() => setBrowsing(p.plan.name)} onChanged={() => void load()} />
      ))}
      {plans.length > 0 && !adding && <button onClick={() => setAdding(true)}>Add a plan</button>}
      {overview.history.length > 0 && (
        <div className="card">
          <div className="card-title">Recent jobs</div>
          <table className="table" data-testid="backup-history">
            <thead><tr><th>When</th><th>Plan</th><th>Job</th><th>Status</th><th>Details</th></tr></thead>
            <tbody>
              {overview.history.map((r) => (
                <tr key={r.id}>
                  <td>{ago(r.started_ms, now)}</td>
                  <td>{r.plan}</td>
                  <td>{r.kind === "forget" ? "retention" : r.kind}</td>
                  <td className={r.status === "ok" ? "ok-text" : r.status === "failed" ? "crit-text" : ""}>{r.status}</td>
                  <td className="dim">{r.error ?? (r.kind === "backup" && r.status === "ok" ? `${r.files_new} new · ${r.files_changed} changed · ${bytes(r.bytes_added)} added` : "")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
