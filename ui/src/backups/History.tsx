import type { BackupRun } from "../bindings/BackupRun";
import { Ago } from "../components/Ago";
import { bytes } from "../format";

/** The latest jobs of every plan, newest first, as the engine recorded them. */
export function History({ runs }: { runs: BackupRun[] }) {
  return (
    <div className="card">
      <div className="card-title">Recent jobs</div>
      <table className="table" data-testid="backup-history">
        <thead><tr><th>When</th><th>Plan</th><th>Job</th><th>Status</th><th>Details</th></tr></thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td><Ago ms={r.started_ms} /></td>
              <td>{r.plan}</td>
              <td>{r.kind === "forget" ? "retention" : r.kind}</td>
              <td className={r.status === "ok" ? "ok-text" : r.status === "failed" ? "crit-text" : ""}>{r.status}</td>
              <td className="dim">{r.error ?? (r.kind === "backup" && r.status === "ok" ? `${r.files_new} new · ${r.files_changed} changed · ${bytes(r.bytes_added)} added` : "")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
