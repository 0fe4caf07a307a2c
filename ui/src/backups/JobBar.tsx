import { useRef } from "react";
import type { JobInfo } from "../bindings/JobInfo";
import { bytes, duration } from "../format";
import { useTicking } from "../state/clock";
import { call } from "../state/useCommand";

/** Bytes, files, rate and ETA; an unknown total is said, not guessed. */
export function JobBar({ job }: { job: JobInfo }) {
  // Shown only while a job runs: its rate and time left move every second.
  const now = useTicking(1000);
  const first = useRef<{ at: number; bytes: number } | null>(null);
  if (!first.current || first.current.bytes > job.progress.bytes_done) first.current = { at: now, bytes: job.progress.bytes_done };
  const p = job.progress;
  const secs = Math.max(1, (now - first.current.at) / 1000);
  const rate = (p.bytes_done - first.current.bytes) / secs;
  const total = p.bytes_total;
  const pctDone = total ? Math.min(100, (100 * p.bytes_done) / Math.max(1, total)) : null;
  const eta = total && rate > 0 ? Math.round((total - p.bytes_done) / rate) : null;
  // A refusal means the job already finished; its end event updates the page.
  const cancel = () => void call("cancel_backup", {}).catch(() => {});
  return (
    <div className="job" data-testid="backup-progress">
      <div className="row spread">
        <span>
          <b>{job.kind === "forget" ? "Applying retention" : job.kind[0].toUpperCase() + job.kind.slice(1)}</b> · {job.plan} · {p.phase || "starting"}
        </span>
        <button data-testid="backup-cancel" onClick={cancel}>Cancel</button>
      </div>
      <div className={`bar ${pctDone === null ? "indeterminate" : ""}`}>
        <div style={{ width: `${pctDone ?? 100}%` }} />
      </div>
      <div className="dim">
        {bytes(p.bytes_done)} {total !== null ? `of ${bytes(total)}` : "(total not known yet)"}
        {p.files_total !== null ? ` · ${p.files_done} of ${p.files_total} files` : ""}
        {rate > 0 ? ` · ${bytes(rate)}/s` : ""}
        {eta !== null ? ` · about ${duration(eta)} left` : ""}
      </div>
    </div>
  );
}
