import { useEffect, useState } from "react";
import type { PlanConfig } from "../bindings/PlanConfig";
import { ErrorNote } from "../components/ErrorNote";
import { Input, TextArea } from "../components/Input";
import { addLine, PathPicker } from "../components/PathPicker";
import { call, useAction, useCommand } from "../state/useCommand";
import { hasSecret, isRemote, WhereStep, type Where } from "./Where";

const KEEP_DEFAULT = { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 };

function downloadPassword(repository: string, password: string) {
  const blob = new Blob([`Caretaker backup repository\n${repository}\npassword: ${password}\n`], { type: "text/plain" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "caretaker-backup-password.txt";
  a.click();
}

/** First run: pick folders, where the snapshots go (a folder, or a REST server tested first), and a password to write down. */
export function Wizard({ onDone, onCancel, from }: {
  onDone: () => void;
  onCancel?: () => void;
  /** An offsite copy of this plan: the same folders, off the premises, on a schedule of its own. */
  from?: PlanConfig;
}) {
  const [name, setName] = useState(from ? `${from.name} offsite` : "Documents");
  const [sources, setSources] = useState(from ? from.sources.join("\n") : "");
  const [where, setWhere] = useState<Where>({ kind: from ? "s3" : "folder", repository: "", serverPassword: "" });
  const [tested, setTested] = useState<string | null>(null);
  const repository = where.repository;
  const [schedule, setSchedule] = useState(from ? "daily 03:00" : "daily 02:00");
  const [password, setPassword] = useState("");
  const [saved, setSaved] = useState(false);
  const [stored, setStored] = useState<string | null>(null);
  const [adopted, setAdopted] = useState<string | null>(null);
  const suggested = useCommand("suggest_backup_password", {});
  const creating = useAction();

  useEffect(() => {
    if (suggested.data) setPassword(suggested.data);
  }, [suggested.data]);

  const create = async () => {
    const plan: PlanConfig = {
      name: name.trim(),
      sources: sources.split("\n").map((s) => s.trim()).filter(Boolean),
      excludes: from?.excludes ?? [],
      default_excludes: from?.default_excludes ?? true,
      exclude_build_folders: from?.exclude_build_folders ?? false,
      repository: repository.trim(),
      schedule,
      keep: from?.keep ?? KEEP_DEFAULT,
      host: "",
      include_caretaker_data: from?.include_caretaker_data ?? true,
      upload_limit_kib: from?.upload_limit_kib ?? 0,
      pause_on_battery: from?.pause_on_battery ?? true,
      pause_on_metered: from?.pause_on_metered ?? true,
    };
    await creating.run(async () => {
      const serverPassword = hasSecret(where.kind) ? where.serverPassword : null;
      const r = await call("create_backup_plan", { plan, password, serverPassword });
      setStored(r.password_stored_in);
      // An existing repository may hold another Mac's (or this one's earlier) Caretaker data.
      if (r.existing_repository && !from) setAdopted(plan.name);
      else if (r.password_stored_in === "keychain") onDone();
    });
  };

  if (adopted) return <SetUpFromBackup plan={adopted} fileNote={stored === "file"} onDone={onDone} />;

  if (stored === "file") {
    return (
      <div className="card warn-card" data-testid="password-file-warning">
        <div className="card-title">Plan created</div>
        <p>No keychain is available on this machine, so the repository password is kept in a file only your user can read, in Caretaker's data folder. Keep your written copy somewhere else too.</p>
        <button onClick={onDone}>Done</button>
      </div>
    );
  }

  return (
    <div className="card form" data-testid="backup-wizard">
      <div className="card-title">{from ? `Add an offsite copy of ${from.name}` : "Set up a backup"}</div>
      {from && <p className="dim" data-testid="wizard-offsite-note">The same folders, backed up on a schedule of their own to a repository away from this house: if the Mac and the disk beside it are lost together, this copy remains. It keeps its own retention and health, and can be restored from without the first one.</p>}
      <p className="dim">Backups are encrypted and deduplicated, in restic's format: the restic tool can read them too, without Caretaker.</p>
      {!from && <p className="dim" data-testid="wizard-from-backup-hint">Setting up this Mac from a backup? Point this at the existing repository with its password: Caretaker then offers to bring back its settings and history from it.</p>}
      <div className="grid2">
        <label>Plan name<Input data-testid="wizard-name" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>When
          <select data-testid="wizard-schedule" value={schedule} onChange={(e) => setSchedule(e.target.value)}>
            <option value="hourly">every hour</option>
            <option value="daily 02:00">every day at 02:00</option>
            <option value="daily 03:00">every night at 03:00</option>
            <option value="daily 12:30">every day at 12:30</option>
            <option value="manual">only when I press Back up now</option>
          </select>
        </label>
      </div>
      <label>Folders to back up (one absolute path per line)
        <TextArea data-testid="wizard-sources" rows={3} placeholder="/Users/me/Documents" value={sources} onChange={(e) => setSources(e.target.value)} />
      </label>
      <div className="row">
        <PathPicker kind="folder" title="Choose a folder to back up" label="Add a folder…" testId="wizard-sources-pick" onPick={(p) => setSources((s) => addLine(s, p))} />
      </div>
      <WhereStep where={where} onChange={setWhere} password={password} onTested={setTested} />
      <label>Repository password
        <Input data-testid="wizard-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <p className="warn-text">Write this password down or export it now. Without it, nobody (not even Caretaker on a new machine) can read these backups.</p>
      <div className="row">
        <button type="button" onClick={() => void navigator.clipboard?.writeText(password)}>Copy</button>
        <button type="button" onClick={() => downloadPassword(repository, password)}>Export to a file…</button>
        <label className="check"><input type="checkbox" data-testid="wizard-saved" checked={saved} onChange={(e) => setSaved(e.target.checked)} /> I have saved the password</label>
      </div>
      <p className="dim">Caretaker's own database and settings are included in every plan.</p>
      {isRemote(where.kind) && tested !== repository && <p className="dim" data-testid="wizard-test-first">Test the connection to the server before creating the plan.</p>}
      <ErrorNote error={creating.error ?? suggested.error} testId="wizard-error" />
      <div className="row">
        <button data-testid="wizard-create" className="primary" disabled={creating.busy || !saved || !password || !sources.trim() || !repository.trim() || (isRemote(where.kind) && tested !== repository)} onClick={() => void create()}>
          {creating.busy ? "Creating…" : "Create the plan"}
        </button>
        {onCancel && <button onClick={onCancel}>Cancel</button>}
      </div>
    </div>
  );
}

/**
 * After adopting a repository that already holds snapshots: "set up this Mac from a backup",
 * Caretaker's own settings and history from the latest snapshot, put in place at the next start.
 */
export function SetUpFromBackup({ plan, fileNote, onDone }: { plan: string; fileNote: boolean; onDone: () => void }) {
  const restoring = useAction();
  const [message, setMessage] = useState<string | null>(null);
  const restore = () => void restoring.run(async () => setMessage((await call("restore_own_data", { plan, snapshot: null })).message));
  return (
    <div className="card form" data-testid="setup-from-backup">
      <div className="card-title">This repository already holds backups</div>
      {fileNote && <p className="warn-text">No keychain is available on this machine, so the repository password is kept in a file only your user can read, in Caretaker's data folder.</p>}
      {message ? (
        <p className="ok-text" data-testid="setup-from-backup-done">{message}</p>
      ) : (
        <>
          <p>Set up this Mac from it? Caretaker's settings (checks, alerts, healing, backup plans) and its history come back from the latest snapshot. The ones here now are kept beside them, not deleted.</p>
          <div className="row">
            <button className="primary" data-testid="setup-from-backup-go" disabled={restoring.busy} onClick={restore}>
              {restoring.busy ? "Restoring…" : "Restore Caretaker's settings and history"}
            </button>
            <button data-testid="setup-from-backup-skip" disabled={restoring.busy} onClick={onDone}>Not now</button>
          </div>
        </>
      )}
      <ErrorNote error={restoring.error} testId="setup-from-backup-error" />
      {message && <div className="row"><button onClick={onDone}>Done</button></div>}
    </div>
  );
}
