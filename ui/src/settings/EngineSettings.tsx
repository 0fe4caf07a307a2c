import { useState } from "react";
import type { Config } from "../bindings/Config";
import type { QuietHours } from "../bindings/QuietHours";
import { ErrorNote } from "../components/ErrorNote";
import { TextArea } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call, useCommand } from "../state/useCommand";
import { BackupSettings } from "./BackupSettings";
import { InsightsSettings } from "./InsightsSettings";
import { AlertmanagerTest, MaintenanceTasks } from "./MaintenanceTasks";
import { type Field, SectionForm } from "./Sections";
import { StorageEstimate } from "./StorageEstimate";

const threshold = (rule: "cpu" | "memory" | "disk", label: string, average = false): Field[] => [
  { path: `${rule}.warning`, label: `${label}: warning at (%)`, kind: "number" },
  { path: `${rule}.critical`, label: `${label}: critical at (%)`, kind: "number" },
  { path: `${rule}.for_secs`, label: `${label}: held for (s)`, kind: "number", optional: true, hint: "two samples" },
  { path: `${rule}.clear_margin`, label: `${label}: clears this many points lower`, kind: "number" },
  ...(average ? [{ path: `${rule}.average_secs`, label: `${label}: judged on the average over (s)`, kind: "number" as const, optional: true, hint: "300" }] : []),
];

const ALERTS: Field[] = [
  ...threshold("cpu", "CPU", true),
  ...threshold("memory", "Memory"),
  ...threshold("disk", "Disk"),
  { path: "disk_full_days", label: "Warn when a disk is full within (days, 0 = never)", kind: "number" },
  { path: "unusual", label: "Warn when CPU, memory, disk or network traffic is unusual for this machine", kind: "bool" },
  { path: "check_failures_before_alert", label: "Failed checks in a row before an alert", kind: "number" },
  { path: "repeat_critical_hours", label: "Repeat an unacknowledged critical alert every (h)", kind: "number" },
  { path: "flap_window_minutes", label: "A return within (min) is the same incident", kind: "number" },
  { path: "absence_alert_minutes", label: "Say when Caretaker was off longer than (min)", kind: "number" },
  { path: "stale_after_intervals", label: "No data after (intervals)", kind: "number" },
];

const SAMPLING: Field[] = [
  { path: "interval_secs", label: "Sample every (s)", kind: "number" },
  { path: "raw_retention_hours", label: "Keep every sample for (h)", kind: "number" },
  { path: "minute_retention_days", label: "Keep minute averages for (days)", kind: "number" },
  { path: "hour_retention_days", label: "Keep hour averages for (days)", kind: "number" },
  { path: "top_processes", label: "Processes listed (applies at the next start)", kind: "number" },
];

const LOGS: Field[] = [{ path: "retention_days", label: "Keep it for (days)", kind: "number" }];

const MAINTENANCE: Field[] = [
  { path: "enabled", label: "Run maintenance every day", kind: "bool" },
  { path: "daily_at", label: "At (HH:MM, local time)", kind: "text" },
  { path: "vacuum_free_percent", label: "Compact the database when this much of it is free (%)", kind: "number" },
];

const HTTP: Field[] = [
  { path: "enabled", label: "Serve /metrics and /api", kind: "bool" },
  { path: "bind", label: "Listen on", kind: "text", hint: "127.0.0.1:9465" },
  { path: "token", label: "Token (required beyond this machine)", kind: "text" },
  { path: "allowed_hosts", label: "Host names clients may use (comma separated)", kind: "list", hint: "macmini.local" },
];

const ALERTMANAGER: Field[] = [
  { path: "enabled", label: "Send alerts to an Alertmanager", kind: "bool" },
  { path: "url", label: "Alertmanager URL", kind: "text", hint: "http://127.0.0.1:9093" },
  { path: "resend_secs", label: "Send open alerts again every (s)", kind: "number" },
  { path: "instance", label: "Instance label (empty: this machine's name)", kind: "text" },
];

/** A new random token for the HTTP endpoint. */
function newToken(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function QuietHoursFields({ value, set }: { value: QuietHours | null; set: (v: QuietHours | null) => void }) {
  const [start, setStart] = useState(value?.start ?? "");
  const [end, setEnd] = useState(value?.end ?? "");
  const change = (s: string, e: string) => {
    setStart(s);
    setEnd(e);
    set(s.trim() || e.trim() ? { start: s.trim(), end: e.trim() } : null);
  };
  return (
    <div className="grid2">
      <label>Quiet hours from (HH:MM; warnings wait, critical alerts do not)
        <input data-testid="alerts-quiet-start" value={start} placeholder="22:00" onChange={(e) => change(e.target.value, end)} />
      </label>
      <label>to
        <input data-testid="alerts-quiet-end" value={end} placeholder="07:00" onChange={(e) => change(start, e.target.value)} />
      </label>
    </div>
  );
}

/** Every setting as one file, to set up a second machine in one step (no secrets in it). */
function ImportExport({ onImported }: { onImported: (c: Config) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<CommandError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const run = async (f: () => Promise<void>) => {
    setError(null);
    setNote(null);
    try {
      await f();
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  return (
    <section className="card form" data-testid="section-import-export">
      <div className="card-title">Move these settings to another machine</div>
      <p className="dim">Export gives every setting as one file; paste it into Caretaker on the other machine and import. Passwords and tokens are not in it: enter them again there.</p>
      <TextArea data-testid="settings-text" rows={8} value={text} onChange={(e) => setText(e.target.value)} />
      <ErrorNote error={error} />
      <div className="actions">
        <button data-testid="settings-export" onClick={() => void run(async () => {
          const t = await call("export_settings", {});
          setText(t);
          await navigator.clipboard?.writeText(t).catch(() => undefined);
          setNote("Exported (and copied, where allowed).");
        })}>Export</button>
        <button data-testid="settings-save-file" onClick={() => void run(async () => {
          const where = await call("save_settings_file", { text: await call("export_settings", {}) });
          if (where) setNote(`Saved to ${where}.`);
        })}>Save to a file…</button>
        <button data-testid="settings-open-file" onClick={() => void run(async () => {
          const t = await call("open_settings_file", {});
          if (t !== null) {
            setText(t);
            setNote("Read; check it, then Import.");
          }
        })}>Open a file…</button>
        <button data-testid="settings-import" disabled={!text.trim()} onClick={() => void run(async () => {
          onImported(await call("import_settings", { text }));
          setNote("Imported and applied; the previous file is kept as caretaker.before-import.toml.");
        })}>Import</button>
        {note && <span className="ok" data-testid="settings-note">{note}</span>}
      </div>
    </section>
  );
}

/** The engine's own settings, a section at a time. */
export function EngineSettings() {
  const settings = useCommand("settings", {});
  const defaults = useCommand("default_settings", {});
  const s = settings.data;
  if (!s) return <ErrorNote error={settings.error} />;
  const saved = (c: Config) => settings.setData(() => c);
  const common = { settings: s, defaults: defaults.data, onSaved: saved };
  return (
    <>
      <SectionForm name="alerts" title="Alerts" fields={ALERTS} {...common}
        intro="Each line, how long a value must stay over it, and how far it must fall before the alert clears. Saved to caretaker.toml and applied to the next sample."
        extra={(v, set) => <QuietHoursFields value={v.quiet_hours ?? null} set={(q) => set("quiet_hours", q)} />} />
      <SectionForm name="metrics" title="Sampling and history" fields={SAMPLING} {...common}
        extra={(v) => <StorageEstimate metrics={v} />} />
      <SectionForm name="logs" title="Caretaker's own log" fields={LOGS} {...common} />
      <SectionForm name="maintenance" title="Maintenance" fields={MAINTENANCE} {...common}
        extra={(v, set) => <MaintenanceTasks value={v} set={set} />} />
      <SectionForm name="http" title="HTTP endpoint (Prometheus)" fields={HTTP} {...common}
        extra={(v, set) => (
          <>
            <button className="link" data-testid="http-generate-token" onClick={() => set("token", newToken())}>Generate a token</button>
            <pre className="snippet" data-testid="http-snippet">{`scrape_configs:\n  - job_name: caretaker\n    static_configs:\n      - targets: ["${v.bind}"]${v.token ? `\n    authorization:\n      credentials: "${v.token}"` : ""}`}</pre>
          </>
        )} />
      <SectionForm name="alertmanager" title="Alertmanager" fields={ALERTMANAGER} {...common}
        extra={(v) => <AlertmanagerTest value={v} />} />
      <BackupSettings />
      <InsightsSettings />
      <ImportExport onImported={saved} />
    </>
  );
}
