import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Markdown } from "../components/Markdown";
import { useCommand } from "../state/useCommand";

/** Every runbook shipped with Caretaker, one open at a time. */
export function Runbooks() {
  const list = useCommand("list_runbooks", {});
  const [open, setOpen] = useState<string | null>(null);
  const runbook = useCommand("runbook", { alertType: open ?? "" }, { skip: !open });
  const text = runbook.data;
  return (
    <div className="page runbooks">
      <div className="card runbook-list">
        <ErrorNote error={list.error} />
        {(list.data ?? []).map((r) => (
          <button key={r.id} className={`link ${open === r.id ? "on" : ""}`} onClick={() => setOpen(r.id)}>{r.title}</button>
        ))}
      </div>
      <div className="card">
        <ErrorNote error={runbook.error} />
        {text ? <Markdown text={text} /> : <div className="dim">{runbook.loading ? "Loading…" : "Choose a runbook."}</div>}
      </div>
    </div>
  );
}
