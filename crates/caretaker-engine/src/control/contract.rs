// The command contract: every command a client of the engine may call, declared once.
//
// Each line is `name(arg: Type, ...) -> Response = |engine| body;`. The body runs inside an
// async wrapper and yields `caretaker_engine::Result<Response>`. From this table come:
//
// - the engine's dispatcher (`control::dispatch`), which the control socket serves to the CLI
//   and to an app attached to a running engine, and which an app with an engine of its own calls
//   in process;
// - the desktop shell's `#[tauri::command]` wrappers and `generate_handler!` list
//   (src-tauri/src/commands.rs), which ask the person first where a command needs it;
// - one permission per command, `allow-<name-with-dashes>` (src-tauri/build.rs reads the names);
//   capabilities/main.json grants the main window exactly these, checked by a test;
// - the TypeScript command map `ui/src/platform/commands.gen.ts`, with request and response
//   types from the engine's ts-rs bindings and the argument names as `invoke` expects them
//   (Tauri turns `read_data` into `readData`).
//
// Tests fail when commands.gen.ts or the grants in main.json are stale;
// `UPDATE_BINDINGS=1 cargo test -p caretaker-app` rewrites both.
//
// Errors are not declared: every command fails with the engine's `ErrorPayload`.
//
// Other crates include this file, so it holds nothing but the table: the `use` block is
// resolved only where the table is expanded.
//
// `with_commands!(then)` hands the table to the macro `then`.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            {
                use caretaker_engine::backup::config::PlanConfig;
                use caretaker_engine::backup::protocol::{ConflictPolicy, ConnectionReport, SnapshotInfo, TreeEntry};
                use caretaker_engine::backup::{BackupRun, BackupsOverview, PlanCreated, RestoreOutcome};
                use caretaker_engine::channels::config::HeartbeatConfig;
                use caretaker_engine::config::NotificationsConfig;
                use caretaker_engine::channels::{ChannelConfig, ChannelSecret, ChannelStatus, ChannelTestOutcome};
                use caretaker_engine::config::AnalysisConfig;
                use caretaker_engine::config::section::ConfigSection;
                use caretaker_engine::config::{ActionConfig, HealingMode};
                use caretaker_engine::{DryRun, HealingOverview};
                use caretaker_engine::Config;
                use caretaker_engine::metrics::forecast::DiskForecast;
                use caretaker_engine::{
                    ActionSummary, Alert, AlertQuery, CheckConfig, CheckHistoryQuery, CheckResult, CheckSummary,
                    DetectorConfig, DetectorState, Finding, HealingQuery, HealingRecord, LogLine, LogQuery,
                    MaintenanceStatus, PromptState, RunReport, RunbookInfo, Scan, SeriesQuery, SeriesResult, Snapshot,
                };
            }

            /// Everything for the first paint; afterwards the window follows events.
            snapshot() -> Snapshot = |e| Ok(e.snapshot());
            query_series(query: SeriesQuery) -> SeriesResult = |e| e.query_series(query).await;
            /// The database's size now and once the Sampling settings given have filled it.
            storage_estimate(metrics: caretaker_engine::metrics::config::MetricsConfig) -> caretaker_engine::metrics::StorageEstimate = |e| e.storage_estimate(metrics).await;

            list_checks() -> Vec<CheckSummary> = |e| e.checks().await;
            check_history(query: CheckHistoryQuery) -> Vec<CheckResult> = |e| e.check_history(query).await;
            /// `original` is the name being edited, or null for a new check.
            /// The app first shows a new or changed command probe to the person in a native dialog.
            save_check(original: Option<String>, check: CheckConfig) -> () = |e| e.save_check(original, check).await;
            delete_check(name: String) -> () = |e| e.delete_check(name).await;

            list_detectors() -> Vec<DetectorState> = |e| Ok(e.detectors());
            save_detector(original: Option<String>, detector: DetectorConfig) -> Vec<DetectorState> =
                |e| e.save_detector(original, detector).await;
            delete_detector(name: String) -> Vec<DetectorState> = |e| e.delete_detector(name).await;

            backups_overview() -> BackupsOverview = |e| e.backups_overview().await;
            /// Starts a backup of `plan` now (then its retention); answers with the run id at once.
            backup_now(plan: String) -> i64 = |e| e.backup_now(&plan).await;
            cancel_backup() -> i64 = |e| e.cancel_backup_job();
            verify_backup(plan: String, read_data: bool) -> BackupRun =
                |e| e.verify_backup(&plan, read_data, "manual").await;
            backup_snapshots(plan: String) -> Vec<SnapshotInfo> = |e| e.backup_snapshots(&plan).await;
            backup_ls(plan: String, snapshot: String, path: String) -> Vec<TreeEntry> =
                |e| e.backup_ls(&plan, snapshot, path).await;
            /// Without a conflict policy, a restore that would replace files writes nothing and
            /// answers with a conflict report.
            /// The app first confirms a destination that already holds files in a native dialog.
            restore_backup(plan: String, snapshot: String, path: String, destination: String, on_conflict: Option<ConflictPolicy>) -> RestoreOutcome =
                |e| e.restore_backup(&plan, snapshot, path, destination, on_conflict).await;
            /// Caretaker's own database and settings from a snapshot, applied at the next start.
            restore_own_data(plan: String, snapshot: Option<String>) -> caretaker_engine::backup::own_data::OwnDataRestore =
                |e| e.restore_own_data(&plan, snapshot).await;
            suggest_backup_password() -> String = |e| e.suggest_backup_password();
            /// `server_password`: the REST server's (HTTP basic authentication) or the S3 bucket's
            /// secret access key, kept in the keychain beside the repository password; null or ""
            /// for a folder, an SFTP server or a REST server without one.
            create_backup_plan(plan: PlanConfig, password: String, server_password: Option<String>) -> PlanCreated =
                |e| e.create_backup_plan(plan, password, server_password).await;
            /// The wizard's connection test, before the plan exists: writes nothing, stores nothing.
            test_backup_repository(repository: String, password: String, server_password: Option<String>) -> ConnectionReport =
                |e| e.test_backup_repository(&repository, password, server_password).await;
            /// Caretaker's SSH public key for SFTP servers (made on first use; only the public half).
            backup_ssh_key() -> String = |e| e.backup_ssh_key().await;
            /// Puts that key on an SFTP account with its password (used once, never stored).
            backup_ssh_let_key_in(repository: String, password: String) -> String =
                |e| e.backup_ssh_let_key_in(&repository, password).await;
            set_backup_server_password(plan: String, password: String) -> () =
                |e| e.set_backup_server_password(&plan, password).await;
            delete_backup_plan(name: String) -> () = |e| e.delete_backup_plan(name).await;
            /// Saves a changed plan (folders, exclusions, schedule, retention); its repository stays.
            update_backup_plan(plan: PlanConfig) -> PlanConfig = |e| e.update_backup_plan(plan).await;
            /// How often repositories are checked, and when a silent job counts as stuck.
            backup_settings() -> caretaker_engine::backup::plan_edit::BackupSettings = |e| Ok(e.backup_settings());
            save_backup_settings(settings: caretaker_engine::backup::plan_edit::BackupSettings) -> caretaker_engine::backup::plan_edit::BackupSettings =
                |e| e.save_backup_settings(settings).await;
            set_backup_password(plan: String, password: String) -> () = |e| e.set_backup_password(&plan, password).await;

            list_alerts(query: AlertQuery) -> Vec<Alert> = |e| e.alerts(query).await;
            acknowledge_alert(id: i64) -> Alert = |e| e.acknowledge_alert(id).await;
            resolve_alert(id: i64) -> Alert = |e| e.resolve_alert(id).await;
            snooze_alert(id: i64, hours: u32) -> Alert = |e| e.snooze_alert(id, hours).await;
            /// Pauses notifications for `minutes` (null or 0 resumes them); answers with when they resume.
            pause_notifications(minutes: Option<u32>) -> Option<i64> = |e| e.pause_notifications(minutes).await;
            runbook(alert_type: String) -> Option<String> = |e| Ok(e.runbook(&alert_type));
            list_runbooks() -> Vec<RunbookInfo> = |e| Ok(e.runbooks());

            /// Every notification channel with its last delivery, last failure and what waits.
            channels_status() -> Vec<ChannelStatus> = |e| e.channels_status().await;
            /// Sends a test message through the channel's outbox; answers once delivered or failed.
            channel_test(name: String) -> ChannelTestOutcome = |e| e.channel_test(&name).await;
            /// `original` is the name being edited, or null for a new channel. Secrets (an empty
            /// value forgets one) go to the keychain, never into caretaker.toml.
            save_channel(original: Option<String>, channel: ChannelConfig, secrets: Vec<ChannelSecret>) -> Vec<ChannelStatus> =
                |e| e.save_channel(original, channel, secrets).await;
            delete_channel(name: String) -> Vec<ChannelStatus> = |e| e.delete_channel(&name).await;
            /// Native notifications, the channels (without their secrets) and the heartbeat.
            notifications_settings() -> NotificationsConfig = |e| Ok(e.notifications_settings());
            /// The configuration as it runs (secrets are in the keychain, never here).
            settings() -> Config = |e| Ok(e.settings());
            /// The defaults, for "Restore defaults".
            default_settings() -> Config = |e| Ok(e.default_settings());
            /// Saves one section (validated with the whole file, comments kept) and applies it.
            save_config_section(section: ConfigSection) -> Config = |e| e.save_config_section(section).await;
            /// What the optional maintenance tasks in the settings given would delete or run (nothing is done).
            preview_maintenance(config: caretaker_engine::maintenance::config::MaintenanceConfig) -> caretaker_engine::maintenance::preview::MaintenancePreview =
                |e| e.preview_maintenance(config).await;
            /// Sends one test alert to the Alertmanager given (the settings being edited).
            test_alertmanager(config: caretaker_engine::forward::AlertmanagerConfig) -> String = |e| e.test_alertmanager(config).await;
            /// Every setting as one TOML file for another machine (no secrets).
            export_settings() -> String = |e| e.export_settings();
            /// Replaces the settings with an exported file, checked as a whole first.
            import_settings(text: String) -> Config = |e| e.import_settings(text).await;
            /// Resets one table of a refused caretaker.toml to the defaults (the old file kept);
            /// returns what is still wrong with the file (empty: it loads and applies).
            reset_file_section(section: String) -> Vec<String> = |e| e.reset_file_section(section).await;
            /// Puts the last good copy of caretaker.toml back (the old file kept); returns what is still wrong.
            restore_last_good_config() -> Vec<String> = |e| e.restore_last_good_config().await;
            /// Each disk's trend over the last week and when it is full at that pace.
            disk_forecasts() -> Vec<DiskForecast> = |e| Ok(e.disk_forecasts());
            /// Sets, or with null removes, the heartbeat; applied at once.
            save_heartbeat(heartbeat: Option<HeartbeatConfig>) -> NotificationsConfig = |e| e.save_heartbeat(heartbeat).await;
            /// Switches this machine's own notifications (the built-in channel) on or off.
            set_native_notifications(enabled: bool) -> Vec<ChannelStatus> = |e| e.set_native_notifications(enabled).await;

            maintenance_status() -> MaintenanceStatus = |e| e.maintenance_status().await;
            /// Starts a maintenance run now; refused while one runs.
            run_maintenance() -> i64 = |e| e.run_maintenance();
            cancel_maintenance() -> i64 = |e| e.cancel_maintenance();
            maintenance_history(limit: u32) -> Vec<RunReport> = |e| e.maintenance_history(limit).await;

            search_logs(query: LogQuery) -> Vec<LogLine> = |e| e.search_logs(query).await;
            tail_logs(lines: u32) -> Vec<LogLine> = |e| Ok(e.tail_logs(lines as usize));
            export_logs(query: LogQuery) -> String = |e| e.export_logs(query).await;

            healing_actions() -> Vec<ActionSummary> = |e| e.healing_actions().await;
            healing_log(query: HealingQuery) -> Vec<HealingRecord> = |e| e.healing_log(query).await;
            pending_escalations() -> Vec<HealingRecord> = |e| e.pending_escalations().await;
            approve_escalation(id: i64) -> HealingRecord = |e| e.approve_escalation(id).await;
            dismiss_escalation(id: i64) -> () = |e| e.dismiss_escalation(id).await;
            /// Every action with its counters and guard rails, and the limit for all actions.
            healing_overview() -> HealingOverview = |e| e.healing_overview().await;
            /// `original` is the id being edited, or null for a new action. Validated with the
            /// whole file (errors name the field), written into `[healing]` only, applied at once.
            /// The app first shows a new or changed program, process or folder in a native dialog.
            save_healing_action(original: Option<String>, action: ActionConfig) -> HealingOverview =
                |e| e.save_healing_action(original, action).await;
            delete_healing_action(id: String) -> HealingOverview = |e| e.delete_healing_action(id).await;
            set_healing_mode(id: String, mode: HealingMode) -> HealingOverview = |e| e.set_healing_mode(id, mode).await;
            /// How many actions may run in an hour, all actions together.
            set_healing_limit(max_actions_per_hour: u32) -> HealingOverview = |e| e.set_healing_limit(max_actions_per_hour).await;
            /// What an action would do now and to what, with nothing done: the configured one
            /// named `id`, or `action` as written in the form.
            dry_run_healing_action(id: Option<String>, action: Option<ActionConfig>) -> DryRun =
                |e| e.dry_run_healing_action(id, action).await;

            analysis_config() -> AnalysisConfig = |e| Ok(e.config().analysis);
            analysis_prompt() -> PromptState = |e| e.analysis_prompt().await;
            list_models(endpoint: String) -> Vec<String> = |e| e.list_models(endpoint).await;
            /// The app first confirms a model server on another machine in a native dialog.
            set_analysis(enabled: bool, endpoint: String, model: String, cadence_minutes: u64) -> AnalysisConfig =
                |e| e.set_analysis(enabled, endpoint, model, cadence_minutes).await;
            /// How much of the log a scan reads (lines, lowest level) and how long an answer may take.
            set_analysis_reading(max_log_lines: u32, min_level: caretaker_engine::logs::LogLevel, request_timeout_secs: u64) -> AnalysisConfig =
                |e| e.set_analysis_reading(max_log_lines, min_level, request_timeout_secs).await;
            set_prompt(template: String) -> () = |e| e.set_prompt(template).await;
            reset_prompt() -> () = |e| e.reset_prompt().await;
            /// Starts a log analysis scan now; refused while one runs.
            run_scan() -> i64 = |e| e.run_scan("manual");
            analysis_scans(limit: u32) -> Vec<Scan> = |e| e.analysis_scans(limit).await;
            list_findings(include_dismissed: bool) -> Vec<Finding> = |e| e.findings(include_dismissed).await;
            dismiss_finding(id: i64) -> () = |e| e.dismiss_finding(id).await;
            /// A finding as a ready-to-file issue text, with its evidence lines.
            finding_issue_text(id: i64) -> String = |e| e.finding_issue_text(id).await;
        }
    };
}
