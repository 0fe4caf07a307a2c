import { useMemo, useState } from "react";
import type { LogLevel } from "../bindings/LogLevel";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { useEngineEvent } from "../state/bus";
import { call, useAction, useCommand } from "../state/useCommand";
import { useDebounced } from "../state/useDebounced";
import { LogRow } from "./LogRow";

const LEVELS: LogLevel[] = ["info", "warn", "error"];

/** The engine's log: a live tail, or a search. */
export function Logs() {
  const [paused, setPaused] = useState(false);
  const [level, setLevel] = useState<LogLevel>("info");
  const [text, setText] = useState("");
  const [target, setTarget] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const exporting = useAction();
  const searching = text.trim() !== "" || target !== "";
  const query = useMemo(() => ({ text: text.trim() || undefined, target: target || undefined, min_level: level, limit: 1000 }), [text, target, level]);
  // Typing a search waits for a pause in the keys, not one query per key.
  const typed = useDebounced(query, 200);
  const search = useCommand("search_logs", { query: typed }, { skip: !searching });
  const tail = useCommand("tail_logs", { lines: 1000 }, { skip: searching });

  useEngineEvent((e) => {
    if (e.type !== "log" || searching || paused) return;
    tail.setData((ls) => (ls ? [...ls, ...e.lines].slice(-2000) : ls));
  });

  const lines = useMemo(
    () => (searching ? [...(search.data ?? [])].reverse() : (tail.data ?? []).filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(level))),
    [searching, search.data, tail.data, level],
  );
  const components = useMemo(() => Array.from(new Set(lines.map((l) => l.target))).sort(), [lines]);

  const exportShown = () => void exporting.run(async () => setSaved(await call("export_logs", { query })));

  return (
    <div className="page">
      <div className="card log-toolbar">
        <Input data-testid="log-search" placeholder="Search the log…" value={text} onChange={(e) => setText(e.target.value)} />
        <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
          <option value="info">Info and above</option>
          <option value="warn">Warnings and errors</option>
          <option value="error">Errors only</option>
        </select>
        <select data-testid="log-component" value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">All components</option>
          {components.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <button onClick={() => setPaused((p) => !p)} disabled={searching}>{paused ? "Resume live tail" : "Pause live tail"}</button>
        <button onClick={exportShown}>Export…</button>
      </div>
      {saved && <div className="dim" data-testid="log-saved">Saved to {saved}</div>}
      <ErrorNote error={(searching ? search.error : tail.error) ?? exporting.error} />
      <div className="card log-lines tall" data-testid="log-lines">
        {lines.length === 0 && <div className="dim">No log lines match.</div>}
        {lines.map((l) => <LogRow key={l.id} l={l} />)}
      </div>
    </div>
  );
}
