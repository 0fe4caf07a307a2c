import { useEffect, useRef, useState } from "react";
import type { CheckConfig } from "./bindings/CheckConfig";
import { useEngineEvent } from "./state/bus";
import { call, useAction, useCommand } from "./state/useCommand";
import { ErrorNote } from "./components/ErrorNote";
import { Input, TextArea } from "./components/Input";
import { Sparkline } from "./components/Sparkline";
import { Ago } from "./components/Ago";

const KINDS = ["http", "tcp", "process", "command", "json_value"] as const;
type Kind = (typeof KINDS)[number];

function blank(kind: Kind): CheckConfig {
  const base: CheckConfig = { name: "", interval_secs: 60, timeout_secs: 10, degraded_latency_ms: null, enabled: true, http: null, tcp: null, process: null, command: null, json_value: null };
  switch (kind) {
    case "http":
      return { ...base, http: { url: "http://127.0.0.1:8080/", method: "GET", expect_status: [200, 399], body_contains: null, json_pointer: null, json_equals: null } };
    case "tcp":
      return { ...base, tcp: { host: "127.0.0.1", port: 5432 } };
    case "process":
      return { ...base, process: { name: "", command_line_contains: null } };
    case "command":
      return { ...base, command: { argv: [], expect_exit: 0, working_dir: null, warning_above: null, critical_above: null } };
    case "json_value":
      return { ...base, json_value: { url: "http://127.0.0.1:8080/stats", pointer: "/queue/depth", warning_above: 100, critical_above: 1000, warning_below: null, critical_below: null } };
  }
}

function kindOf(c: CheckConfig): Kind {
  return c.http ? "http" : c.tcp ? "tcp" : c.process ? "process" : c.command ? "command" : "json_value";
}

const num = (v: string): number | null => (v.trim() === "" ? null : Number(v));

function CheckForm({ initial, onDone }: { initial: CheckConfig | null; onDone: () => void }) {
  const [c, setC] = useState<CheckConfig>(initial ?? blank("http"));
  const [argv, setArgv] = useState((initial?.command?.argv ?? []).join("\n"));
  const saving = useAction();
  const kind = kindOf(c);
  const set = (patch: Partial<CheckConfig>) => setC((x) => ({ ...x, ...patch }));

  const save = async () => {
    const check = kind === "command" && c.command ? { ...c, command: { ...c.command, argv: argv.split("\n").map((a) => a.trim()).filter(Boolean) } } : c;
    if (await saving.run(() => call("save_check", { original: initial?.name ?? null, check }))) onDone();
  };

  return (
    <div className="card form" data-testid="check-form">
      <div className="card-title">{initial ? `Edit ${initial.name}` : "Add a check"}</div>
      <div className="grid2">
        <label>Name<Input data-testid="check-name" value={c.name} onChange={(e) => set({ name: e.target.value })} /></label>
        <label>Kind
          <select data-testid="check-kind" value={kind} disabled={!!initial} onChange={(e) => setC({ ...blank(e.target.value as Kind), name: c.name })}>
            {KINDS.map((k) => <option key={k} value={k}>{k.replace("_", " ")}</option>)}
          </select>
        </label>
        <label>Every (s)<Input type="number" value={c.interval_secs} onChange={(e) => set({ interval_secs: Number(e.target.value) })} /></label>
        <label>Timeout (s)<Input type="number" value={c.timeout_secs} onChange={(e) => set({ timeout_secs: Number(e.target.value) })} /></label>
        <label>Degraded above (ms)<Input type="number" value={c.degraded_latency_ms ?? ""} onChange={(e) => set({ degraded_latency_ms: num(e.target.value) })} /></label>
        <label className="inline"><input type="checkbox" checked={c.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled</label>
        {c.http && (
          <>
            <label className="wide">URL<Input data-testid="check-url" value={c.http.url} onChange={(e) => set({ http: { ...c.http!, url: e.target.value } })} /></label>
            <label>Body contains<Input value={c.http.body_contains ?? ""} onChange={(e) => set({ http: { ...c.http!, body_contains: e.target.value || null } })} /></label>
            <label>JSON pointer<Input value={c.http.json_pointer ?? ""} onChange={(e) => set({ http: { ...c.http!, json_pointer: e.target.value || null } })} /></label>
          </>
        )}
        {c.tcp && (
          <>
            <label>Host<Input value={c.tcp.host} onChange={(e) => set({ tcp: { ...c.tcp!, host: e.target.value } })} /></label>
            <label>Port<Input data-testid="check-port" type="number" value={c.tcp.port} onChange={(e) => set({ tcp: { ...c.tcp!, port: Number(e.target.value) } })} /></label>
          </>
        )}
        {c.process && (
          <>
            <label>Process name<Input value={c.process.name ?? ""} onChange={(e) => set({ process: { ...c.process!, name: e.target.value || null } })} /></label>
            <label>Command line contains<Input value={c.process.command_line_contains ?? ""} onChange={(e) => set({ process: { ...c.process!, command_line_contains: e.target.value || null } })} /></label>
          </>
        )}
        {c.command && (
          <>
            <label className="wide">Program and arguments, one per line (never run through a shell)<TextArea rows={3} value={argv} onChange={(e) => setArgv(e.target.value)} /></label>
            <label>Expected exit code<Input type="number" value={c.command.expect_exit} onChange={(e) => set({ command: { ...c.command!, expect_exit: Number(e.target.value) } })} /></label>
          </>
        )}
        {c.json_value && (
          <>
            <label className="wide">URL<Input value={c.json_value.url} onChange={(e) => set({ json_value: { ...c.json_value!, url: e.target.value } })} /></label>
            <label>JSON pointer<Input value={c.json_value.pointer} onChange={(e) => set({ json_value: { ...c.json_value!, pointer: e.target.value } })} /></label>
            <label>Warning above<Input type="number" value={c.json_value.warning_above ?? ""} onChange={(e) => set({ json_value: { ...c.json_value!, warning_above: num(e.target.value) } })} /></label>
            <label>Critical above<Input type="number" value={c.json_value.critical_above ?? ""} onChange={(e) => set({ json_value: { ...c.json_value!, critical_above: num(e.target.value) } })} /></label>
            <label title="When the oldest job in progress started (a time) or its age in seconds; a stuck detector reads it">Oldest item in progress (JSON pointer)<Input data-testid="json-oldest-pointer" value={c.json_value.oldest_pointer ?? ""} onChange={(e) => set({ json_value: { ...c.json_value!, oldest_pointer: e.target.value.trim() || null } })} /></label>
          </>
        )}
      </div>
      <ErrorNote error={saving.error} testId="check-form-error" />
      <div className="actions">
        <button className="primary" data-testid="check-save" disabled={saving.busy} onClick={() => void save()}>Save</button>
        <button onClick={onDone}>Cancel</button>
      </div>
    </div>
  );
}

function uptime(v: number | null) {
  return v === null ? "–" : `${v.toFixed(v >= 99.95 || v < 10 ? 0 : 1)} %`;
}

// Uptime and the sparkline take four queries per check; after a result they are read again
// once things are quiet for this long, not once per result.
const SUMMARY_REFRESH_MS = 15_000;

export function Services() {
  const list = useCommand("list_checks", {}, { refetchOn: ["checks_changed"] });
  const [editing, setEditing] = useState<CheckConfig | null | "new">(null);
  const deleting = useAction();
  const refreshSoon = useRef<ReturnType<typeof setTimeout> | null>(null);
  const checks = list.data;

  useEngineEvent((e) => {
    if (e.type !== "check_result") return;
    // The status, latency and error on a tile are the result itself: shown at once.
    list.setData((cs) => cs && cs.map((c) => (c.config.name === e.result.service_name ? { ...c, latest: e.result } : c)));
    refreshSoon.current ??= setTimeout(() => {
      refreshSoon.current = null;
      void list.refetch();
    }, SUMMARY_REFRESH_MS);
  });
  useEffect(() => () => {
    if (refreshSoon.current) clearTimeout(refreshSoon.current);
  }, []);

  const remove = (name: string) => {
    if (!window.confirm(`Delete the check "${name}"? Its history stays until retention removes it.`)) return;
    void deleting.run(() => call("delete_check", { name }));
  };

  return (
    <div className="page">
      <div className="page-head">
        <h2>Services</h2>
        <button className="primary" data-testid="add-check" onClick={() => setEditing("new")}>Add check</button>
      </div>
      <ErrorNote error={list.error ?? deleting.error} onRefresh={() => void list.refetch()} />
      {editing !== null && <CheckForm initial={editing === "new" ? null : editing} onDone={() => { setEditing(null); void list.refetch(); }} />}
      <div className="tiles">
        {(checks ?? []).map((c) => {
          const status = c.latest?.status ?? "pending";
          return (
            <div key={c.config.name} className={`card tile ${status}`} data-testid={`check-${c.config.name}`}>
              <div className="tile-head">
                <span className={`dot ${status}`} />
                <span className="tile-name">{c.config.name}</span>
                <span className="badge" data-testid="check-status">{c.config.enabled ? status : "disabled"}</span>
              </div>
              <div className="dim tile-target" title={c.target}>{c.kind} · {c.target}</div>
              <div className="tile-row">
                <Sparkline values={c.recent_latency_ms} />
                <span className="latency">{c.latest && c.latest.status !== "down" && c.latest.latency_ms != null ? `${c.latest.latency_ms.toFixed(0)} ms` : "–"}</span>
              </div>
              <div className="uptime">
                <span>24 h <b>{uptime(c.uptime_24h)}</b></span>
                <span>7 d <b>{uptime(c.uptime_7d)}</b></span>
                <span>30 d <b>{uptime(c.uptime_30d)}</b></span>
              </div>
              {c.latest?.error_message && <div className="tile-error" title={c.latest.error_message}>{c.latest.error_message}</div>}
              <div className="tile-foot">
                <span className="dim">{c.latest ? <>checked <Ago ms={c.latest.checked_at} /> · every {c.config.interval_secs} s</> : "not checked yet"}</span>
                <span>
                  <button className="link" onClick={() => setEditing(c.config)}>Edit</button>
                  <button className="link danger" onClick={() => remove(c.config.name)}>Delete</button>
                </span>
              </div>
            </div>
          );
        })}
        {checks?.length === 0 && <div className="card dim">No checks yet. Add one to watch a service on this machine.</div>}
      </div>
    </div>
  );
}
