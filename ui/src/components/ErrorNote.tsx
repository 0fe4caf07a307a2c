import type { ReactNode } from "react";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { CommandError } from "../platform";

/** What to try next, for the codes whose message says what went wrong but not what to do. */
export const ERROR_HINTS: Partial<Record<ErrorCode, string>> = {
  busy: "Already running: wait for it to finish, or cancel it, then try again.",
  already_running: "Another Caretaker is already using this data folder.",
  wrong_password: "This password does not open the repository.",
  repository_unreachable: "Is the backup disk plugged in, or the network share mounted?",
  keychain_unavailable: "The system keychain could not be used: unlock it (or sign in again), then try again.",
  disk_full: "The disk is full: free some space, or choose another place, then try again.",
  invalid_config: "These settings need a change:",
  not_found: "It is no longer there; it may have been removed meanwhile.",
};

interface Props {
  error: CommandError | null;
  testId?: string;
  /** Something to do about one code in this place: the password entry for wrong_password. */
  actions?: Partial<Record<ErrorCode, ReactNode>>;
  /** Offered when what was asked for is gone (not_found): read the list again. */
  onRefresh?: () => void;
}

/** A failed command: the engine's message, then what the code says to try. */
export function ErrorNote({ error, testId, actions, onRefresh }: Props) {
  if (!error) return null;
  // An engine older than codes sends none; it is shown like any other failure.
  const code: ErrorCode = error.payload.code ?? "internal";
  const fields = error.payload.fields ?? [];
  const hint = ERROR_HINTS[code];
  return (
    <div className="error-note" role="alert" data-testid={testId} data-code={code}>
      <p className="error-message">{error.message}</p>
      {hint && <p className="error-hint">{hint}</p>}
      {code === "invalid_config" && fields.length > 0 && (
        <ul className="error-fields">
          {fields.map((f) => <li key={f}><code>{f}</code></li>)}
        </ul>
      )}
      {code === "not_found" && onRefresh && <button className="link" onClick={onRefresh}>Refresh</button>}
      {actions?.[code]}
    </div>
  );
}
