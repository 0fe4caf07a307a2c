import { useEffect, useMemo, useState } from "react";
import type { Event } from "../bindings/Event";
import type { MaintenanceStatus } from "../bindings/MaintenanceStatus";
import type { RunReport } from "../bindings/RunReport";
import type { TaskResult } from "../bindings/TaskResult";
import type { TaskStatus } from "../bindings/TaskStatus";
import { ErrorNote } from "../components/ErrorNote";
import { bytes } from "../format";
import { useEngineEvent } from "../state/bus";
import { call, useAction, useCommand } from "../state/useCommand";
import type { LogLine } from "../bindings/LogLine";
import { LogRow } from "./LogRow";
import { PastRuns } from "./PastRuns";

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

/** The maintenance run: its tasks as they go, the last run's summary, and its log. */
export function Maintenance() {
  const maintenance = useCommand("maintenance_status", {});
  const status = maintenance.data;
  const [live, setLive] = useState<RunReport | null>(null);
  // A past run picked from the list; the run in progress always wins.
  const [picked, setPicked] = useState<RunReport | null>(null);
  const history = useCommand("maintenance_history", { limit: 30 }, { refetchOn: ["maintenance_complete"] });
  // Lines logged during the run on screen since its log was last read (a command's output, live).
  const [fresh, setFresh] = useState<LogLine[]>([]);
  const action = useAction();

  useEffect(() => {
    if (status) setLive(status.running);
  }, [status]);

  useEngineEvent((e) => {
    if (e.type === "maintenance_progress") setLive((r) => applyProgress(r, e, status?.tasks ?? []));
    if (e.type === "log" && shown) {
      const mine = e.lines.filter((l) => (l.fields as { run_id?: number }).run_id === shown.run_id && l.target.startsWith("caretaker_engine::maintenance"));
      if (mine.length > 0) setFresh((f) => [...f, ...mine].slice(-500));
    }
    if (e.type === "maintenance_complete") {
      setLive(null);
      maintenance.setData((s) => (s ? { ...s, running: null, last_run: e.report } : s));
    }
  });

  const shown = live ?? picked ?? status?.last_run ?? null;
  const running = live !== null && live.status === "running";

  // Read again when the run starts and when it ends, not on every progress step.
  const logs = useCommand(
    "search_logs",
    { query: { target: "caretaker_engine::maintenance", since_ms: (shown?.started_at ?? 0) - 1000, limit: 200 } },
    { skip: !shown, deps: [shown?.run_id, shown?.status, shown?.ended_at] },
  );
  useEffect(() => setFresh([]), [logs.data]);
  const runLog = useMemo(() => {
    if (!shown) return [];
    const read = (logs.data ?? []).filter((l) => (l.fields as { run_id?: number }).run_id === shown.run_id).reverse();
    // Lines that came live and are already in what was read are shown once.
    const seen = new Set(read.map((l) => `${l.ts_ms}|${l.message}`));
    return [...read, ...fresh.filter((l) => !seen.has(`${l.ts_ms}|${l.message}`))];
  }, [logs.data, fresh, shown?.run_id]);

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
        <div className="card-title">{running ? "This run's log (live)" : `Run ${shown?.run_id ?? ""}'s log`}</div>
        <div className="log-lines">
          {runLog.length === 0 && <div className="dim">Nothing logged for this run yet.</div>}
          {runLog.map((l, i) => <LogRow key={`${i}-${l.ts_ms}`} l={l} />)}
        </div>
      </div>
      <PastRuns runs={history.data ?? []} shown={shown?.run_id ?? null} onPick={(r) => setPicked(r)} />
    </div>
  );
}
