import { useState } from "react";
import type { ServiceSwitch } from "../bindings/ServiceSwitch";
import { asCommandError } from "../platform";
import { call, useCommand } from "../state/useCommand";

/** Reads the switch, and changes it; one change at a time. */
function useServiceSwitch() {
  const current = useCommand("service_switch", {});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const apply = async (change: () => Promise<ServiceSwitch>) => {
    setBusy(true);
    setFailure(null);
    try {
      const next = await change();
      current.setData(() => next);
    } catch (e) {
      setFailure(asCommandError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return {
    data: current.data,
    error: failure ?? current.error?.message ?? null,
    busy,
    set: (enabled: boolean) => apply(() => call("set_service", { enabled })),
    skip: () => apply(() => call("skip_service_question", {})),
  };
}

const WHY =
  "Caretaker then starts when you log in and again after a crash or a power cut, whether this window is open or not. Closing the window only hides it.";

/** The first-run question, on the Overview until it is answered either way. */
export function ServiceQuestion() {
  const sw = useServiceSwitch();
  const s = sw.data;
  if (!s || s.asked || !s.state || s.state.installed || s.state.unavailable) return null;
  return (
    <section className="card service-question" data-testid="service-question">
      <div className="card-title">Keep Caretaker watching in the background?</div>
      <p>{WHY}</p>
      {s.problem && <p className="error">{s.problem}</p>}
      {sw.error && <p className="error">{sw.error}</p>}
      <div className="actions">
        <button className="primary" data-testid="service-yes" disabled={sw.busy} onClick={() => void sw.set(true)}>
          {sw.busy ? "Setting up…" : "Keep it running"}
        </button>
        <button data-testid="service-not-now" disabled={sw.busy} onClick={() => void sw.skip()}>
          Not now
        </button>
      </div>
    </section>
  );
}

/** Settings → Background service: the switch, what it installed, and who runs the engine. */
export function BackgroundService() {
  const sw = useServiceSwitch();
  const s = sw.data;
  const state = s?.state ?? null;
  const unusable = !state || !!state.unavailable;
  return (
    <section className="card" data-testid="service-settings">
      <div className="card-title">Background service</div>
      <p className="muted">{WHY}</p>
      {!s && !sw.error && <p className="muted">Asking the service manager…</p>}
      {s && (
        <label className="switch-row">
          <input
            type="checkbox"
            data-testid="service-switch"
            checked={!!state?.installed}
            disabled={sw.busy || (unusable && !state?.installed)}
            onChange={(e) => void sw.set(e.target.checked)}
          />
          <span>{sw.busy ? "Changing…" : "Keep Caretaker running in the background"}</span>
        </label>
      )}
      {state && (
        <dl className="facts">
          <dt>Service</dt>
          <dd data-testid="service-kind">
            {state.kind}, {state.installed ? "installed" : "not installed"}
          </dd>
          <dt>Running</dt>
          <dd data-testid="service-running">{state.running ? `yes${state.pid ? ` (pid ${state.pid})` : ""}` : `no (${state.detail})`}</dd>
          <dt>File</dt>
          <dd className="path">{state.file}</dd>
          <dt>This window</dt>
          <dd data-testid="service-attached">{s?.attached ? "follows a separate engine" : "runs its own engine (it stops when the app quits)"}</dd>
        </dl>
      )}
      {s?.problem && (
        <p className="error" data-testid="service-problem">
          {s.problem}
        </p>
      )}
      {sw.error && <p className="error">{sw.error}</p>}
    </section>
  );
}
