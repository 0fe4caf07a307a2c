import { useState } from "react";
import type { Alert } from "../bindings/Alert";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";
import { ErrorNote } from "./ErrorNote";

/** The tables of caretaker.toml named by the alert's bad fields (`checks.list[0].timeout_secs` → `checks`). */
export function sectionsOf(fields: unknown): string[] {
  if (!Array.isArray(fields)) return [];
  const names = fields
    .filter((f): f is string => typeof f === "string")
    .map((f) => f.split(/[.[]/)[0])
    // A problem with the file itself (ownership, unreadable) names no table.
    .filter((s) => s !== "" && s !== "caretaker");
  return [...new Set(names)];
}

type Pending = { kind: "reset"; section: string } | { kind: "restore" };

/**
 * While caretaker.toml is refused (the engine runs on the last good settings, the defaults, or what
 * ran before the edit), says so above every page, with the file's path and the ways out: open it
 * in a text editor, reset the bad section to its defaults, or put the last good file back. Each
 * repair keeps the file as it was (`caretaker.before-repair.toml`) and is confirmed first.
 */
export function ConfigBanner({ alerts }: { alerts: Alert[] }) {
  const alert = alerts.find((a) => a.alert_type === "config_invalid" && a.status !== "resolved");
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);
  const [left, setLeft] = useState<string[] | null>(null);
  if (!alert) return null;
  const details = (alert.details ?? {}) as { path?: string; fields?: unknown };
  const sections = sectionsOf(details.fields);

  const run = async (f: () => Promise<string[] | null>) => {
    setBusy(true);
    setError(null);
    try {
      setLeft(await f());
      setPending(null);
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };
  const confirm = () => {
    if (!pending) return;
    void run(() =>
      pending.kind === "reset" ? call("reset_file_section", { section: pending.section }) : call("restore_last_good_config", {}),
    );
  };

  return (
    <div className="banner warn" role="alert" data-testid="config-banner">
      <strong>{alert.title}</strong>
      <p className="muted">{alert.message}</p>
      <div className="row">
        <button disabled={busy} onClick={() => void run(async () => (await call("open_config_file", {}), null))}>
          Open in editor
        </button>
        {sections.map((s) => (
          <button key={s} disabled={busy} data-testid={`reset-${s}`} onClick={() => setPending({ kind: "reset", section: s })}>
            Reset [{s}]
          </button>
        ))}
        <button disabled={busy} onClick={() => setPending({ kind: "restore" })}>
          Put back the last good file
        </button>
      </div>
      {pending && (
        <div className="confirm" data-testid="config-confirm">
          <p>
            {pending.kind === "reset"
              ? `Reset [${pending.section}] to its defaults? Everything you set in that section is removed from the file.`
              : "Replace caretaker.toml with the last copy that loaded? Edits made since then are undone."}{" "}
            The file as it is now is kept beside it as caretaker.before-repair.toml{details.path ? ` (in the folder of ${details.path})` : ""}.
          </p>
          <button className="primary" disabled={busy} onClick={confirm}>
            {pending.kind === "reset" ? `Yes, reset [${pending.section}]` : "Put it back"}
          </button>
          <button disabled={busy} onClick={() => setPending(null)}>
            Cancel
          </button>
        </div>
      )}
      {left && left.length > 0 && (
        <p data-testid="config-still-wrong">
          Still wrong in the file: {left.join("; ")}
        </p>
      )}
      {error && <ErrorNote error={error} />}
    </div>
  );
}
