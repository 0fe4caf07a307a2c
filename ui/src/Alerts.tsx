import { useEffect, useRef, useState } from "react";
import type { Alert } from "./bindings/Alert";
import type { Event } from "./bindings/Event";
import type { Snapshot } from "./bindings/Snapshot";
import { ErrorNote } from "./components/ErrorNote";
import { Markdown } from "./components/Markdown";
import { Ago } from "./components/Ago";
import { minutesLeftNextChangeIn, useNow } from "./state/clock";
import type { Commands } from "./platform";
import { call, useAction, useCommand } from "./state/useCommand";

function Runbook({ alertType }: { alertType: string }) {
  const runbook = useCommand("runbook", { alertType });
  if (runbook.error) return <ErrorNote error={runbook.error} />;
  if (runbook.loading) return <div className="dim">Loading runbook…</div>;
  if (runbook.data === null) return <div className="dim">No runbook for this kind of alert.</div>;
  return <div className="runbook" data-testid="runbook"><Markdown text={runbook.data} /></div>;
}

type AlertCommand = "acknowledge_alert" | "resolve_alert" | "snooze_alert";

function AlertRow({ a, act, focused = false }: {
  a: Alert;
  act: <K extends AlertCommand>(cmd: K, req: Commands[K]["req"]) => void;
  /** Opened from a notification about this alert: shown with its runbook, scrolled to. */
  focused?: boolean;
}) {
  const [open, setOpen] = useState(focused);
  const row = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!focused) return;
    setOpen(true);
    row.current?.scrollIntoView?.({ block: "center" });
  }, [focused]);
  // Only a snooze counts down here; the ages keep themselves current.
  const until = a.snoozed_until;
  const now = useNow((n) => (until === null ? Infinity : minutesLeftNextChangeIn(until, n)));
  const snoozed = a.snoozed_until !== null && a.snoozed_until > now;
  return (
    <div ref={row} className={`card alert ${a.severity} ${a.status}${focused ? " focused" : ""}`} data-testid={`alert-${a.id}`}>
      <div className="alert-head">
        <span className={`sev ${a.severity}`}>{a.severity}</span>
        <span className="alert-title">{a.title}</span>
        <span className="badge" data-testid="alert-status">{a.status}{snoozed ? " · snoozed" : ""}</span>
        {(a.flap_count ?? 0) > 0 && (
          <span className="badge" data-testid="alert-flaps" title="It cleared and came back within the flap window; one incident, said once.">
            flapping · came back {a.flap_count}×
          </span>
        )}
      </div>
      <div className="alert-msg">{a.message}</div>
      <div className="alert-foot">
        <span className="dim">
          since <Ago ms={a.created_at} />
          {a.acknowledged_at && <> · acknowledged <Ago ms={a.acknowledged_at} /></>}
          {a.resolved_at && <> · resolved <Ago ms={a.resolved_at} /></>}
          {snoozed && a.snoozed_until && ` · snoozed for ${Math.ceil((a.snoozed_until - now) / 60000)} min`}
        </span>
        <span className="buttons">
          <button className="link" onClick={() => setOpen((o) => !o)}>{open ? "Hide runbook" : "Runbook"}</button>
          {a.status === "active" && <button data-testid="ack" onClick={() => act("acknowledge_alert", { id: a.id })}>Acknowledge</button>}
          {a.status !== "resolved" && (
            <>
              {[1, 4, 8].map((h) => <button key={h} onClick={() => act("snooze_alert", { id: a.id, hours: h })}>Snooze {h} h</button>)}
              <button onClick={() => act("resolve_alert", { id: a.id })}>Resolve</button>
            </>
          )}
        </span>
      </div>
      {open && <Runbook alertType={a.alert_type} />}
    </div>
  );
}

const resolvedAlert = (e: Event) => e.type === "alert_changed" && e.alert.status === "resolved";

export function Alerts({ snapshot, focus = null }: { snapshot: Snapshot; focus?: number | null }) {
  const all = useCommand("list_alerts", { query: { include_resolved: true, limit: 200 } }, { refetchOn: [resolvedAlert] });
  const action = useAction();
  const history = (all.data ?? []).filter((a) => a.status === "resolved");
  const act = <K extends AlertCommand>(cmd: K, req: Commands[K]["req"]) => void action.run(() => call(cmd, req));

  const paused = snapshot.notifications_paused_until;
  const togglePause = () => void action.run(() => call("pause_notifications", { minutes: paused ? null : 60 }));

  return (
    <div className="page">
      <div className="page-head">
        <h2>Alerts</h2>
        <button data-testid="pause" onClick={togglePause}>
          {paused ? `Notifications paused until ${new Date(paused).toLocaleTimeString()} · Resume` : "Pause notifications for 1 h"}
        </button>
      </div>
      <ErrorNote error={all.error ?? action.error} onRefresh={() => void all.refetch()} />
      <h3 className="section">Open</h3>
      {snapshot.alerts.length === 0 && <div className="card dim" data-testid="no-alerts">All clear: nothing needs your attention.</div>}
      {snapshot.alerts.map((a) => <AlertRow key={a.id} a={a} act={act} focused={a.id === focus} />)}
      <h3 className="section">History</h3>
      {history.length === 0 && <div className="dim">No resolved alerts yet.</div>}
      {history.map((a) => <AlertRow key={a.id} a={a} act={act} focused={a.id === focus} />)}
    </div>
  );
}
