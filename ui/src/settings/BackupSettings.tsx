import { useEffect, useState } from "react";
import type { BackupSettings as Values } from "../bindings/BackupSettings";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call, useCommand } from "../state/useCommand";

const FIELDS: { key: keyof Values; label: string }[] = [
  { key: "verify_every_days", label: "Check each repository's structure every (days)" },
  { key: "read_data_every_days", label: "Read back a twelfth of the stored data every (days)" },
  { key: "stuck_after_minutes", label: "Stop a backup that reports nothing for (minutes)" },
];

/** `[backups]`'s own settings (each plan is changed on the Backups page). */
export function BackupSettings() {
  const current = useCommand("backup_settings", {});
  const [v, setV] = useState<Values | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setV(current.data), [current.data]);
  if (!v) return <ErrorNote error={current.error} />;
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      setV(await call("save_backup_settings", { settings: v }));
      setSaved(true);
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const bad = new Set((error?.payload.fields ?? []).map((f) => f.replace("backups.", "")));
  return (
    <section className="card form" data-testid="section-backups">
      <div className="card-title">Backups: checks and limits</div>
      <p className="dim">Each plan's folders, schedule and retention are changed on the Backups page (Change…).</p>
      <div className="grid2">
        {FIELDS.map((f) => (
          <label key={f.key} className={bad.has(f.key) ? "invalid" : ""}>{f.label}
            <Input data-testid={`backups-${f.key}`} inputMode="numeric" value={Number.isFinite(v[f.key]) ? String(v[f.key]) : ""}
              onChange={(e) => setV({ ...v, [f.key]: e.target.value.trim() === "" ? NaN : Number(e.target.value) })} />
          </label>
        ))}
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button className="primary" data-testid="backups-save" onClick={() => void save()}>Save</button>
        {saved && <span className="ok">Saved and applied.</span>}
      </div>
    </section>
  );
}
