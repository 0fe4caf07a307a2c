import { useState } from "react";
import type { Decision } from "./bindings/Decision";
import { ErrorNote } from "./components/ErrorNote";
import { Ago } from "./components/Ago";
import { ActionsEditor } from "./healing/ActionsEditor";
import { Approval } from "./insights/Suggestion";
import { call, useAction, useCommand, type Trigger } from "./state/useCommand";

const DECISIONS: Decision[] = ["ran", "approved_by_user", "escalated", "refused_rate_limit", "refused_cooldown", "refused_max_attempts", "refused_manual_stop"];

const label = (d: Decision) => d.replace(/_/g, " ");

// A healing decision, or an alert that closed (its escalation goes with it).
const refetchOn: Trigger[] = ["healing", (e) => e.type === "alert_changed" && e.alert.status === "resolved"];

export function Healing() {
  const [filterAction, setFilterAction] = useState("");
  const [filterDecision, setFilterDecision] = useState<Decision | "">("");
  const overviewCmd = useCommand("healing_overview", {}, { refetchOn });
  const pendingList = useCommand("pending_escalations", {}, { refetchOn });
  const logList = useCommand("healing_log", { query: { limit: 200, action_id: filterAction || undefined, decision: filterDecision || undefined } }, { refetchOn });
  const action = useAction();
  const actions = overviewCmd.data?.actions ?? [];
  const pending = pendingList.data ?? [];
  const log = logList.data ?? [];

  const act = (cmd: "approve_escalation" | "dismiss_escalation", id: number) =>
    void action.run(async () => {
      await call(cmd, { id });
      await Promise.all([overviewCmd.refetch(), pendingList.refetch(), logList.refetch()]);
    });

  return (
    <div className="page">
      <div className="page-head"><h2>Healing</h2></div>
      <ErrorNote error={overviewCmd.error ?? pendingList.error ?? logList.error ?? action.error} onRefresh={() => void pendingList.refetch()} />
      <h3 className="section">Waiting for you</h3>
      {pendingList.data?.length === 0 && <div className="card dim" data-testid="no-escalations">Nothing is waiting for your approval.</div>}
      {pending.map((p) => (
        <div key={p.id} className="card alert warning" data-testid={`escalation-${p.id}`}>
          <div className="alert-head">
            <span className="alert-title">{actions.find((a) => a.config.id === p.action_id)?.config.name ?? p.action_id} for {p.subject}</span>
            <span className="dim"><Ago ms={p.created_at} /></span>
          </div>
          <div className="alert-msg">{p.outcome ?? (p.finding_id !== null ? "Suggested by log analysis (see Insights). Nothing runs until you say so." : "Proposed because its alert is open. Nothing runs until you say so.")}</div>
          {p.stdout && <div className="alert-msg" data-testid="escalation-preview">{p.stdout}</div>}
          <div className="alert-msg"><code>{p.argv.join(" ")}</code></div>
          {p.finding_id !== null ? (
            // A suggestion is approved knowing what it would do: its dry run, then the buttons.
            <Approval escalation={p} onChanged={() => void Promise.all([overviewCmd.refetch(), pendingList.refetch(), logList.refetch()])} />
          ) : (
            <div className="alert-foot">
              <span />
              <span className="buttons">
                <button className="primary" data-testid="run-it" onClick={() => act("approve_escalation", p.id)}>Run it</button>
                <button onClick={() => act("dismiss_escalation", p.id)}>Dismiss</button>
              </span>
            </div>
          )}
        </div>
      ))}
      <ActionsEditor overview={overviewCmd.data} onChanged={(o) => overviewCmd.setData(() => o)} />
      <h3 className="section">Audit log</h3>
      <div className="card log-toolbar">
        <select value={filterAction} onChange={(e) => setFilterAction(e.target.value)}>
          <option value="">All actions</option>
          {actions.map((a) => <option key={a.config.id} value={a.config.id}>{a.config.name}</option>)}
        </select>
        <select value={filterDecision} onChange={(e) => setFilterDecision(e.target.value as Decision | "")}>
          <option value="">All decisions</option>
          {DECISIONS.map((d) => <option key={d} value={d}>{label(d)}</option>)}
        </select>
      </div>
      <div className="card">
        <table className="procs audit" data-testid="audit">
          <thead>
            <tr><th>When</th><th>Action</th><th>Subject</th><th>Decision</th><th>Outcome</th><th>Healed</th></tr>
          </thead>
          <tbody>
            {log.map((r) => (
              <tr key={r.id} title={[r.argv.join(" "), r.stdout, r.stderr].filter(Boolean).join("\n")}>
                <td className="dim"><Ago ms={r.created_at} /></td>
                <td>{r.action_id}</td>
                <td>{r.subject}</td>
                <td>{label(r.decision)}</td>
                <td className="name">{r.outcome ?? (r.started_at && !r.ended_at ? "running…" : "")}</td>
                <td>{r.healed === null ? "–" : r.healed ? "yes" : "no"}</td>
              </tr>
            ))}
            {logList.data?.length === 0 && <tr><td colSpan={6} className="dim">No decisions recorded.</td></tr>}
          </tbody>
        </table>
      </div>
    </div>
  );
}
