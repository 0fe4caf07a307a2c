import { useState } from "react";
import type { ActionSummary } from "../bindings/ActionSummary";
import type { DryRun } from "../bindings/DryRun";
import type { HealingMode } from "../bindings/HealingMode";
import type { HealingOverview } from "../bindings/HealingOverview";
import { Ago } from "../components/Ago";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";
import { ActionForm } from "./ActionForm";
import { DryRunView } from "./DryRunView";
import { fieldErrors } from "./fields";

const MODES: HealingMode[] = ["escalate", "auto", "off"];
const modeLabel = (m: HealingMode) => (m === "escalate" ? "ask first" : m);

/** The configured actions, each with its guard rails, mode switch, dry run, edit and remove. */
export function ActionsEditor({ overview, onChanged }: { overview: HealingOverview | null; onChanged: (o: HealingOverview) => void }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const actions = overview?.actions ?? [];

  const run = async (f: () => Promise<void>) => {
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const setMode = (id: string, mode: HealingMode) => void run(async () => onChanged(await call("set_healing_mode", { id, mode })));
  const remove = (a: ActionSummary) => {
    if (!window.confirm(`Remove the healing action "${a.config.name}"? Its audit log stays.`)) return;
    void run(async () => {
      onChanged(await call("delete_healing_action", { id: a.config.id }));
      if (dry?.action_id === a.config.id) setDry(null);
    });
  };
  const dryRun = (id: string) => void run(async () => setDry(await call("dry_run_healing_action", { id, action: null })));

  return (
    <>
      <div className="page-head">
        <h3 className="section">Actions</h3>
        {!adding && <button className="primary" data-testid="add-action" onClick={() => setAdding(true)}>Add action</button>}
      </div>
      {overview && <LimitForm overview={overview} onChanged={onChanged} />}
      {adding && (
        <ActionForm
          original={null}
          onSaved={(o) => {
            onChanged(o);
            setAdding(false);
          }}
          onCancel={() => setAdding(false)}
        />
      )}
      <ErrorNote error={error} />
      {overview?.actions.length === 0 && !adding && (
        <div className="card dim">No actions yet. Add one: only actions you define can ever run, and each asks you first unless you switch it to auto.</div>
      )}
      {dry && <DryRunView run={dry} />}
      <div className="tiles">
        {actions.map((a) =>
          editing === a.config.id ? (
            <ActionForm
              key={a.config.id}
              original={a.config.id}
              initial={a.config}
              onSaved={(o) => {
                onChanged(o);
                setEditing(null);
              }}
              onCancel={() => setEditing(null)}
            />
          ) : (
            <div key={a.config.id} className="card tile" data-testid={`action-${a.config.id}`}>
              <div className="tile-head">
                <span className="tile-name">{a.config.name}</span>
                <select data-testid={`mode-${a.config.id}`} className={`badge mode-${a.config.mode}`} value={a.config.mode} onChange={(e) => setMode(a.config.id, e.target.value as HealingMode)}>
                  {MODES.map((m) => <option key={m} value={m}>{modeLabel(m)}</option>)}
                </select>
              </div>
              <div className="dim tile-target">{a.kind} · when {[...a.config.on_checks.map((c) => `check ${c} fails`), ...a.config.on_alerts.map((r) => `${r} alert`)].join(", ")}</div>
              <div className="uptime" data-testid={`guard-${a.config.id}`}>
                <span>last hour <b>{a.runs_last_hour}/{a.config.max_per_hour}</b></span>
                <span>cooldown {a.cooldown_left_secs > 0 ? <b>{a.cooldown_left_secs} s left</b> : "ready"}</span>
                <span>runs <b>{a.runs_total}</b></span>
                <span>healed <b>{a.healed_total}</b></span>
              </div>
              <div className="dim tile-foot">
                <span>cooldown {a.config.cooldown_secs} s · {a.config.max_attempts} attempts per incident</span>
                <span>{a.last_run_at ? <>ran <Ago ms={a.last_run_at} /></> : "never ran"}</span>
              </div>
              <div className="actions">
                <button data-testid={`dry-run-${a.config.id}`} onClick={() => dryRun(a.config.id)}>Dry run</button>
                <button data-testid={`edit-${a.config.id}`} onClick={() => setEditing(a.config.id)}>Edit</button>
                <button className="link danger" data-testid={`remove-${a.config.id}`} onClick={() => remove(a)}>Remove</button>
              </div>
            </div>
          ),
        )}
      </div>
    </>
  );
}

/** The limit for all actions together, with this hour's count beside it. */
export function LimitForm({ overview, onChanged }: { overview: HealingOverview; onChanged: (o: HealingOverview) => void }) {
  const [text, setText] = useState(String(overview.max_actions_per_hour));
  const [error, setError] = useState<CommandError | null>(null);
  // A new limit from the engine replaces the field, set during render: an effect doing it ran
  // after the form first appeared, and could land after the first keystroke and undo it.
  const [limit, setLimit] = useState(overview.max_actions_per_hour);
  if (limit !== overview.max_actions_per_hour) {
    setLimit(overview.max_actions_per_hour);
    setText(String(overview.max_actions_per_hour));
  }
  const bad = fieldErrors(error)["max_actions_per_hour"];
  const save = async () => {
    setError(null);
    try {
      onChanged(await call("set_healing_limit", { maxActionsPerHour: Number(text) }));
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  return (
    <div className="card form" data-testid="healing-limit">
      <label className={bad !== undefined ? "invalid inline" : "inline"}>
        All actions together, at most
        <Input data-testid="healing-limit-input" inputMode="numeric" size={4} value={text} onChange={(e) => setText(e.target.value)} />
        per hour · <b data-testid="healing-limit-used">{overview.runs_last_hour}</b> ran in the last hour
        <button data-testid="healing-limit-save" onClick={() => void save()}>Set</button>
      </label>
      {bad !== undefined && <span className="field-error" data-testid="error-max_actions_per_hour">{bad}</span>}
      {error && bad === undefined && <ErrorNote error={error} />}
    </div>
  );
}
