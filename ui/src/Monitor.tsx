import { useEffect, useMemo, useState } from "react";
import type { Event } from "./bindings/Event";
import type { LogLevel } from "./bindings/LogLevel";
import type { LogLine } from "./bindings/LogLine";
import type { MaintenanceStatus } from "./bindings/MaintenanceStatus";
import type { RunReport } from "./bindings/RunReport";
import type { TaskResult } from "./bindings/TaskResult";
import type { TaskStatus } from "./bindings/TaskStatus";
import { ErrorNote } from "./components/ErrorNote";
import { Input } from "./components/Input";
import { Markdown } from "./components/Markdown";
import { bytes } from "./format";
import { useEngineEvent } from "./state/bus";
import { call, useAction, useCommand } from "./state/useCommand";
import { useDebounced } from "./state/useDebounced";

const ICON: Record<TaskStatus, string> = { pending: "○", started: "◐", completed: "✓", failed: "✕", skipped: "↷" };

function when(ms: number | null | undefined) {
  return ms ? new Date(ms).toLocaleString() : "–";
}

function duration(t: TaskResult) {
  if (!t.started_at || !t.ended_at) return "";
  const ms = t.ended_at - t.started_at;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Applies a progress event to the run on screen. */
function applyProgress(run: RunReport | null, e: Extract<Event, { type: "maintenance_progress" }>, tasks: MaintenanceStatus["tasks"]): RunReport {
  const base: RunReport = run && run.run_id === e.run_id
    ? run
    : { run_id: e.run_id, trigger: "manual", status: "running", started_at: Date.now(), ended_at: null, summary: { completed: 0, failed: 0, skipped: 0, rows_pruned: 0, bytes_freed: 0, duration_ms: 0 },
        tasks: tasks.map((t) => ({ task_id: t.id, name: t.name, status: "pending", message: null, started_at: null, ended_at: null, rows_pruned: 0, bytes_freed: 0 })) };
  const now = Date.now();
  return {
    ...base,
    tasks: base.tasks.map((t) =>
      t.task_id === e.task_id
        ? { ...t, status: e.status, message: e.message, started_at: e.status === "started" ? now : t.started_at ?? now, ended_at: e.status === "started" ? null : now }
        : t,
    ),
  };
}

function Maintenance() {
  const maintenance = useCommand("maintenance_status", {});
  const status = maintenance.data;
  const [live, setLive] = useState<RunReport | null>(null);
  const action = useAction();

  useEffect(() => {
    if (status) setLive(status.running);
  }, [status]);

  useEngineEvent((e) => {
    if (e.type === "maintenance_progress") setLive((r) => applyProgress(r, e, status?.tasks ?? []));
    if (e.type === "maintenance_complete") {
      setLive(null);
      maintenance.setData((s) => (s ? { ...s, running: null, last_run: e.report } : s));
    }
  });

  const shown = live ?? status?.last_run ?? null;
  const running = live !== null && live.status === "running";

  // Read again when the run starts and when it ends, not on every progress step.
  const logs = useCommand(
    "search_logs",
    { query: { target: "caretaker_engine::maintenance", since_ms: (shown?.started_at ?? 0) - 1000, limit: 200 } },
    { skip: !shown, deps: [shown?.run_id, shown?.status, shown?.ended_at] },
  );
  const runLog = useMemo(
    () => (shown && logs.data ? logs.data.filter((l) => (l.fields as { run_id?: number }).run_id === shown.run_id).reverse() : []),
    [logs.data, shown?.run_id],
  );

  const run = () => void action.run(() => call("run_maintenance", {}));
  const cancel = () => void action.run(() => call("cancel_maintenance", {}));

  const done = shown ? shown.tasks.filter((t) => t.status !== "pending" && t.status !== "started").length : 0;
  const total = shown?.tasks.length ?? status?.tasks.length ?? 0;
  const current = shown?.tasks.find((t) => t.status === "started");
  const tasks = shown?.tasks ?? (status?.tasks ?? []).map((t) => ({ task_id: t.id, name: t.name, status: "pending" as TaskStatus, message: null, started_at: null, ended_at: null, rows_pruned: 0, bytes_freed: 0 }));
  const descriptions = new Map((status?.tasks ?? []).map((t) => [t.id, t]));

  return (
    <div className="page">
      <div className="card status-panel">
        <div>
          <div className="big" data-testid="maintenance-state">
            {running ? `Running task ${Math.min(done + 1, total)} of ${total}${current ? `: ${current.name}` : ""}` : "Idle"}
          </div>
          <div className="dim">
            Last run: {status?.last_run ? `${when(status.last_run.started_at)} (${status.last_run.status})` : "never"} · Next run: {when(status?.next_run_ms)}
          </div>
        </div>
        <div className="actions">
          <button className="primary" data-testid="run-now" disabled={running} onClick={run}>{running ? "Running…" : "Run now"}</button>
          <button data-testid="cancel-run" disabled={!running} onClick={cancel}>Cancel</button>
        </div>
      </div>
      <ErrorNote error={action.error ?? maintenance.error} testId="maintenance-error" />
      <div className="progress"><div className="progress-fill" style={{ width: `${total ? (done * 100) / total : 0}%` }} /></div>
      {shown && !running && (
        <div className="card summary" data-testid="maintenance-summary">
          Run {shown.run_id} {shown.status}: {shown.summary.completed} completed, {shown.summary.failed} failed, {shown.summary.skipped} skipped ·{" "}
          {shown.summary.rows_pruned} rows pruned · {bytes(shown.summary.bytes_freed)} freed · {(shown.summary.duration_ms / 1000).toFixed(1)} s
        </div>
      )}
      <div className="task-grid" data-testid="task-grid">
        {tasks.map((t) => (
          <div key={t.task_id} className={`card task ${t.status}`} data-testid={`task-${t.task_id}`} data-status={t.status} title={descriptions.get(t.task_id)?.description}>
            <div className="task-head">
              <span className={`task-icon ${t.status}`}>{ICON[t.status]}</span>
              <span className="task-name">{t.name}</span>
              {descriptions.get(t.task_id)?.optional && <span className="badge">optional</span>}
              <span className="dim">{duration(t)}</span>
            </div>
            <div className="task-msg">{t.message ?? descriptions.get(t.task_id)?.description}</div>
          </div>
        ))}
      </div>
      <div className="card">
        <div className="card-title">This run's log</div>
        <div className="log-lines">
          {runLog.length === 0 && <div className="dim">Nothing logged for this run yet.</div>}
          {runLog.map((l) => <LogRow key={l.id} l={l} />)}
        </div>
      </div>
    </div>
  );
}

function LogRow({ l }: { l: LogLine }) {
  return (
    <div className={`log-line ${l.level}`}>
      <span className="ts">{new Date(l.ts_ms).toLocaleTimeString()}</span>
      <span className={`lvl ${l.level}`}>{l.level}</span>
      <span className="tgt">{l.target.replace(/^caretaker_engine::?/, "") || "engine"}</span>
      <span className="msg">{l.message}</span>
    </div>
  );
}

const LEVELS: LogLevel[] = ["info", "warn", "error"];

function Logs() {
  const [paused, setPaused] = useState(false);
  const [level, setLevel] = useState<LogLevel>("info");
  const [text, setText] = useState("");
  const [target, setTarget] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const exporting = useAction();
  const searching = text.trim() !== "" || target !== "";
  const query = useMemo(() => ({ text: text.trim() || undefined, target: target || undefined, min_level: level, limit: 1000 }), [text, target, level]);
  // Typing a search waits for a pause in the keys, not one query per key.
  const typed = useDebounced(query, 200);
  const search = useCommand("search_logs", { query: typed }, { skip: !searching });
  const tail = useCommand("tail_logs", { lines: 1000 }, { skip: searching });

  useEngineEvent((e) => {
    if (e.type !== "log" || searching || paused) return;
    tail.setData((ls) => (ls ? [...ls, ...e.lines].slice(-2000) : ls));
  });

  const lines = useMemo(
    () => (searching ? [...(search.data ?? [])].reverse() : (tail.data ?? []).filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(level))),
    [searching, search.data, tail.data, level],
  );
  const components = useMemo(() => Array.from(new Set(lines.map((l) => l.target))).sort(), [lines]);

  const exportShown = () => void exporting.run(async () => setSaved(await call("export_logs", { query })));

  return (
    <div className="page">
      <div className="card log-toolbar">
        <Input data-testid="log-search" placeholder="Search the log…" value={text} onChange={(e) => setText(e.target.value)} />
        <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
          <option value="info">Info and above</option>
          <option value="warn">Warnings and errors</option>
          <option value="error">Errors only</option>
        </select>
        <select data-testid="log-component" value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">All components</option>
          {components.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <button onClick={() => setPaused((p) => !p)} disabled={searching}>{paused ? "Resume live tail" : "Pause live tail"}</button>
        <button onClick={exportShown}>Export…</button>
      </div>
      {saved && <div className="dim" data-testid="log-saved">Saved to {saved}</div>}
      <ErrorNote error={(searching ? search.error : tail.error) ?? exporting.error} />
      <div className="card log-lines tall" data-testid="log-lines">
        {lines.length === 0 && <div className="dim">No log lines match.</div>}
        {lines.map((l) => <LogRow key={l.id} l={l} />)}
      </div>
    </div>
  );
}

function Runbooks() {
  const list = useCommand("list_runbooks", {});
  const [open, setOpen] = useState<string | null>(null);
  const runbook = useCommand("runbook", { alertType: open ?? "" }, { skip: !open });
  const text = runbook.data;
  return (
    <div className="page runbooks">
      <div className="card runbook-list">
        <ErrorNote error={list.error} />
        {(list.data ?? []).map((r) => (
          <button key={r.id} className={`link ${open === r.id ? "on" : ""}`} onClick={() => setOpen(r.id)}>{r.title}</button>
        ))}
      </div>
      <div className="card">
        <ErrorNote error={runbook.error} />
        {text ? <Markdown text={text} /> : <div className="dim">{runbook.loading ? "Loading…" : "Choose a runbook."}</div>}
      </div>
    </div>
  );
}

export function Monitor() {
  const [tab, setTab] = useState<"maintenance" | "logs" | "runbooks">("maintenance");
  return (
    <div className="page">
      <div className="page-head">
        <h2>Monitor</h2>
        <div className="segmented">
          {(["maintenance", "logs", "runbooks"] as const).map((t) => (
            <button key={t} data-testid={`monitor-${t}`} className={tab === t ? "on" : ""} onClick={() => setTab(t)}>{t[0].toUpperCase() + t.slice(1)}</button>
          ))}
        </div>
      </div>
      {tab === "maintenance" && <Maintenance />}
      {tab === "logs" && <Logs />}
      {tab === "runbooks" && <Runbooks />}
    </div>
  );
}
