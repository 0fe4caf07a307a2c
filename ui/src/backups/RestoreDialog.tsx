import { useState } from "react";
import type { ConflictPolicy } from "../bindings/ConflictPolicy";
import type { RestoreOutcome } from "../bindings/RestoreOutcome";
import type { SnapshotInfo } from "../bindings/SnapshotInfo";
import type { TreeEntry } from "../bindings/TreeEntry";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { PathPicker } from "../components/PathPicker";
import { bytes } from "../format";
import { call, useAction } from "../state/useCommand";

interface Props {
  plan: string;
  snapshot: SnapshotInfo;
  /** null restores the whole snapshot. */
  entry: TreeEntry | null;
  onClose: () => void;
}

/** Restores into a folder; files already there are never replaced without a choice. */
export function RestoreDialog({ plan, snapshot, entry, onClose }: Props) {
  const [dest, setDest] = useState("");
  const [result, setResult] = useState<RestoreOutcome | null>(null);
  const restoring = useAction();
  const busy = restoring.busy;
  const what = entry ? entry.path : "the whole snapshot";
  const go = (onConflict: ConflictPolicy | null) =>
    void restoring.run(async () => setResult(await call("restore_backup", { plan, snapshot: snapshot.id, path: entry?.path ?? "", destination: dest.trim(), onConflict })));

  return (
    <div className="card form" data-testid="restore-dialog">
      <div className="card-title">Restore {what}</div>
      <p className="dim">From the snapshot of {new Date(snapshot.time_ms).toLocaleString()}. Nothing is replaced without asking.</p>
      <label>Into the folder
        <div className="path-field">
          <Input data-testid="restore-dest" placeholder="/Users/me/Restored" value={dest} onChange={(e) => setDest(e.target.value)} />
          <PathPicker kind="folder" title="Restore into this folder" testId="restore-dest-pick" onPick={setDest} />
        </div>
      </label>
      {result?.outcome === "conflict" && (
        <div className="warn-card" data-testid="restore-conflict">
          <p>{result.report.existing} file(s) already exist there, e.g. {result.report.examples.join(", ")}. Nothing was written. What should happen to them?</p>
          <div className="row">
            <button data-testid="conflict-skip" disabled={busy} onClick={() => go("skip")}>Skip existing</button>
            <button data-testid="conflict-keep-both" disabled={busy} onClick={() => go("keep_both")}>Keep both (restored copies get a dated name)</button>
            <button data-testid="conflict-overwrite" disabled={busy} onClick={() => go("overwrite")}>Overwrite (after saving them in a safety snapshot)</button>
          </div>
        </div>
      )}
      {result?.outcome === "done" && (
        <div className="ok-text" data-testid="restore-done">
          Restored {result.summary.files_restored} file(s), {bytes(result.summary.bytes_restored)}
          {result.summary.files_skipped > 0 && `, skipped ${result.summary.files_skipped}`}
          {result.summary.files_renamed > 0 && `, ${result.summary.files_renamed} under a new name`}
          {result.summary.safety_snapshot && `; replaced files are in safety snapshot ${result.summary.safety_snapshot.slice(0, 8)}`}.
        </div>
      )}
      <ErrorNote error={restoring.error} testId="restore-error" />
      <div className="row">
        {result?.outcome !== "done" && (
          <button data-testid="restore-go" className="primary" disabled={busy || !dest.trim()} onClick={() => go(null)}>
            {busy ? "Restoring…" : "Restore"}
          </button>
        )}
        <button onClick={onClose}>{result?.outcome === "done" ? "Close" : "Cancel"}</button>
      </div>
    </div>
  );
}
