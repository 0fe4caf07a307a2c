import { useState } from "react";
import { asCommandError } from "../platform";
import { call } from "../state/useCommand";

interface Props {
  /** A folder or a file. */
  kind: "folder" | "file";
  /** What the dialog is for, as its title ("Choose the repository folder"). */
  title: string;
  /** Called with the chosen path; not called when the person cancels. */
  onPick: (path: string) => void;
  testId?: string;
  label?: string;
}

/**
 * "Choose…" beside a path field: the OS's own folder or file dialog, drawn by the shell (the
 * window gets only the chosen path). The field stays editable for a path typed or pasted.
 */
export function PathPicker({ kind, title, onPick, testId, label = "Choose…" }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pick = async () => {
    setBusy(true);
    setError(null);
    try {
      const path = await call(kind === "folder" ? "pick_folder" : "pick_file", { title });
      if (path) onPick(path);
    } catch (e) {
      setError(asCommandError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="picker" data-testid={testId} disabled={busy} onClick={() => void pick()}>
        {label}
      </button>
      {error && <span className="inline-error" role="alert">{error}</span>}
    </>
  );
}

/** Adds a line to a one-path-per-line list, unless it is there already. */
export function addLine(list: string, line: string): string {
  const lines = list.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.includes(line)) return list;
  return [...lines, line].join("\n");
}
