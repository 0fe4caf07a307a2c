import type { RunReport } from "../bindings/RunReport";
import { bytes } from "../format";

/** Past maintenance runs, newest first; picking one shows its tasks and its log above. */
export function PastRuns({ runs, shown, onPick }: { runs: RunReport[]; shown: number | null; onPick: (r: RunReport) => void }) {
  return (
    <div className="card" data-testid="maintenance-history">
      <div className="card-title">Past runs</div>
      {runs.length === 0 && <div className="dim">No run yet.</div>}
      {runs.length > 0 && (
        <table className="procs">
          <thead><tr><th>Run</th><th>Started</th><th>How</th><th>Result</th><th>Tasks</th><th>Freed</th><th>Took</th></tr></thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.run_id} data-testid="maintenance-history-row" data-run={r.run_id} className={r.run_id === shown ? "on" : ""}>
                <td><button className="link" onClick={() => onPick(r)}>{r.run_id}</button></td>
                <td>{new Date(r.started_at).toLocaleString()}</td>
                <td>{r.trigger}</td>
                <td className={r.status === "completed" ? "ok-text" : r.status === "running" ? "" : "warn-text"}>{r.status}</td>
                <td>{r.summary.completed} ok{r.summary.failed > 0 ? `, ${r.summary.failed} failed` : ""}{r.summary.skipped > 0 ? `, ${r.summary.skipped} skipped` : ""}</td>
                <td>{bytes(r.summary.bytes_freed)}</td>
                <td>{(r.summary.duration_ms / 1000).toFixed(1)} s</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
