import { useState } from "react";
import type { SnapshotInfo } from "../bindings/SnapshotInfo";
import type { TreeEntry } from "../bindings/TreeEntry";
import { ErrorNote } from "../components/ErrorNote";
import { bytes } from "../format";
import { useCommand } from "../state/useCommand";
import { PasswordEntry } from "./PasswordEntry";
import { RestoreDialog } from "./RestoreDialog";

/** A plan's snapshots, a folder tree inside one, and the restore dialog. */
export function Browser({ plan, onClose }: { plan: string; onClose: () => void }) {
  const [snap, setSnap] = useState<SnapshotInfo | null>(null);
  const [path, setPath] = useState("");
  const [restoring, setRestoring] = useState<{ entry: TreeEntry | null } | null>(null);
  const snaps = useCommand("backup_snapshots", { plan });
  // The tree is not on screen while the restore dialog is.
  const entries = useCommand("backup_ls", { plan, snapshot: snap?.id ?? "", path }, { skip: !snap || restoring !== null });
  const error = snaps.error ?? entries.error;

  const open = (s: SnapshotInfo, p: string) => {
    setSnap(s);
    setPath(p);
  };
  const retry = () => void Promise.all([snaps.refetch(), snap ? entries.refetch() : undefined]);

  const crumbs = path.split("/").filter(Boolean);
  return (
    <div className="card" data-testid="snapshot-browser">
      <div className="row spread">
        <div className="card-title">Snapshots of {plan}</div>
        <button onClick={onClose}>Close</button>
      </div>
      <ErrorNote
        error={error}
        onRefresh={retry}
        actions={{ wrong_password: <PasswordEntry plan={plan} reason="The saved password does not open this repository." onSaved={retry} /> }}
      />
      {snaps.data === null && !error && <div className="dim">Reading the repository…</div>}
      {snaps.data?.length === 0 && <div className="dim">No snapshots yet.</div>}
      {!snap && snaps.data && snaps.data.length > 0 && (
        <table className="table">
          <thead><tr><th>When</th><th>Id</th><th>Files</th><th>Size</th><th /></tr></thead>
          <tbody>
            {snaps.data.map((s) => (
              <tr key={s.id} data-testid="snapshot-row">
                <td>{new Date(s.time_ms).toLocaleString()}{s.tags.includes("caretaker-safety") ? " (safety copy)" : ""}</td>
                <td className="mono">{s.short_id}</td>
                <td>{s.files}</td>
                <td>{bytes(s.bytes)}</td>
                <td className="actions">
                  <button data-testid="snapshot-browse" onClick={() => open(s, "")}>Browse</button>
                  <button onClick={() => { open(s, ""); setRestoring({ entry: null }); }}>Restore all…</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {snap && !restoring && (
        <>
          <div className="crumbs">
            <button className="link" onClick={() => setSnap(null)}>All snapshots</button>
            <span> / </span>
            <button className="link" onClick={() => open(snap, "")}>{snap.short_id}</button>
            {crumbs.map((c, i) => (
              <span key={i}>
                {" / "}
                <button className="link" onClick={() => open(snap, "/" + crumbs.slice(0, i + 1).join("/"))}>{c}</button>
              </span>
            ))}
          </div>
          {entries.data === null && !entries.error && <div className="dim">Loading…</div>}
          {entries.data && (
            <table className="table">
              <tbody>
                {entries.data.map((e) => (
                  <tr key={e.path} data-testid="tree-entry" data-name={e.name}>
                    <td>{e.is_dir ? <button className="link" onClick={() => open(snap, e.path)}>📁 {e.name}</button> : <span>{e.name}</span>}</td>
                    <td>{e.is_dir ? "" : bytes(e.size)}</td>
                    <td>{e.mtime_ms ? new Date(e.mtime_ms).toLocaleString() : ""}</td>
                    <td className="actions"><button data-testid="restore-entry" onClick={() => setRestoring({ entry: e })}>Restore…</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {snap && restoring && <RestoreDialog plan={plan} snapshot={snap} entry={restoring.entry} onClose={() => setRestoring(null)} />}
    </div>
  );
}
