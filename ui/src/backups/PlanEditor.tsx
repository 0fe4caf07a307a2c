import { useState } from "react";
import type { PlanConfig } from "../bindings/PlanConfig";
import { ErrorNote } from "../components/ErrorNote";
import { Input, TextArea } from "../components/Input";
import { addLine, PathPicker } from "../components/PathPicker";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";

const lines = (t: string) => t.split("\n").map((l) => l.trim()).filter(Boolean);
const KEEP: { key: keyof PlanConfig["keep"]; label: string }[] = [
  { key: "last", label: "Last" },
  { key: "hourly", label: "Hourly" },
  { key: "daily", label: "Daily" },
  { key: "weekly", label: "Weekly" },
  { key: "monthly", label: "Monthly" },
];

/**
 * A plan's folders, exclusions, schedule and retention, changed after it was made. Its name and
 * repository stay (its history and snapshots are filed under them); the engine checks the rest
 * and names a refused field.
 */
export function PlanEditor({ plan, onSaved, onCancel }: { plan: PlanConfig; onSaved: () => void; onCancel: () => void }) {
  const [p, setP] = useState<PlanConfig>(plan);
  const [sources, setSources] = useState(plan.sources.join("\n"));
  const [excludes, setExcludes] = useState(plan.excludes.join("\n"));
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      await call("update_backup_plan", { plan: { ...p, sources: lines(sources), excludes: lines(excludes) } });
      onSaved();
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card form" data-testid="plan-editor">
      <div className="card-title">Change {plan.name}</div>
      <p className="dim">The repository stays <code>{plan.repository}</code>: its snapshots and password are there. To back up somewhere else, create another plan.</p>
      <label>Folders to back up (one absolute path per line)
        <TextArea data-testid="plan-edit-sources" rows={3} value={sources} onChange={(e) => setSources(e.target.value)} />
      </label>
      <div className="row">
        <PathPicker kind="folder" title="Choose a folder to back up" label="Add a folder…" testId="plan-edit-sources-pick" onPick={(f) => setSources((s) => addLine(s, f))} />
      </div>
      <label>Leave out (one pattern per line, e.g. *.iso or Downloads)
        <TextArea data-testid="plan-edit-excludes" rows={2} value={excludes} onChange={(e) => setExcludes(e.target.value)} />
      </label>
      <label className="inline"><input type="checkbox" checked={p.default_excludes} onChange={(e) => setP({ ...p, default_excludes: e.target.checked })} /> Leave out caches and trash</label>
      <label className="inline"><input type="checkbox" checked={p.exclude_build_folders} onChange={(e) => setP({ ...p, exclude_build_folders: e.target.checked })} /> Leave out node_modules and build folders</label>
      <label className="inline"><input type="checkbox" checked={p.include_caretaker_data} onChange={(e) => setP({ ...p, include_caretaker_data: e.target.checked })} /> Include Caretaker's own database and settings</label>
      <label>When ("hourly", "daily HH:MM" or "manual")
        <Input data-testid="plan-edit-schedule" value={p.schedule} onChange={(e) => setP({ ...p, schedule: e.target.value })} />
      </label>
      <div className="grid2">
        {KEEP.map((k) => (
          <label key={k.key}>Keep {k.label.toLowerCase()} snapshots
            <Input data-testid={`plan-edit-keep-${k.key}`} inputMode="numeric" value={String(p.keep[k.key])}
              onChange={(e) => setP({ ...p, keep: { ...p.keep, [k.key]: e.target.value.trim() === "" ? NaN : Number(e.target.value) } })} />
          </label>
        ))}
      </div>
      <label>Upload limit in KiB/s (0: none), so a backup leaves room on the internet connection
        <Input data-testid="plan-edit-upload-limit" inputMode="numeric" value={String(p.upload_limit_kib)}
          onChange={(e) => setP({ ...p, upload_limit_kib: e.target.value.trim() === "" ? 0 : Number(e.target.value) })} />
      </label>
      <label className="inline"><input type="checkbox" data-testid="plan-edit-pause-battery" checked={p.pause_on_battery} onChange={(e) => setP({ ...p, pause_on_battery: e.target.checked })} /> Wait while this Mac runs on battery (scheduled backups only)</label>
      <label className="inline"><input type="checkbox" data-testid="plan-edit-pause-metered" checked={p.pause_on_metered} onChange={(e) => setP({ ...p, pause_on_metered: e.target.checked })} /> Wait while the connection is metered (a server elsewhere; where the system reports it: Linux's NetworkManager, not macOS)</label>
      <ErrorNote error={error} testId="plan-edit-error" />
      <div className="row">
        <button className="primary" data-testid="plan-edit-save" disabled={busy} onClick={() => void save()}>Save</button>
        <button onClick={onCancel}>Cancel</button>
      </div>
    </div>
  );
}
