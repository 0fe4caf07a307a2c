import type { Finding } from "../bindings/Finding";
import type { HealingRecord } from "../bindings/HealingRecord";
import { ErrorNote } from "../components/ErrorNote";
import { DryRunView } from "../healing/DryRunView";
import { call, useAction, useCommand } from "../state/useCommand";

const label = (r: HealingRecord) => r.decision.replace(/_/g, " ");

/**
 * What log analysis suggested for a finding. A suggestion the engine matched to a configured
 * action waits as an escalation: the dry run shows what it would do and to what, then the person
 * runs it or dismisses it. Anything else is text, with the engine's reason.
 */
export function Suggestion({ finding, onChanged }: { finding: Finding; onChanged: () => void }) {
  if (!finding.suggestion) return null;
  const confidence = finding.suggested_confidence === null ? "" : ` (${Math.round(finding.suggested_confidence * 100)} % confident)`;
  const waiting = finding.healing.find((r) => r.decision === "escalated" && r.outcome === null);
  const latest = finding.healing[0];
  return (
    <div className="alert-msg suggestion" data-testid={`suggestion-${finding.id}`}>
      <div>Suggested action: <b>{finding.suggestion}</b>{confidence}</div>
      {finding.suggestion_note && <div className="dim" data-testid="suggestion-note">Shown as text only: {finding.suggestion_note}</div>}
      {waiting && <Approval escalation={waiting} onChanged={onChanged} />}
      {!waiting && latest && (
        <div className="dim" data-testid="suggestion-state">
          {label(latest)}{latest.outcome ? `: ${latest.outcome}` : latest.started_at && !latest.ended_at ? ": running…" : ""}
        </div>
      )}
    </div>
  );
}

/** The escalation waiting for the person: its dry run first, then Run it / Dismiss. */
export function Approval({ escalation, onChanged }: { escalation: HealingRecord; onChanged: () => void }) {
  const preview = useCommand("dry_run_healing_action", { id: escalation.action_id, action: null });
  const action = useAction();
  const act = (cmd: "approve_escalation" | "dismiss_escalation") =>
    void action.run(async () => {
      await call(cmd, { id: escalation.id });
      onChanged();
    });
  return (
    <div data-testid={`approval-${escalation.id}`}>
      <div className="dim">Waiting for you: nothing runs until you say so.</div>
      {preview.data && <DryRunView run={preview.data} />}
      {preview.loading && <div className="dim">Looking at what it would do…</div>}
      <ErrorNote error={preview.error ?? action.error} testId="suggestion-error" />
      <span className="buttons">
        {/* Approved knowing what it would do: only once the dry run is shown. */}
        <button className="primary" data-testid="run-it" disabled={!preview.data || action.busy} onClick={() => act("approve_escalation")}>Run it</button>
        <button data-testid="dismiss-it" disabled={action.busy} onClick={() => act("dismiss_escalation")}>Dismiss</button>
      </span>
    </div>
  );
}
