import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Event } from "./bindings/Event";
import type { LogLevel } from "./bindings/LogLevel";
import type { LogLine } from "./bindings/LogLine";
import type { MaintenanceStatus } from "./bindings/MaintenanceStatus";
import type { RunReport } from "./bindings/RunReport";
import type { RunbookInfo } from "./bindings/RunbookInfo";
import type { TaskResult } from "./bindings/TaskResult";
import type { TaskStatus } from "./bindings/TaskStatus";
import { Markdown } from "./components/Markdown";
import { bytes } from "./format";
import { asCommandError, platform, type CommandError } from "./platform";
import { useEngineEvent } from "./state/bus";

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
  const [status, setStatus] = useState<MaintenanceStatus | null>(null);
  const [live, setLive] = useState<RunReport | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [runLog, setRunLog] = useState<LogLine[]>([]);

  const load = useCallback(async () => {
    try {
      const s = await (await platform()).call("maintenance_status", {});
      setStatus(s);
      setLive(s.running);
    } catch (e) {
      setError(asCommandError(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  useEngineEvent((e) => {
    if (e.type === "maintenance_progress") setLive((r) => applyProgress(r, e, status?.tasks ?? []));
    if (e.type === "maintenance_complete") {
      setLive(null);
      setStatus((s) => (s ? { ...s, running: null, last_run: e.report } : s));
    }
  });

  const shown = live ?? status?.last_run ?? null;
  const running = live !== null && live.status === "running";

  useEffect(() => {
    if (!shown) return;
    void (async () => {
      try {
        const lines = await (await platform()).call("search_logs", { query: { target: "caretaker_engine::maintenance", since_ms: shown.started_at - 1000, limit: 200 } });
        setRunLog(lines.filter((l) => (l.fields as { run_id?: number }).run_id === shown.run_id).reverse());
      } catch {
        setRunLog([]);
      }
    })();
  }, [shown?.run_id, shown?.status, shown?.ended_at]);

  const run = async () => {
    setError(null);
    try {
      await (await platform()).call("run_maintenance", {});
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const cancel = async () => {
    try {
      await (await platform()).call("cancel_maintenance", {});
    } catch (e) {
      setError(asCommandError(e));
    }
  };

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
          <button className="primary" data-testid="run-now" disabled={running} onClick={() => void run()}>{running ? "Running…" : "Run now"}</button>
          <button data-testid="cancel-run" disabled={!running} onClick={() => void cancel()}>Cancel</button>
        </div>
      </div>
      {error && <div className="inline-error" data-testid="maintenance-error">{error.message}</div>}
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
  const [lines, setLines] = useState<LogLine[]>([]);
  const [paused, setPaused] = useState(false);
  const [level, setLevel] = useState<LogLevel>("info");
  const [text, setText] = useState("");
  const [target, setTarget] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const searching = text.trim() !== "" || target !== "";
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const query = useMemo(() => ({ text: text.trim() || undefined, target: target || undefined, min_level: level, limit: 1000 }), [text, target, level]);

  useEffect(() => {
    const t = setTimeout(async () => {
      try {
        const p = await platform();
        setLines(searching ? (await p.call("search_logs", { query })).reverse() : (await p.call("tail_logs", { lines: 1000 })).filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(level)));
        setError(null);
      } catch (e) {
        setError(asCommandError(e));
      }
    }, 200);
    return () => clearTimeout(t);
  }, [query, searching, level]);

  useEngineEvent((e) => {
    if (e.type !== "log" || searching || pausedRef.current) return;
    const fresh = e.lines.filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(level));
    if (fresh.length) setLines((ls) => [...ls, ...fresh].slice(-2000));
  });

  const components = useMemo(() => Array.from(new Set(lines.map((l) => l.target))).sort(), [lines]);

  const exportShown = async () => {
    try {
      setSaved(await (await platform()).call("export_logs", { query }));
    } catch (e) {
      setError(asCommandError(e));
    }
  };

  return (
    <div className="page">
      <div className="card log-toolbar">
        <input data-testid="log-search" placeholder="Search the log…" value={text} onChange={(e) => setText(e.target.value)} />
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
        <button onClick={() => void exportShown()}>Export…</button>
      </div>
      {saved && <div className="dim" data-testid="log-saved">Saved to {saved}</div>}
      {error && <div className="inline-error">{error.message}</div>}
      <div className="card log-lines tall" data-testid="log-lines">
        {lines.length === 0 && <div className="dim">No log lines match.</div>}
        {lines.map((l) => <LogRow key={l.id} l={l} />)}
      </div>
    </div>
  );
}

function Runbooks() {
  const [list, setList] = useState<RunbookInfo[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    void (async () => setList(await (await platform()).call("list_runbooks", {})))();
  }, []);
  useEffect(() => {
    if (!open) return;
    void (async () => setText(await (await platform()).call("runbook", { alertType: open })))();
  }, [open]);
  return (
    <div className="page runbooks">
      <div className="card runbook-list">
        {list.map((r) => (
          <button key={r.id} className={`link ${open === r.id ? "on" : ""}`} onClick={() => setOpen(r.id)}>{r.title}</button>
        ))}
      </div>
      <div className="card">{text ? <Markdown text={text} /> : <div className="dim">Choose a runbook.</div>}</div>
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
