import { useState } from "react";
import type { DetectorConfig } from "./bindings/DetectorConfig";
import type { DetectorState } from "./bindings/DetectorState";
import type { CheckField } from "./bindings/CheckField";
import type { LogLevel } from "./bindings/LogLevel";
import { useEngineEvent } from "./state/bus";
import { call, useAction, useCommand } from "./state/useCommand";
import { ErrorNote } from "./components/ErrorNote";
import { Input } from "./components/Input";
import { Ago } from "./components/Ago";

const RULES = ["stalled", "error_rate", "above_normal", "below_normal", "stuck"] as const;
type RuleKind = (typeof RULES)[number];
const SOURCES = ["check", "metric", "logs"] as const;
type SourceKind = (typeof SOURCES)[number];

// The engine's defaults, so a new detector starts from what caretaker.toml would assume.
const RULE_DEFAULTS: Record<RuleKind, Record<string, number>> = {
  stalled: { for_minutes: 5, min_samples: 3 },
  error_rate: { window_minutes: 15, above_percent: 15, min_samples: 10 },
  above_normal: { factor: 3, baseline_minutes: 60, floor: 1, min_samples: 10, sustain: 3 },
  below_normal: { factor: 3, baseline_minutes: 10080, floor: 1, min_samples: 5, sustain: 1 },
  stuck: { older_than_minutes: 30 },
};

const RULE_LABEL: Record<RuleKind, string> = {
  stalled: "stalled (not moving)",
  error_rate: "error rate spike",
  above_normal: "far above its normal",
  below_normal: "abnormally low / fast",
  stuck: "stuck in progress",
};

function ruleOf(d: DetectorConfig): RuleKind {
  return RULES.find((r) => d[r] != null) ?? "stalled";
}

function sourceOf(d: DetectorConfig): SourceKind {
  return d.metric ? "metric" : d.logs ? "logs" : "check";
}

function blank(): DetectorConfig {
  return { name: "", enabled: true, severity: "warning", check: { name: "", field: "value" }, metric: null, logs: null, stalled: { for_minutes: 5, min_samples: 3 }, error_rate: null, above_normal: null, below_normal: null, stuck: null };
}

function withRule(d: DetectorConfig, kind: RuleKind, params: Record<string, number>): DetectorConfig {
  const cleared: DetectorConfig = { ...d, stalled: null, error_rate: null, above_normal: null, below_normal: null, stuck: null };
  return { ...cleared, [kind]: params } as DetectorConfig;
}

function withSource(d: DetectorConfig, kind: SourceKind): DetectorConfig {
  const cleared: DetectorConfig = { ...d, check: null, metric: null, logs: null };
  if (kind === "check") return { ...cleared, check: d.check ?? { name: "", field: "value" } };
  if (kind === "metric") return { ...cleared, metric: d.metric ?? { name: "cpu_usage_percent", labels: "" } };
  return { ...cleared, logs: d.logs ?? { min_level: "error" } };
}

function DetectorForm({ initial, onDone }: { initial: DetectorConfig | null; onDone: (list: DetectorState[] | null) => void }) {
  const [d, setD] = useState<DetectorConfig>(initial ?? blank());
  const saving = useAction();
  const rule = ruleOf(d);
  const source = sourceOf(d);
  const params = (d[rule] ?? RULE_DEFAULTS[rule]) as unknown as Record<string, number>;

  const save = () => void saving.run(async () => onDone(await call("save_detector", { original: initial?.name ?? null, detector: d })));

  return (
    <div className="card form" data-testid="detector-form">
      <div className="card-title">{initial ? `Edit ${initial.name}` : "Add a detector"}</div>
      <div className="grid2">
        <label>Name<Input data-testid="detector-name" value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} /></label>
        <label>Severity
          <select value={d.severity} onChange={(e) => setD({ ...d, severity: e.target.value as DetectorConfig["severity"] })}>
            <option value="warning">warning</option>
            <option value="critical">critical</option>
          </select>
        </label>
        <label>Watches
          <select data-testid="detector-source" value={source} onChange={(e) => setD(withSource(d, e.target.value as SourceKind))}>
            {SOURCES.map((s) => <option key={s} value={s}>{s === "logs" ? "log lines per minute" : s === "metric" ? "a host metric" : "a check"}</option>)}
          </select>
        </label>
        {d.check && (
          <>
            <label>Check name<Input data-testid="detector-check" value={d.check.name} onChange={(e) => setD({ ...d, check: { ...d.check!, name: e.target.value } })} /></label>
            <label>Field
              <select value={d.check.field} onChange={(e) => setD({ ...d, check: { ...d.check!, field: e.target.value as CheckField } })}>
                <option value="value">value it reads</option>
                <option value="latency_ms">latency (ms)</option>
                <option value="failed">failed runs</option>
                <option value="oldest_age_secs">age of the oldest item in progress (s)</option>
              </select>
            </label>
          </>
        )}
        {d.metric && (
          <>
            <label>Metric<Input value={d.metric.name} onChange={(e) => setD({ ...d, metric: { ...d.metric!, name: e.target.value } })} /></label>
            <label>Labels<Input placeholder="mount=/" value={d.metric.labels} onChange={(e) => setD({ ...d, metric: { ...d.metric!, labels: e.target.value } })} /></label>
          </>
        )}
        {d.logs && (
          <label>At least
            <select value={d.logs.min_level} onChange={(e) => setD({ ...d, logs: { min_level: e.target.value as LogLevel } })}>
              <option value="info">info</option>
              <option value="warn">warn</option>
              <option value="error">error</option>
            </select>
          </label>
        )}
        <label>Rule
          <select data-testid="detector-rule" value={rule} onChange={(e) => { const k = e.target.value as RuleKind; setD(withRule(d, k, RULE_DEFAULTS[k])); }}>
            {RULES.map((r) => <option key={r} value={r}>{RULE_LABEL[r]}</option>)}
          </select>
        </label>
        {Object.keys(RULE_DEFAULTS[rule]).map((k) => (
          <label key={k}>{k.replace(/_/g, " ")}
            <Input type="number" data-testid={`detector-${k}`} value={params[k] ?? ""} onChange={(e) => setD(withRule(d, rule, { ...params, [k]: Number(e.target.value) }))} />
          </label>
        ))}
        <label className="inline"><input type="checkbox" checked={d.enabled} onChange={(e) => setD({ ...d, enabled: e.target.checked })} /> Enabled</label>
      </div>
      <ErrorNote error={saving.error} testId="detector-error" />
      <div className="buttons">
        <button className="primary" data-testid="detector-save" onClick={save}>Save to caretaker.toml</button>
        <button onClick={() => onDone(null)}>Cancel</button>
      </div>
    </div>
  );
}

function evidenceText(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (Array.isArray(v)) return v.map(evidenceText).join(", ");
  return v === null || v === undefined ? "–" : String(v);
}

export function Detectors() {
  const detectors = useCommand("list_detectors", {});
  const [editing, setEditing] = useState<DetectorConfig | "new" | null>(null);
  const deleting = useAction();
  const list = detectors.data ?? [];
  const setList = (l: DetectorState[]) => detectors.setData(() => l);

  // The event carries the whole list: no need to ask again.
  useEngineEvent((e) => {
    if (e.type === "detectors") setList(e.detectors);
  });

  const remove = (name: string) => void deleting.run(async () => setList(await call("delete_detector", { name })));

  return (
    <div className="page">
      <div className="page-head">
        <h2>Detectors</h2>
        <button className="primary" data-testid="add-detector" onClick={() => setEditing("new")}>Add a detector</button>
      </div>
      <ErrorNote error={detectors.error ?? deleting.error} onRefresh={() => void detectors.refetch()} />
      {editing && <DetectorForm initial={editing === "new" ? null : editing} onDone={(l) => { if (l) setList(l); setEditing(null); }} />}
      {detectors.data?.length === 0 && <div className="card dim" data-testid="no-detectors">No detectors yet. They watch a check's value, latency or failures, a host metric, or the log, and alert when it stalls, spikes, leaves its normal or gets stuck.</div>}
      <div className="tiles">
        {list.map((s) => (
          <div key={s.config.name} className={`card tile ${s.firing ? "alert " + s.config.severity : ""}`} data-testid={`detector-${s.config.name}`}>
            <div className="tile-head">
              <span className="tile-name">{s.config.name}</span>
              <span className={`badge ${s.firing ? s.config.severity : s.config.enabled ? "ok" : ""}`} data-testid="detector-state">
                {!s.config.enabled ? "off" : s.firing ? "firing" : s.error ? "error" : "ok"}
              </span>
            </div>
            <div className="dim tile-target">{RULE_LABEL[s.kind as RuleKind] ?? s.kind} · {s.source}</div>
            <div className="alert-msg" data-testid="detector-summary">{s.error ?? s.summary}</div>
            {s.evidence && typeof s.evidence === "object" && (
              <dl className="evidence" data-testid="detector-evidence">
                {Object.entries(s.evidence).map(([k, v]) => (
                  <div key={k}><dt>{k.replace(/_/g, " ")}</dt><dd>{k.endsWith("_since") && typeof v === "number" ? <Ago ms={v} /> : evidenceText(v)}</dd></div>
                ))}
              </dl>
            )}
            <div className="alert-foot">
              <span className="dim">{s.evaluated_at ? <>checked <Ago ms={s.evaluated_at} /></> : "not checked yet"}{s.alert_id !== null ? ` · alert #${s.alert_id}` : ""}</span>
              <span className="buttons">
                <button onClick={() => setEditing(s.config)}>Edit</button>
                <button data-testid="delete-detector" onClick={() => remove(s.config.name)}>Delete</button>
              </span>
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
