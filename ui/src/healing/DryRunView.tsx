import type { DryRun } from "../bindings/DryRun";
import type { GuardRails } from "../bindings/GuardRails";

function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(1)} GB`;
}

function age(secs: number): string {
  if (secs < 3600) return `${Math.round(secs / 60)} min`;
  if (secs < 86_400) return `${Math.round(secs / 3600)} h`;
  return `${Math.round(secs / 86_400)} days`;
}

/** The guard rails beside an action: this hour's runs against the limits, and its cooldown. */
export function GuardLine({ g, testId }: { g: GuardRails; testId?: string }) {
  return (
    <div className="dim guard" data-testid={testId}>
      <span>this hour <b>{g.runs_last_hour}/{g.max_per_hour}</b></span>
      <span> · all actions <b>{g.all_runs_last_hour}/{g.max_actions_per_hour}</b></span>
      {g.cooldown_left_secs > 0 && <span> · cooling down <b>{g.cooldown_left_secs} s</b></span>}
      <span className={g.would_run ? "ok-text" : ""}> · {g.verdict}</span>
    </div>
  );
}

/** What the engine says an action would do now and to what; nothing was done. */
export function DryRunView({ run }: { run: DryRun }) {
  return (
    <div className="card dry-run" data-testid="dry-run">
      <div className="card-title">Dry run: {run.name || run.action_id} (nothing was done)</div>
      <p data-testid="dry-run-summary">{run.summary}</p>
      {run.refused && <p className="field-error" data-testid="dry-run-refused">{run.refused}</p>}
      {run.argv.length > 0 && (
        <div data-testid="dry-run-argv">
          <div>Would run, each line one argument (no shell):</div>
          <ol>{run.argv.map((a, i) => <li key={i}><code>{a}</code></li>)}</ol>
          <div className="dim">
            {run.working_dir ? <>in <code>{run.working_dir}</code></> : "in Caretaker's own folder"}
            {run.timeout_secs !== null && <>, stopped after {run.timeout_secs} s</>}
            {run.env_allow.length > 0 && <>, keeping {run.env_allow.join(", ")}</>}
          </div>
        </div>
      )}
      {run.folder && (
        <div data-testid="dry-run-folder">
          <div>
            <b>{run.folder.files}</b> files, <b>{bytes(run.folder.bytes)}</b>, older than {run.folder.older_than_days} days in <code>{run.folder.path}</code>
            {run.folder.oldest_age_secs !== null && <>; the oldest is {age(run.folder.oldest_age_secs)} old</>}
          </div>
          {run.folder.first_paths.length > 0 && (
            <ul className="dim">{run.folder.first_paths.map((p) => <li key={p}><code>{p}</code></li>)}</ul>
          )}
          {run.folder.error && <div className="field-error">Could not read {run.folder.error}</div>}
        </div>
      )}
      {run.processes && (
        <table className="procs" data-testid="dry-run-processes">
          <thead><tr><th>PID</th><th>Name</th><th>CPU</th><th>Memory</th></tr></thead>
          <tbody>
            {run.processes.map((p) => (
              <tr key={p.pid}><td>{p.pid}</td><td>{p.name}</td><td>{p.cpu_percent.toFixed(0)} %</td><td>{p.memory_mb} MB</td></tr>
            ))}
            {run.processes.length === 0 && <tr><td colSpan={4} className="dim">No process matches now.</td></tr>}
          </tbody>
        </table>
      )}
      <GuardLine g={run.guard} testId="dry-run-guard" />
    </div>
  );
}
