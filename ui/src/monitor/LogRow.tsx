import type { LogLine } from "../bindings/LogLine";

/** One log line: time, level, component, message. */
export function LogRow({ l }: { l: LogLine }) {
  return (
    <div className={`log-line ${l.level}`}>
      <span className="ts">{new Date(l.ts_ms).toLocaleTimeString()}</span>
      <span className={`lvl ${l.level}`}>{l.level}</span>
      <span className="tgt">{l.target.replace(/^caretaker_engine::?/, "") || "engine"}</span>
      <span className="msg">{l.message}</span>
    </div>
  );
}
