import { useEffect, useState } from "react";
import { ErrorNote } from "./components/ErrorNote";
import { Input, TextArea } from "./components/Input";
import { Ago } from "./components/Ago";
import { Suggestion } from "./insights/Suggestion";
import { call, useAction, useCommand } from "./state/useCommand";

/** Lines of `a` and `b` side by side, marked where they differ. */
function LineDiff({ a, b }: { a: string; b: string }) {
  const la = a.split("\n");
  const lb = b.split("\n");
  const n = Math.max(la.length, lb.length);
  return (
    <div className="diff">
      {Array.from({ length: n }, (_, i) => (
        <div key={i} className={`diff-row ${la[i] === lb[i] ? "" : "changed"}`}>
          <span>{la[i] ?? ""}</span>
          <span>{lb[i] ?? ""}</span>
        </div>
      ))}
    </div>
  );
}

export function Insights() {
  const config = useCommand("analysis_config", {});
  const promptState = useCommand("analysis_prompt", {});
  const scanList = useCommand("analysis_scans", { limit: 20 }, { refetchOn: ["analysis_scan"] });
  // A suggestion's escalation changes with healing decisions (approved, ran, refused).
  const findingList = useCommand("list_findings", { includeDismissed: false }, { refetchOn: ["analysis_scan", "healing"] });
  const [endpoint, setEndpoint] = useState("");
  const [model, setModel] = useState("");
  const [cadence, setCadence] = useState(60);
  const [models, setModels] = useState<string[]>([]);
  const [draft, setDraft] = useState("");
  const [showDiff, setShowDiff] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const cfg = config.data;
  const prompt = promptState.data;
  const scans = scanList.data ?? [];
  const findings = findingList.data ?? [];
  const error = action.error ?? config.error ?? promptState.error ?? scanList.error ?? findingList.error;

  // The form starts from what the engine has saved, and again after each save.
  useEffect(() => {
    if (!cfg) return;
    setEndpoint(cfg.endpoint);
    setModel(cfg.model);
    setCadence(cfg.cadence_minutes);
  }, [cfg]);
  useEffect(() => {
    if (prompt) setDraft(prompt.template || prompt.default_template);
  }, [prompt]);

  const act = async (work: () => Promise<unknown>, ok?: string) => {
    setNotice(null);
    if ((await action.run(work)) && ok) setNotice(ok);
  };
  const saveAnalysis = (enabled: boolean, ok: string) =>
    act(async () => {
      const saved = await call("set_analysis", { enabled, endpoint, model, cadenceMinutes: cadence });
      config.setData(() => saved);
      // Enabling can seed the prompt.
      await promptState.refetch();
    }, ok);
  const savePrompt = (work: () => Promise<unknown>, ok: string) =>
    act(async () => {
      await work();
      await promptState.refetch();
    }, ok);

  const fetchModels = () => act(async () => setModels(await call("list_models", { endpoint })));

  return (
    <div className="page">
      <div className="page-head"><h2>Insights</h2></div>
      <div className="card form">
        <div className="card-title">Log analysis with a local model</div>
        <div className="grid2">
          <label className="inline">
            <input type="checkbox" data-testid="analysis-enabled" checked={cfg?.enabled ?? false}
              onChange={(e) => void saveAnalysis(e.target.checked, e.target.checked ? "Enabled: the server answers and has the model." : "Disabled.")} />
            Read Caretaker's warnings and errors every {cadence} min
          </label>
          <label>Every (minutes)<Input type="number" value={cadence} onChange={(e) => setCadence(Number(e.target.value))} /></label>
          <label className="wide">Endpoint (OpenAI-compatible)
            <Input data-testid="analysis-endpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} onBlur={() => void fetchModels()} />
          </label>
          <label>Model
            {/* Suggestions wanted here: the datalist offers the models the server has. */}
            <input list="models" spellCheck={false} data-testid="analysis-model" value={model} onChange={(e) => setModel(e.target.value)} />
            <datalist id="models">{models.map((m) => <option key={m} value={m} />)}</datalist>
          </label>
          <div className="actions">
            <button onClick={() => void fetchModels()}>List models</button>
            <button onClick={() => void saveAnalysis(cfg?.enabled ?? false, "Saved.")}>Save</button>
            <button className="primary" data-testid="scan-now" onClick={() => void act(async () => {
              await call("run_scan", {});
              await scanList.refetch();
            }, "Scan started.")}>Scan now</button>
          </div>
        </div>
        {models.length > 0 && <div className="dim">Models on this server: {models.join(", ")}</div>}
        <ErrorNote error={error} testId="analysis-error" />
        {notice && <div className="dim" data-testid="analysis-notice">{notice}</div>}
        <div className="dim">Nothing leaves this machine unless the endpoint points elsewhere.</div>
      </div>

      <h3 className="section">Findings</h3>
      {findingList.data?.length === 0 && <div className="card dim">No open findings.</div>}
      {findings.map((f) => (
        <div key={f.id} className={`card alert ${f.severity === "high" ? "critical" : "warning"}`} data-testid={`finding-${f.id}`}>
          <div className="alert-head">
            <span className={`sev ${f.severity === "high" ? "critical" : "warning"}`}>{f.severity}</span>
            <span className="alert-title">{f.title}</span>
            <span className="badge">{f.classification}</span>
          </div>
          <div className="alert-msg">{f.body}</div>
          <Suggestion finding={f} onChanged={() => void findingList.refetch()} />
          <div className="alert-foot">
            <span className="dim">logs {f.source_log_ids.join(", ") || "–"} · <Ago ms={f.created_at} /></span>
            <span className="buttons">
              <button onClick={() => void act(async () => navigator.clipboard?.writeText(await call("finding_issue_text", { id: f.id })), "Copied as an issue text.")}>Copy as issue</button>
              <button onClick={() => void act(async () => {
                await call("dismiss_finding", { id: f.id });
                await findingList.refetch();
              })}>Dismiss</button>
            </span>
          </div>
        </div>
      ))}

      <h3 className="section">Scans</h3>
      <div className="card">
        <table className="procs audit">
          <thead><tr><th>When</th><th>Status</th><th>Log lines</th><th>Findings</th><th>Problem</th></tr></thead>
          <tbody>
            {scans.map((s) => (
              <tr key={s.scan_id} title={s.raw_answer ?? ""}>
                <td className="dim"><Ago ms={s.started_at} /></td>
                <td>{s.status}</td>
                <td>{s.log_id_start + 1}–{s.log_id_end}</td>
                <td>{s.findings_created}</td>
                <td className="name">{s.error_message ?? ""}</td>
              </tr>
            ))}
            {scanList.data?.length === 0 && <tr><td colSpan={5} className="dim">No scans yet.</td></tr>}
          </tbody>
        </table>
      </div>

      <h3 className="section">Prompt</h3>
      <div className="card form">
        {prompt?.newer_default_available && (
          <div className="inline-error" data-testid="newer-default">A newer default prompt (version {prompt.default_version}) has shipped; yours is kept. <button className="link" onClick={() => setShowDiff((d) => !d)}>{showDiff ? "Hide" : "Show"} differences</button></div>
        )}
        {showDiff && prompt && <LineDiff a={prompt.template} b={prompt.default_template} />}
        <TextArea data-testid="prompt-editor" rows={14} value={draft} onChange={(e) => setDraft(e.target.value)} />
        <div className="actions">
          <button className="primary" onClick={() => void savePrompt(() => call("set_prompt", { template: draft }), "Prompt saved; upgrades will keep it.")}>Save prompt</button>
          <button onClick={() => void savePrompt(() => call("reset_prompt", {}), "Back to the default prompt.")}>Reset to default</button>
          <button className="link" onClick={() => setShowDiff((d) => !d)}>Compare with default</button>
          <span className="dim">{prompt?.user_modified ? "edited by you" : `default, version ${prompt?.default_version ?? ""}`}</span>
        </div>
      </div>
    </div>
  );
}
