import type { BackupRun } from "../bindings/BackupRun";
import type { TimeMachine } from "../bindings/TimeMachine";
import type { UnreadableReason } from "../bindings/UnreadableReason";
import { Ago } from "../components/Ago";

const REASONS: Record<UnreadableReason, string> = {
  permission_denied: "permission denied",
  vanished: "vanished during the backup",
  io: "read error",
};

/** System Settings → Privacy & Security → Full Disk Access. */
export const FULL_DISK_ACCESS_URL = "x-apple.systempreferences:com.apple.preference.security?Privacy_AllFiles";

/** How a run that left files out is said: never plain "ok". */
export function runStatus(r: BackupRun): string {
  return r.status === "partial" ? `completed with ${r.unreadable} unreadable` : r.status;
}

/** The files and folders a backup could not read, with the reason; folded away until asked for. */
export function UnreadableList({ run }: { run: BackupRun }) {
  if (run.unreadable === 0) return null;
  const unnamed = run.unreadable - run.unreadable_items.length;
  return (
    <details data-testid="unreadable-list">
      <summary>{run.unreadable} file(s) or folder(s) could not be read and are not in this snapshot</summary>
      <ul>
        {run.unreadable_items.map((i, n) => (
          <li key={n}>
            <span className="mono">{i.path || "(unnamed)"}</span> — {REASONS[i.reason]} <span className="dim">({i.message})</span>
          </li>
        ))}
      </ul>
      {unnamed > 0 && <p className="dim">and {unnamed} more (the first {run.unreadable_items.length} are kept by name)</p>}
    </details>
  );
}

/** On a Mac, "permission denied" is usually privacy protection: it lifts with Full Disk Access. */
export function FullDiskAccessNote({ run, macos }: { run: BackupRun; macos: boolean }) {
  if (!macos || !run.unreadable_items.some((i) => i.reason === "permission_denied")) return null;
  return (
    <div className="warn-text" data-testid="full-disk-access">
      <p>
        macOS keeps some folders (Mail, Messages, Safari, other apps' data) closed to apps until they have Full Disk Access.
        Open System Settings → Privacy &amp; Security → Full Disk Access, turn it on for Caretaker, then back up again.
      </p>
      <p>
        Or paste this address into Safari's address bar: <code className="mono" style={{ userSelect: "all" }}>{FULL_DISK_ACCESS_URL}</code>
      </p>
    </div>
  );
}

/** Time Machine's latest backup, a second signal beside Caretaker's own (macOS, when it is on). */
export function TimeMachineLine({ tm }: { tm: TimeMachine | null }) {
  if (!tm) return null;
  return (
    <div className="card" data-testid="time-machine">
      <span className="dim">Time Machine's latest backup: </span><Ago ms={tm.latest_ms} />
    </div>
  );
}
