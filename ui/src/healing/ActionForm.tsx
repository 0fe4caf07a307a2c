import { useState } from "react";
import type { ActionConfig } from "../bindings/ActionConfig";
import type { DryRun } from "../bindings/DryRun";
import type { HealingMode } from "../bindings/HealingMode";
import type { HealingOverview } from "../bindings/HealingOverview";
import { ErrorNote } from "../components/ErrorNote";
import { Input, TextArea } from "../components/Input";
import { PathPicker } from "../components/PathPicker";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";
import { DryRunView } from "./DryRunView";
import { blankAction, fieldErrors, KIND_LABEL, KINDS, kindOf, lines, list, num, withKind, type Kind } from "./fields";

const MODES: HealingMode[] = ["escalate", "auto", "off"];

/**
 * Adds an action, or edits the one whose id is `original`. The engine checks it with the whole
 * file and names each bad field; the app may ask the person in a native dialog first when the
 * action runs, stops or deletes something new.
 */
export function ActionForm({ original, initial, onSaved, onCancel }: {
  original: string | null;
  initial?: ActionConfig;
  onSaved: (o: HealingOverview) => void;
  onCancel: () => void;
}) {
  const [a, setA] = useState<ActionConfig>(initial ?? withKind(blankAction(), "command"));
  // What was typed, where the value shown is not the text (numbers, lists).
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [error, setError] = useState<CommandError | null>(null);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [busy, setBusy] = useState(false);
  const kind = kindOf(a);
  const bad = fieldErrors(error);
  const t = original ?? "new";

  const submit = async (what: "save" | "dry") => {
    setError(null);
    setBusy(true);
    try {
      if (what === "save") onSaved(await call("save_healing_action", { original, action: a }));
      else setDry(await call("dry_run_healing_action", { id: null, action: a }));
    } catch (e) {
      setError(asCommandError(e));
      if (what === "dry") setDry(null);
    } finally {
      setBusy(false);
    }
  };

  /** One field: its path inside the action (as the engine names it), its label, its input. */
  const field = (path: string, label: string, input: React.ReactNode, hint?: string) => (
    <label key={path} className={bad[path] !== undefined ? "invalid" : ""}>
      {label}
      {input}
      {bad[path] !== undefined && <span className="field-error" data-testid={`error-${path}`}>{bad[path]}</span>}
      {hint && bad[path] === undefined && <span className="dim">{hint}</span>}
    </label>
  );
  const text = (path: string, value: string, set: (v: string) => void, placeholder?: string) => (
    <Input data-testid={`${t}-${path}`} value={value} placeholder={placeholder} onChange={(e) => set(e.target.value)} />
  );
  /** A folder's path, typed or chosen in the OS's folder dialog. */
  const folder = (path: string, value: string, set: (v: string) => void, title: string, placeholder?: string) => (
    <div className="path-field">
      {text(path, value, set, placeholder)}
      <PathPicker kind="folder" title={title} testId={`${t}-${path}-pick`} onPick={set} />
    </div>
  );
  /** A typed field whose text is kept as typed (so "1." or "" survive until saved). */
  const typed = (path: string, shown: string, set: (v: string) => void) => (
    <Input
      data-testid={`${t}-${path}`}
      value={texts[path] ?? shown}
      onChange={(e) => {
        setTexts((old) => ({ ...old, [path]: e.target.value }));
        set(e.target.value);
      }}
    />
  );
  const patch = (p: Partial<ActionConfig>) => setA((old) => ({ ...old, ...p }));

  return (
    <section className="card form" data-testid={`form-${t}`}>
      <div className="card-title">{original ? `Edit ${initial?.name ?? original}` : "Add an action"}</div>
      <p className="dim">Only actions you define here can ever run. "Ask first" proposes the action when its alert opens; "auto" runs it behind the guard rails.</p>
      <div className="grid2">
        {field("id", "Id (letters, digits, - or _)", text("id", a.id, (v) => patch({ id: v })))}
        {field("name", "Name", text("name", a.name, (v) => patch({ name: v })))}
        {field("mode", "Mode", (
          <select data-testid={`${t}-mode`} value={a.mode} onChange={(e) => patch({ mode: e.target.value as HealingMode })}>
            {MODES.map((m) => <option key={m} value={m}>{m === "escalate" ? "ask first" : m}</option>)}
          </select>
        ))}
        {field("kind", "What it does", (
          <select data-testid={`${t}-kind`} value={kind} onChange={(e) => setA((old) => withKind(old, e.target.value as Kind))}>
            {KINDS.map((k) => <option key={k} value={k}>{KIND_LABEL[k]}</option>)}
          </select>
        ))}
        {field("on_checks", "When these checks fail", typed("on_checks", a.on_checks.join(", "), (v) => patch({ on_checks: list(v) })), "check names, comma-separated")}
        {field("on_alerts", "When these alerts open", typed("on_alerts", a.on_alerts.join(", "), (v) => patch({ on_alerts: list(v) })), "disk, disk:/, detector:Queue, …")}
      </div>
      <div className="grid2" data-testid={`${t}-kind-fields`}>
        {kind === "command" && a.command && (<>
          {field("command.argv", "Program and arguments, one per line (no shell)", (
            <TextArea
              data-testid={`${t}-command.argv`}
              rows={3}
              value={texts["command.argv"] ?? a.command.argv.join("\n")}
              onChange={(e) => {
                const v = e.target.value;
                setTexts((old) => ({ ...old, "command.argv": v }));
                setA((old) => ({ ...old, command: old.command && { ...old.command, argv: lines(v) } }));
              }}
            />
          ))}
          {field("command.working_dir", "Working folder", folder("command.working_dir", a.command.working_dir ?? "", (v) => setA((old) => ({ ...old, command: old.command && { ...old.command, working_dir: v || null } })), "Choose the working folder"))}
          {field("command.timeout_secs", "Stop it after (s)", typed("command.timeout_secs", String(a.command.timeout_secs), (v) => setA((old) => ({ ...old, command: old.command && { ...old.command, timeout_secs: num(v) as number } }))))}
          {field("command.env_allow", "Environment variables it keeps", typed("command.env_allow", a.command.env_allow.join(", "), (v) => setA((old) => ({ ...old, command: old.command && { ...old.command, env_allow: list(v) } }))), "all others are cleared")}
        </>)}
        {kind === "restart_service" && a.restart_service && (<>
          {field("restart_service.name", "launchd label or systemd unit", text("restart_service.name", a.restart_service.name, (v) => setA((old) => ({ ...old, restart_service: old.restart_service && { ...old.restart_service, name: v } }))))}
          <label className="inline">
            <input type="checkbox" data-testid={`${t}-restart_service.system`} checked={a.restart_service.system} onChange={(e) => setA((old) => ({ ...old, restart_service: old.restart_service && { ...old.restart_service, system: e.target.checked } }))} />
            A system service
          </label>
        </>)}
        {kind === "docker_restart" && a.docker_restart &&
          field("docker_restart.container", "Container name or id", text("docker_restart.container", a.docker_restart.container, (v) => setA((old) => ({ ...old, docker_restart: { container: v } }))))}
        {kind === "kill_process" && a.kill_process && (<>
          {field("kill_process.name", "Process name", text("kill_process.name", a.kill_process.name, (v) => setA((old) => ({ ...old, kill_process: old.kill_process && { ...old.kill_process, name: v } }))))}
          {field("kill_process.cpu_above_percent", "Only above CPU %", typed("kill_process.cpu_above_percent", a.kill_process.cpu_above_percent?.toString() ?? "", (v) => setA((old) => ({ ...old, kill_process: old.kill_process && { ...old.kill_process, cpu_above_percent: num(v, true) } }))))}
          {field("kill_process.memory_above_mb", "Only above memory (MB)", typed("kill_process.memory_above_mb", a.kill_process.memory_above_mb?.toString() ?? "", (v) => setA((old) => ({ ...old, kill_process: old.kill_process && { ...old.kill_process, memory_above_mb: num(v, true) } }))))}
          {bad["kill_process"] !== undefined && <span className="field-error" data-testid="error-kill_process">{bad["kill_process"]}</span>}
        </>)}
        {kind === "clear_folder" && a.clear_folder && (<>
          {field("clear_folder.path", "Folder", folder("clear_folder.path", a.clear_folder.path, (v) => setA((old) => ({ ...old, clear_folder: old.clear_folder && { ...old.clear_folder, path: v } })), "Choose the folder to clear", "/Users/me/Library/Caches/app"))}
          {field("clear_folder.older_than_days", "Files older than (days)", typed("clear_folder.older_than_days", String(a.clear_folder.older_than_days), (v) => setA((old) => ({ ...old, clear_folder: old.clear_folder && { ...old.clear_folder, older_than_days: num(v) as number } }))))}
        </>)}
      </div>
      <div className="grid2">
        {field("max_per_hour", "Runs per hour at most", typed("max_per_hour", String(a.max_per_hour), (v) => patch({ max_per_hour: num(v) as number })))}
        {field("cooldown_secs", "Cooldown between runs (s)", typed("cooldown_secs", String(a.cooldown_secs), (v) => patch({ cooldown_secs: num(v) as number })))}
        {field("max_attempts", "Attempts per incident", typed("max_attempts", String(a.max_attempts), (v) => patch({ max_attempts: num(v) as number })))}
        {field("verify_after_secs", "Check again after (s)", typed("verify_after_secs", String(a.verify_after_secs), (v) => patch({ verify_after_secs: num(v) as number })))}
        <label className="inline">
          <input type="checkbox" data-testid={`${t}-respect_manual_stop`} checked={a.respect_manual_stop} onChange={(e) => patch({ respect_manual_stop: e.target.checked })} />
          Leave a service alone that was stopped on purpose
        </label>
      </div>
      {bad[""] !== undefined && <p className="field-error" data-testid="error-action">{bad[""]}</p>}
      <ErrorNote error={error} />
      {dry && <DryRunView run={dry} />}
      <div className="actions">
        <button className="primary" data-testid={`${t}-save`} disabled={busy} onClick={() => void submit("save")}>Save</button>
        <button data-testid={`${t}-dry-run`} disabled={busy} onClick={() => void submit("dry")}>Dry run</button>
        <button onClick={onCancel}>Cancel</button>
      </div>
    </section>
  );
}
