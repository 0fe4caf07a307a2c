// Generated from src-tauri/src/contract.rs. Do not edit: change the contract, then run
// `UPDATE_BINDINGS=1 cargo test -p caretaker-app`.
import type { ActionConfig } from "../bindings/ActionConfig";
import type { ActionSummary } from "../bindings/ActionSummary";
import type { Alert } from "../bindings/Alert";
import type { AlertQuery } from "../bindings/AlertQuery";
import type { AlertmanagerConfig } from "../bindings/AlertmanagerConfig";
import type { AnalysisConfig } from "../bindings/AnalysisConfig";
import type { BackupRun } from "../bindings/BackupRun";
import type { BackupSettings } from "../bindings/BackupSettings";
import type { BackupsOverview } from "../bindings/BackupsOverview";
import type { ChannelConfig } from "../bindings/ChannelConfig";
import type { ChannelSecret } from "../bindings/ChannelSecret";
import type { ChannelStatus } from "../bindings/ChannelStatus";
import type { ChannelTestOutcome } from "../bindings/ChannelTestOutcome";
import type { CheckConfig } from "../bindings/CheckConfig";
import type { CheckHistoryQuery } from "../bindings/CheckHistoryQuery";
import type { CheckResult } from "../bindings/CheckResult";
import type { CheckSummary } from "../bindings/CheckSummary";
import type { Config } from "../bindings/Config";
import type { ConfigSection } from "../bindings/ConfigSection";
import type { ConflictPolicy } from "../bindings/ConflictPolicy";
import type { ConnectionReport } from "../bindings/ConnectionReport";
import type { DetectorConfig } from "../bindings/DetectorConfig";
import type { DetectorState } from "../bindings/DetectorState";
import type { DiskForecast } from "../bindings/DiskForecast";
import type { DryRun } from "../bindings/DryRun";
import type { Finding } from "../bindings/Finding";
import type { HealingMode } from "../bindings/HealingMode";
import type { HealingOverview } from "../bindings/HealingOverview";
import type { HealingQuery } from "../bindings/HealingQuery";
import type { HealingRecord } from "../bindings/HealingRecord";
import type { HeartbeatConfig } from "../bindings/HeartbeatConfig";
import type { LogLevel } from "../bindings/LogLevel";
import type { LogLine } from "../bindings/LogLine";
import type { LogQuery } from "../bindings/LogQuery";
import type { MaintenanceConfig } from "../bindings/MaintenanceConfig";
import type { MaintenancePreview } from "../bindings/MaintenancePreview";
import type { MaintenanceStatus } from "../bindings/MaintenanceStatus";
import type { MetricsConfig } from "../bindings/MetricsConfig";
import type { NotificationsConfig } from "../bindings/NotificationsConfig";
import type { OwnDataRestore } from "../bindings/OwnDataRestore";
import type { PlanConfig } from "../bindings/PlanConfig";
import type { PlanCreated } from "../bindings/PlanCreated";
import type { PromptState } from "../bindings/PromptState";
import type { RestoreOutcome } from "../bindings/RestoreOutcome";
import type { RunReport } from "../bindings/RunReport";
import type { RunbookInfo } from "../bindings/RunbookInfo";
import type { Scan } from "../bindings/Scan";
import type { SeriesQuery } from "../bindings/SeriesQuery";
import type { SeriesResult } from "../bindings/SeriesResult";
import type { ServiceSwitch } from "../bindings/ServiceSwitch";
import type { Snapshot } from "../bindings/Snapshot";
import type { SnapshotInfo } from "../bindings/SnapshotInfo";
import type { StorageEstimate } from "../bindings/StorageEstimate";
import type { TreeEntry } from "../bindings/TreeEntry";

/** Every command the shell exposes: name -> request (keyed as `invoke` takes it) and response. */
export interface Commands {
  /** Everything for the first paint; afterwards the window follows events. */
  snapshot: { req: Record<string, never>; res: Snapshot };
  query_series: { req: { query: SeriesQuery }; res: SeriesResult };
  /** The database's size now and once the Sampling settings given have filled it. */
  storage_estimate: { req: { metrics: MetricsConfig }; res: StorageEstimate };
  list_checks: { req: Record<string, never>; res: Array<CheckSummary> };
  check_history: { req: { query: CheckHistoryQuery }; res: Array<CheckResult> };
  /**
   * `original` is the name being edited, or null for a new check.
   * The app first shows a new or changed command probe to the person in a native dialog.
   */
  save_check: { req: { original: string | null; check: CheckConfig }; res: null };
  delete_check: { req: { name: string }; res: null };
  list_detectors: { req: Record<string, never>; res: Array<DetectorState> };
  save_detector: { req: { original: string | null; detector: DetectorConfig }; res: Array<DetectorState> };
  delete_detector: { req: { name: string }; res: Array<DetectorState> };
  backups_overview: { req: Record<string, never>; res: BackupsOverview };
  /** Starts a backup of `plan` now (then its retention); answers with the run id at once. */
  backup_now: { req: { plan: string }; res: number };
  cancel_backup: { req: Record<string, never>; res: number };
  verify_backup: { req: { plan: string; readData: boolean }; res: BackupRun };
  backup_snapshots: { req: { plan: string }; res: Array<SnapshotInfo> };
  backup_ls: { req: { plan: string; snapshot: string; path: string }; res: Array<TreeEntry> };
  /**
   * Without a conflict policy, a restore that would replace files writes nothing and
   * answers with a conflict report.
   * The app first confirms a destination that already holds files in a native dialog.
   */
  restore_backup: { req: { plan: string; snapshot: string; path: string; destination: string; onConflict: ConflictPolicy | null }; res: RestoreOutcome };
  /** Caretaker's own database and settings from a snapshot, applied at the next start. */
  restore_own_data: { req: { plan: string; snapshot: string | null }; res: OwnDataRestore };
  suggest_backup_password: { req: Record<string, never>; res: string };
  /**
   * `server_password`: the REST server's (HTTP basic authentication) or the S3 bucket's
   * secret access key, kept in the keychain beside the repository password; null or ""
   * for a folder, an SFTP server or a REST server without one.
   */
  create_backup_plan: { req: { plan: PlanConfig; password: string; serverPassword: string | null }; res: PlanCreated };
  /** The wizard's connection test, before the plan exists: writes nothing, stores nothing. */
  test_backup_repository: { req: { repository: string; password: string; serverPassword: string | null }; res: ConnectionReport };
  /** Caretaker's SSH public key for SFTP servers (made on first use; only the public half). */
  backup_ssh_key: { req: Record<string, never>; res: string };
  /** Puts that key on an SFTP account with its password (used once, never stored). */
  backup_ssh_let_key_in: { req: { repository: string; password: string }; res: string };
  set_backup_server_password: { req: { plan: string; password: string }; res: null };
  delete_backup_plan: { req: { name: string }; res: null };
  /** Saves a changed plan (folders, exclusions, schedule, retention); its repository stays. */
  update_backup_plan: { req: { plan: PlanConfig }; res: PlanConfig };
  /** How often repositories are checked, and when a silent job counts as stuck. */
  backup_settings: { req: Record<string, never>; res: BackupSettings };
  save_backup_settings: { req: { settings: BackupSettings }; res: BackupSettings };
  set_backup_password: { req: { plan: string; password: string }; res: null };
  list_alerts: { req: { query: AlertQuery }; res: Array<Alert> };
  acknowledge_alert: { req: { id: number }; res: Alert };
  resolve_alert: { req: { id: number }; res: Alert };
  snooze_alert: { req: { id: number; hours: number }; res: Alert };
  /** Pauses notifications for `minutes` (null or 0 resumes them); answers with when they resume. */
  pause_notifications: { req: { minutes: number | null }; res: number | null };
  runbook: { req: { alertType: string }; res: string | null };
  list_runbooks: { req: Record<string, never>; res: Array<RunbookInfo> };
  /** Every notification channel with its last delivery, last failure and what waits. */
  channels_status: { req: Record<string, never>; res: Array<ChannelStatus> };
  /** Sends a test message through the channel's outbox; answers once delivered or failed. */
  channel_test: { req: { name: string }; res: ChannelTestOutcome };
  /**
   * `original` is the name being edited, or null for a new channel. Secrets (an empty
   * value forgets one) go to the keychain, never into caretaker.toml.
   */
  save_channel: { req: { original: string | null; channel: ChannelConfig; secrets: Array<ChannelSecret> }; res: Array<ChannelStatus> };
  delete_channel: { req: { name: string }; res: Array<ChannelStatus> };
  /** Native notifications, the channels (without their secrets) and the heartbeat. */
  notifications_settings: { req: Record<string, never>; res: NotificationsConfig };
  /** The configuration as it runs (secrets are in the keychain, never here). */
  settings: { req: Record<string, never>; res: Config };
  /** The defaults, for "Restore defaults". */
  default_settings: { req: Record<string, never>; res: Config };
  /** Saves one section (validated with the whole file, comments kept) and applies it. */
  save_config_section: { req: { section: ConfigSection }; res: Config };
  /** What the optional maintenance tasks in the settings given would delete or run (nothing is done). */
  preview_maintenance: { req: { config: MaintenanceConfig }; res: MaintenancePreview };
  /** Sends one test alert to the Alertmanager given (the settings being edited). */
  test_alertmanager: { req: { config: AlertmanagerConfig }; res: string };
  /** Every setting as one TOML file for another machine (no secrets). */
  export_settings: { req: Record<string, never>; res: string };
  /** Replaces the settings with an exported file, checked as a whole first. */
  import_settings: { req: { text: string }; res: Config };
  /**
   * Resets one table of a refused caretaker.toml to the defaults (the old file kept);
   * returns what is still wrong with the file (empty: it loads and applies).
   */
  reset_file_section: { req: { section: string }; res: Array<string> };
  /** Puts the last good copy of caretaker.toml back (the old file kept); returns what is still wrong. */
  restore_last_good_config: { req: Record<string, never>; res: Array<string> };
  /** Each disk's trend over the last week and when it is full at that pace. */
  disk_forecasts: { req: Record<string, never>; res: Array<DiskForecast> };
  /** Sets, or with null removes, the heartbeat; applied at once. */
  save_heartbeat: { req: { heartbeat: HeartbeatConfig | null }; res: NotificationsConfig };
  /** Switches this machine's own notifications (the built-in channel) on or off. */
  set_native_notifications: { req: { enabled: boolean }; res: Array<ChannelStatus> };
  maintenance_status: { req: Record<string, never>; res: MaintenanceStatus };
  /** Starts a maintenance run now; refused while one runs. */
  run_maintenance: { req: Record<string, never>; res: number };
  cancel_maintenance: { req: Record<string, never>; res: number };
  maintenance_history: { req: { limit: number }; res: Array<RunReport> };
  search_logs: { req: { query: LogQuery }; res: Array<LogLine> };
  tail_logs: { req: { lines: number }; res: Array<LogLine> };
  export_logs: { req: { query: LogQuery }; res: string };
  healing_actions: { req: Record<string, never>; res: Array<ActionSummary> };
  healing_log: { req: { query: HealingQuery }; res: Array<HealingRecord> };
  pending_escalations: { req: Record<string, never>; res: Array<HealingRecord> };
  approve_escalation: { req: { id: number }; res: HealingRecord };
  dismiss_escalation: { req: { id: number }; res: null };
  /** Every action with its counters and guard rails, and the limit for all actions. */
  healing_overview: { req: Record<string, never>; res: HealingOverview };
  /**
   * `original` is the id being edited, or null for a new action. Validated with the
   * whole file (errors name the field), written into `[healing]` only, applied at once.
   * The app first shows a new or changed program, process or folder in a native dialog.
   */
  save_healing_action: { req: { original: string | null; action: ActionConfig }; res: HealingOverview };
  delete_healing_action: { req: { id: string }; res: HealingOverview };
  set_healing_mode: { req: { id: string; mode: HealingMode }; res: HealingOverview };
  /** How many actions may run in an hour, all actions together. */
  set_healing_limit: { req: { maxActionsPerHour: number }; res: HealingOverview };
  /**
   * What an action would do now and to what, with nothing done: the configured one
   * named `id`, or `action` as written in the form.
   */
  dry_run_healing_action: { req: { id: string | null; action: ActionConfig | null }; res: DryRun };
  analysis_config: { req: Record<string, never>; res: AnalysisConfig };
  analysis_prompt: { req: Record<string, never>; res: PromptState };
  list_models: { req: { endpoint: string }; res: Array<string> };
  /** The app first confirms a model server on another machine in a native dialog. */
  set_analysis: { req: { enabled: boolean; endpoint: string; model: string; cadenceMinutes: number }; res: AnalysisConfig };
  /** How much of the log a scan reads (lines, lowest level) and how long an answer may take. */
  set_analysis_reading: { req: { maxLogLines: number; minLevel: LogLevel; requestTimeoutSecs: number }; res: AnalysisConfig };
  set_prompt: { req: { template: string }; res: null };
  reset_prompt: { req: Record<string, never>; res: null };
  /** Starts a log analysis scan now; refused while one runs. */
  run_scan: { req: Record<string, never>; res: number };
  analysis_scans: { req: { limit: number }; res: Array<Scan> };
  list_findings: { req: { includeDismissed: boolean }; res: Array<Finding> };
  dismiss_finding: { req: { id: number }; res: null };
  /** A finding as a ready-to-file issue text, with its evidence lines. */
  finding_issue_text: { req: { id: number }; res: string };
  /** The background-service switch as it stands. */
  service_switch: { req: Record<string, never>; res: ServiceSwitch };
  /** Turns the background service on or off. */
  set_service: { req: { enabled: boolean }; res: ServiceSwitch };
  /** "Not now" to the first-run question. */
  skip_service_question: { req: Record<string, never>; res: ServiceSwitch };
  /** Opens caretaker.toml in the person's text editor. */
  open_config_file: { req: Record<string, never>; res: null };
  /** A native folder dialog; the chosen path, or nothing if cancelled. */
  pick_folder: { req: { title: string }; res: string | null };
  /** A native file dialog; the chosen path, or nothing if cancelled. */
  pick_file: { req: { title: string }; res: string | null };
  /** Writes the exported settings where the person chooses; that path, or nothing. */
  save_settings_file: { req: { text: string }; res: string | null };
  /** The text of a settings file the person chooses, or nothing. */
  open_settings_file: { req: Record<string, never>; res: string | null };
}
