import { useEffect, useMemo, useState } from "react";
import type { LogLevel } from "../bindings/LogLevel";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { useEngineEvent } from "../state/bus";
import { call, useAction, useCommand } from "../state/useCommand";
import { useDebounced } from "../state/useDebounced";
import { LogRow } from "./LogRow";

const LEVELS: LogLevel[] = ["info", "warn", "error"];

/** The time filter's choices: how far back, in ms (0: any time). */
export const SINCE: { id: string; label: string; ms: number }[] = [
  { id: "any", label: "Any time", ms: 0 },
  { id: "1h", label: "Last hour", ms: 3600_000 },
  { id: "24h", label: "Last 24 h", ms: 86400_000 },
  { id: "7d", label: "Last 7 days", ms: 7 * 86400_000 },
];

/** The engine's log: a live tail, or a search. */
export function Logs() {
  const [paused, setPaused] = useState(false);
  const [level, setLevel] = useState<LogLevel>("info");
  const [text, setText] = useState("");
  const [target, setTarget] = useState("");
  const [since, setSince] = useState("any");
  // Every component seen since the page opened: the list does not shrink to what a filter shows.
  const [known, setKnown] = useState<string[]>([]);
  const sinceMs = SINCE.find((s) => s.id === since)?.ms ?? 0;
  // Fixed when the choice is made, so a search is one query, not one per render.
  const [sinceFrom, setSinceFrom] = useState<number | undefined>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const exporting = useAction();
  const searching = text.trim() !== "" || target !== "" || sinceMs > 0;
  const query = useMemo(
    () => ({ text: text.trim() || undefined, target: target || undefined, min_level: level, since_ms: sinceFrom, limit: 1000 }),
    [text, target, level, sinceFrom],
  );
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
  useEffect(() => {
    setKnown((k) => {
      const next = new Set([...k, ...lines.map((l) => l.target)]);
      return next.size === k.length ? k : Array.from(next).sort();
    });
  }, [lines]);
  const components = target && !known.includes(target) ? [...known, target].sort() : known;

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
        <select data-testid="log-since" value={since} onChange={(e) => {
          const ms = SINCE.find((s) => s.id === e.target.value)?.ms ?? 0;
          setSince(e.target.value);
          setSinceFrom(ms > 0 ? Date.now() - ms : undefined);
        }}>
          {SINCE.map((s) => <option key={s.id} value={s.id}>{s.label}</option>)}
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
