import { useState } from "react";
import type { LogLevel } from "../bindings/LogLevel";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call, useCommand } from "../state/useCommand";

const num = (t: string) => (t.trim() === "" ? NaN : Number(t));
const shown = (n: number) => (Number.isFinite(n) ? String(n) : "");

/**
 * `[analysis]`: how much of the log a scan reads and how long the model may take. The server, the
 * model, the cadence and the prompt are set on the Insights page, which checks the server first.
 */
export function InsightsSettings() {
  const config = useCommand("analysis_config", {});
  // What the person changed; a field left alone shows the engine's value (no copy made in an
  // effect, which could land after the first keystroke and undo it).
  const [edits, setEdits] = useState<{ lines?: number; level?: LogLevel; timeout?: number }>({});
  const [error, setError] = useState<CommandError | null>(null);
  const [saved, setSaved] = useState(false);
  const cfg = config.data;
  if (!cfg) return <ErrorNote error={config.error} />;
  const lines = edits.lines ?? cfg.max_log_lines;
  const level = edits.level ?? cfg.min_level;
  const timeout = edits.timeout ?? cfg.request_timeout_secs;
  const setLines = (n: number) => setEdits((e) => ({ ...e, lines: n }));
  const setLevel = (l: LogLevel) => setEdits((e) => ({ ...e, level: l }));
  const setTimeoutSecs = (n: number) => setEdits((e) => ({ ...e, timeout: n }));
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      const next = await call("set_analysis_reading", { maxLogLines: lines, minLevel: level, requestTimeoutSecs: timeout });
      config.setData(() => next);
      setEdits({});
      setSaved(true);
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const bad = new Set((error?.payload.fields ?? []).map((f) => f.replace("analysis.", "")));
  return (
    <section className="card form" data-testid="section-analysis">
      <div className="card-title">Insights</div>
      <p className="dim">
        The model {cfg.enabled ? `${cfg.model} at ${cfg.endpoint} reads the log every ${cfg.cadence_minutes} min` : "is off"}; the server, the model and the prompt are set on the Insights page.
      </p>
      <div className="grid2">
        <label className={bad.has("max_log_lines") ? "invalid" : ""}>Lines of the log one scan reads at most
          <Input data-testid="analysis-max_log_lines" inputMode="numeric" value={shown(lines)} onChange={(e) => setLines(num(e.target.value))} />
        </label>
        <label>Lowest level it reads
          <select data-testid="analysis-min_level" value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
            <option value="info">Info and above</option>
            <option value="warn">Warnings and errors</option>
            <option value="error">Errors only</option>
          </select>
        </label>
        <label className={bad.has("request_timeout_secs") ? "invalid" : ""}>An answer may take at most (s)
          <Input data-testid="analysis-request_timeout_secs" inputMode="numeric" value={shown(timeout)} onChange={(e) => setTimeoutSecs(num(e.target.value))} />
        </label>
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button className="primary" data-testid="analysis-save" onClick={() => void save()}>Save</button>
        {saved && <span className="ok">Saved and applied.</span>}
      </div>
    </section>
  );
}
