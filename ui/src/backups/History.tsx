import type { BackupRun } from "../bindings/BackupRun";
import { Ago } from "../components/Ago";
import { bytes } from "../format";
import { runStatus, UnreadableList } from "./Unreadable";

const STATUS_CLASS: Record<string, string> = { ok: "ok-text", partial: "warn-text", failed: "crit-text" };
const saved = (r: BackupRun) => r.kind === "backup" && (r.status === "ok" || r.status === "partial");

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
              <td className={STATUS_CLASS[r.status] ?? ""} data-testid="run-status">{runStatus(r)}</td>
              <td className="dim">
                {r.error ?? (saved(r) ? `${r.files_new} new · ${r.files_changed} changed · ${bytes(r.bytes_added)} added` : "")}
                <UnreadableList run={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
