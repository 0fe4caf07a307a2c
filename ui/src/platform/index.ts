// The one folder that may import @tauri-apps/*. Everything else talks to `Platform`, so UI
// tests run against a fake.
import type { Event } from "../bindings/Event";
import type { Snapshot } from "../bindings/Snapshot";
import type { SeriesQuery } from "../bindings/SeriesQuery";
import type { SeriesResult } from "../bindings/SeriesResult";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { Alert } from "../bindings/Alert";
import type { AlertQuery } from "../bindings/AlertQuery";
import type { CheckConfig } from "../bindings/CheckConfig";
import type { CheckHistoryQuery } from "../bindings/CheckHistoryQuery";
import type { CheckResult } from "../bindings/CheckResult";
import type { CheckSummary } from "../bindings/CheckSummary";
import type { LogLine } from "../bindings/LogLine";
import type { LogQuery } from "../bindings/LogQuery";
import type { MaintenanceStatus } from "../bindings/MaintenanceStatus";
import type { RunReport } from "../bindings/RunReport";
import type { RunbookInfo } from "../bindings/RunbookInfo";
import type { ActionSummary } from "../bindings/ActionSummary";
import type { HealingQuery } from "../bindings/HealingQuery";
import type { HealingRecord } from "../bindings/HealingRecord";
import type { AnalysisConfig } from "../bindings/AnalysisConfig";
import type { Finding } from "../bindings/Finding";
import type { PromptState } from "../bindings/PromptState";
import type { Scan } from "../bindings/Scan";
import type { DetectorConfig } from "../bindings/DetectorConfig";
import type { DetectorState } from "../bindings/DetectorState";
import type { BackupsOverview } from "../bindings/BackupsOverview";
import type { BackupRun } from "../bindings/BackupRun";
import type { SnapshotInfo } from "../bindings/SnapshotInfo";
import type { TreeEntry } from "../bindings/TreeEntry";
import type { RestoreOutcome } from "../bindings/RestoreOutcome";
import type { ConflictPolicy } from "../bindings/ConflictPolicy";
import type { PlanConfig } from "../bindings/PlanConfig";
import type { PlanCreated } from "../bindings/PlanCreated";

/** Every command the shell exposes: name -> (request, response). */
export interface Commands {
  snapshot: { req: Record<string, never>; res: Snapshot };
  query_series: { req: { query: SeriesQuery }; res: SeriesResult };
  list_checks: { req: Record<string, never>; res: CheckSummary[] };
  check_history: { req: { query: CheckHistoryQuery }; res: CheckResult[] };
  save_check: { req: { original: string | null; check: CheckConfig }; res: null };
  delete_check: { req: { name: string }; res: null };
  list_detectors: { req: Record<string, never>; res: DetectorState[] };
  save_detector: { req: { original: string | null; detector: DetectorConfig }; res: DetectorState[] };
  delete_detector: { req: { name: string }; res: DetectorState[] };
  backups_overview: { req: Record<string, never>; res: BackupsOverview };
  backup_now: { req: { plan: string }; res: number };
  cancel_backup: { req: Record<string, never>; res: number };
  verify_backup: { req: { plan: string; readData: boolean }; res: BackupRun };
  backup_snapshots: { req: { plan: string }; res: SnapshotInfo[] };
  backup_ls: { req: { plan: string; snapshot: string; path: string }; res: TreeEntry[] };
  restore_backup: { req: { plan: string; snapshot: string; path: string; destination: string; onConflict: ConflictPolicy | null }; res: RestoreOutcome };
  suggest_backup_password: { req: Record<string, never>; res: string };
  create_backup_plan: { req: { plan: PlanConfig; password: string }; res: PlanCreated };
  delete_backup_plan: { req: { name: string }; res: null };
  set_backup_password: { req: { plan: string; password: string }; res: null };
  list_alerts: { req: { query: AlertQuery }; res: Alert[] };
  acknowledge_alert: { req: { id: number }; res: Alert };
  resolve_alert: { req: { id: number }; res: Alert };
  snooze_alert: { req: { id: number; hours: number }; res: Alert };
  pause_notifications: { req: { minutes: number | null }; res: number | null };
  runbook: { req: { alertType: string }; res: string | null };
  list_runbooks: { req: Record<string, never>; res: RunbookInfo[] };
  maintenance_status: { req: Record<string, never>; res: MaintenanceStatus };
  run_maintenance: { req: Record<string, never>; res: number };
  cancel_maintenance: { req: Record<string, never>; res: number };
  maintenance_history: { req: { limit: number }; res: RunReport[] };
  search_logs: { req: { query: LogQuery }; res: LogLine[] };
  tail_logs: { req: { lines: number }; res: LogLine[] };
  export_logs: { req: { query: LogQuery }; res: string };
  healing_actions: { req: Record<string, never>; res: ActionSummary[] };
  healing_log: { req: { query: HealingQuery }; res: HealingRecord[] };
  pending_escalations: { req: Record<string, never>; res: HealingRecord[] };
  approve_escalation: { req: { id: number }; res: HealingRecord };
  dismiss_escalation: { req: { id: number }; res: null };
  analysis_config: { req: Record<string, never>; res: AnalysisConfig };
  analysis_prompt: { req: Record<string, never>; res: PromptState };
  list_models: { req: { endpoint: string }; res: string[] };
  set_analysis: { req: { enabled: boolean; endpoint: string; model: string; cadenceMinutes: number }; res: AnalysisConfig };
  set_prompt: { req: { template: string }; res: null };
  reset_prompt: { req: Record<string, never>; res: null };
  run_scan: { req: Record<string, never>; res: number };
  analysis_scans: { req: { limit: number }; res: Scan[] };
  list_findings: { req: { includeDismissed: boolean }; res: Finding[] };
  dismiss_finding: { req: { id: number }; res: null };
  finding_issue_text: { req: { id: number }; res: string };
}

export interface Platform {
  call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]): Promise<Commands[K]["res"]>;
  /** Engine events; returns an unsubscribe function. */
  onEvent(cb: (e: Event) => void): Promise<() => void>;
  /** Fired when the window fell behind and should re-read the snapshot. */
  onResync(cb: () => void): Promise<() => void>;
  /** The tray asks for a page ("alerts"). */
  onNavigate(cb: (page: string) => void): Promise<() => void>;
}

export class CommandError extends Error {
  constructor(public payload: ErrorPayload) {
    super(payload.message);
  }
}

export function asCommandError(e: unknown): CommandError {
  if (e instanceof CommandError) return e;
  if (e && typeof e === "object" && "kind" in e && "message" in e) return new CommandError(e as ErrorPayload);
  return new CommandError({ kind: "internal", code: "internal", message: String(e), fields: [] });
}

let current: Platform | null = null;

export async function platform(): Promise<Platform> {
  if (current) return current;
  if (typeof window !== "undefined" && "__TAURI_INTERNALS__" in window) {
    const { tauriPlatform } = await import("./tauri");
    current = tauriPlatform;
  } else {
    const { browserPreviewPlatform } = await import("./preview");
    current = browserPreviewPlatform();
  }
  return current;
}

export function setPlatform(p: Platform) {
  current = p;
}
