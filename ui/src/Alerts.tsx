import { useCallback, useEffect, useState } from "react";
import type { Alert } from "./bindings/Alert";
import { useEngineEvent } from "./state/bus";
import type { Snapshot } from "./bindings/Snapshot";
import { Markdown } from "./components/Markdown";
import { ago } from "./format";
import { asCommandError, platform, type CommandError, type Commands } from "./platform";

function Runbook({ alertType }: { alertType: string }) {
  const [text, setText] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    void (async () => setText(await (await platform()).call("runbook", { alertType })))();
  }, [alertType]);
  if (text === undefined) return <div className="dim">Loading runbook…</div>;
  if (text === null) return <div className="dim">No runbook for this kind of alert.</div>;
  return <div className="runbook" data-testid="runbook"><Markdown text={text} /></div>;
}

function AlertRow({ a, now, onError }: { a: Alert; now: number; onError: (e: CommandError) => void }) {
  const [open, setOpen] = useState(false);
  const act = async <K extends "acknowledge_alert" | "resolve_alert" | "snooze_alert">(cmd: K, req: Commands[K]["req"]) => {
    try {
      await (await platform()).call(cmd, req);
    } catch (e) {
      onError(asCommandError(e));
    }
  };
  const snoozed = a.snoozed_until !== null && a.snoozed_until > now;
  return (
    <div className={`card alert ${a.severity} ${a.status}`} data-testid={`alert-${a.id}`}>
      <div className="alert-head">
        <span className={`sev ${a.severity}`}>{a.severity}</span>
        <span className="alert-title">{a.title}</span>
        <span className="badge" data-testid="alert-status">{a.status}{snoozed ? " · snoozed" : ""}</span>
      </div>
      <div className="alert-msg">{a.message}</div>
      <div className="alert-foot">
        <span className="dim">
          since {ago(a.created_at, now)}
          {a.acknowledged_at && ` · acknowledged ${ago(a.acknowledged_at, now)}`}
          {a.resolved_at && ` · resolved ${ago(a.resolved_at, now)}`}
          {snoozed && a.snoozed_until && ` · snoozed for ${Math.ceil((a.snoozed_until - now) / 60000)} min`}
        </span>
        <span className="buttons">
          <button className="link" onClick={() => setOpen((o) => !o)}>{open ? "Hide runbook" : "Runbook"}</button>
          {a.status === "active" && <button data-testid="ack" onClick={() => void act("acknowledge_alert", { id: a.id })}>Acknowledge</button>}
          {a.status !== "resolved" && (
            <>
              {[1, 4, 8].map((h) => <button key={h} onClick={() => void act("snooze_alert", { id: a.id, hours: h })}>Snooze {h} h</button>)}
              <button onClick={() => void act("resolve_alert", { id: a.id })}>Resolve</button>
            </>
          )}
        </span>
      </div>
      {open && <Runbook alertType={a.alert_type} />}
    </div>
  );
}

export function Alerts({ snapshot }: { snapshot: Snapshot }) {
  const [history, setHistory] = useState<Alert[]>([]);
  const [error, setError] = useState<CommandError | null>(null);
  const now = Date.now();
  const load = useCallback(async () => {
    try {
      const all = await (await platform()).call("list_alerts", { query: { include_resolved: true, limit: 200 } });
      setHistory(all.filter((a) => a.status === "resolved"));
    } catch (e) {
      setError(asCommandError(e));
    }
  }, []);
  useEffect(() => void load(), [load]);
  useEngineEvent((e) => {
    if (e.type === "alert_changed" && e.alert.status === "resolved") void load();
  });

  const paused = snapshot.notifications_paused_until;
  const togglePause = async () => {
    try {
      await (await platform()).call("pause_notifications", { minutes: paused ? null : 60 });
    } catch (e) {
      setError(asCommandError(e));
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h2>Alerts</h2>
        <button data-testid="pause" onClick={() => void togglePause()}>
          {paused ? `Notifications paused until ${new Date(paused).toLocaleTimeString()} · Resume` : "Pause notifications for 1 h"}
        </button>
      </div>
      {error && <div className="inline-error">{error.message}</div>}
      <h3 className="section">Open</h3>
      {snapshot.alerts.length === 0 && <div className="card dim" data-testid="no-alerts">All clear: nothing needs your attention.</div>}
      {snapshot.alerts.map((a) => <AlertRow key={a.id} a={a} now={now} onError={setError} />)}
      <h3 className="section">History</h3>
      {history.length === 0 && <div className="dim">No resolved alerts yet.</div>}
      {history.map((a) => <AlertRow key={a.id} a={a} now={now} onError={setError} />)}
    </div>
  );
}
