import { useState } from "react";
import type { AlertmanagerConfig } from "../bindings/AlertmanagerConfig";
import type { MaintenanceConfig } from "../bindings/MaintenanceConfig";
import type { MaintenancePreview } from "../bindings/MaintenancePreview";
import { ErrorNote } from "../components/ErrorNote";
import { Input, TextArea } from "../components/Input";
import { PathPicker } from "../components/PathPicker";
import { bytes } from "../format";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";

const num = (t: string) => (t.trim() === "" ? NaN : Number(t));

/**
 * The optional nightly tasks (clear a cache folder, run a command) inside the Maintenance section,
 * with a preview of what they would delete or run, asked of the engine without doing anything.
 */
export function MaintenanceTasks({ value, set }: { value: MaintenanceConfig; set: (path: string, v: unknown) => void }) {
  const [preview, setPreview] = useState<MaintenancePreview | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [argv, setArgv] = useState(value.command?.argv.join("\n") ?? "");
  const cache = value.clear_cache;
  const command = value.command;
  const look = async () => {
    setError(null);
    try {
      setPreview(await call("preview_maintenance", { config: value }));
    } catch (e) {
      setPreview(null);
      setError(asCommandError(e));
    }
  };
  return (
    <div className="subform" data-testid="maintenance-tasks">
      <label className="inline">
        <input type="checkbox" data-testid="maintenance-cache-on" checked={cache !== null}
          onChange={(e) => set("clear_cache", e.target.checked ? { path: "", older_than_days: 30 } : null)} />
        Also clear a cache folder: files older than a number of days
      </label>
      {cache && (
        <div className="grid2">
          <label>Folder
            <div className="path-field">
              <Input data-testid="maintenance-cache-path" placeholder="/Users/me/Library/Caches/app" value={cache.path} onChange={(e) => set("clear_cache.path", e.target.value)} />
              <PathPicker kind="folder" title="Choose the cache folder" testId="maintenance-cache-pick" onPick={(p) => set("clear_cache.path", p)} />
            </div>
          </label>
          <label>Older than (days)
            <Input data-testid="maintenance-cache-days" inputMode="numeric" value={Number.isFinite(cache.older_than_days) ? String(cache.older_than_days) : ""}
              onChange={(e) => set("clear_cache.older_than_days", num(e.target.value))} />
          </label>
        </div>
      )}
      <label className="inline">
        <input type="checkbox" data-testid="maintenance-command-on" checked={command !== null}
          onChange={(e) => set("command", e.target.checked ? { argv: argv.split("\n").map((l) => l.trim()).filter(Boolean), timeout_secs: 600 } : null)} />
        Also run a command (for example a package manager's cleanup)
      </label>
      {command && (
        <div className="grid2">
          <label>Program and arguments, one per line (never through a shell)
            <TextArea data-testid="maintenance-command-argv" rows={3} placeholder={"/opt/homebrew/bin/brew\ncleanup"} value={argv}
              onChange={(e) => {
                setArgv(e.target.value);
                set("command.argv", e.target.value.split("\n").map((l) => l.trim()).filter(Boolean));
              }} />
          </label>
          <label>Stop it after (s)
            <Input data-testid="maintenance-command-timeout" inputMode="numeric" value={Number.isFinite(command.timeout_secs) ? String(command.timeout_secs) : ""}
              onChange={(e) => set("command.timeout_secs", num(e.target.value))} />
          </label>
        </div>
      )}
      {(cache || command) && (
        <div className="row">
          <button data-testid="maintenance-preview" onClick={() => void look()}>Preview what it would do</button>
        </div>
      )}
      <ErrorNote error={error} />
      {preview && (
        <div className="card dry-run" data-testid="maintenance-preview-result">
          {preview.summary.map((s) => <p key={s}>{s}</p>)}
          {preview.clear_cache && preview.clear_cache.first_paths.length > 0 && (
            <ul className="dim">{preview.clear_cache.first_paths.map((p) => <li key={p}><code>{p}</code></li>)}</ul>
          )}
          {preview.clear_cache && <p className="dim">{preview.clear_cache.files} files, {bytes(preview.clear_cache.bytes)} in all.</p>}
          {preview.command.length > 0 && <p><code>{preview.command.map((a) => JSON.stringify(a)).join(" ")}</code></p>}
        </div>
      )}
    </div>
  );
}

/** "Send a test alert" to the Alertmanager being set up, saved or not. */
export function AlertmanagerTest({ value }: { value: AlertmanagerConfig }) {
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await call("test_alertmanager", { config: value }));
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row">
      <button data-testid="alertmanager-test" disabled={busy} onClick={() => void send()}>{busy ? "Sending…" : "Send a test alert"}</button>
      {result && <span className="ok-text" data-testid="alertmanager-test-result">{result}</span>}
      <ErrorNote error={error} testId="alertmanager-test-error" />
    </div>
  );
}
