//! IPC commands: each is a few lines that call the engine. Errors cross as `{ kind, message }`.

use crate::EngineSlot;
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::protocol::{ConflictPolicy, SnapshotInfo, TreeEntry};
use caretaker_engine::backup::{BackupRun, BackupsOverview, PlanCreated, RestoreOutcome};
use caretaker_engine::config::AnalysisConfig;
use caretaker_engine::{
    Finding, PromptState, Scan,
    ActionSummary, HealingQuery, HealingRecord,
    LogLine, LogQuery, MaintenanceStatus, RunReport, RunbookInfo,
    DetectorConfig, DetectorState,
    Alert, AlertQuery, CheckConfig, CheckHistoryQuery, CheckResult, CheckSummary, EngineHandle, ErrorPayload, SeriesQuery, SeriesResult, Snapshot,
};
use tauri::State;

fn engine(slot: &EngineSlot) -> Result<EngineHandle, ErrorPayload> {
    slot.0.clone()
}

#[tauri::command]
pub fn snapshot(slot: State<'_, EngineSlot>) -> Result<Snapshot, ErrorPayload> {
    Ok(engine(&slot)?.snapshot())
}

#[tauri::command]
pub async fn query_series(slot: State<'_, EngineSlot>, query: SeriesQuery) -> Result<SeriesResult, ErrorPayload> {
    engine(&slot)?.query_series(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn list_checks(slot: State<'_, EngineSlot>) -> Result<Vec<CheckSummary>, ErrorPayload> {
    engine(&slot)?.checks().await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn check_history(slot: State<'_, EngineSlot>, query: CheckHistoryQuery) -> Result<Vec<CheckResult>, ErrorPayload> {
    engine(&slot)?.check_history(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn save_check(slot: State<'_, EngineSlot>, original: Option<String>, check: CheckConfig) -> Result<(), ErrorPayload> {
    engine(&slot)?.save_check(original, check).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn delete_check(slot: State<'_, EngineSlot>, name: String) -> Result<(), ErrorPayload> {
    engine(&slot)?.delete_check(name).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn backups_overview(slot: State<'_, EngineSlot>) -> Result<BackupsOverview, ErrorPayload> {
    engine(&slot)?.backups_overview().await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn backup_now(slot: State<'_, EngineSlot>, plan: String) -> Result<i64, ErrorPayload> {
    engine(&slot)?.backup_now(&plan).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn cancel_backup(slot: State<'_, EngineSlot>) -> Result<i64, ErrorPayload> {
    engine(&slot)?.cancel_backup_job().map_err(|e| e.payload())
}

#[tauri::command]
pub async fn verify_backup(slot: State<'_, EngineSlot>, plan: String, read_data: bool) -> Result<BackupRun, ErrorPayload> {
    engine(&slot)?.verify_backup(&plan, read_data, "manual").await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn backup_snapshots(slot: State<'_, EngineSlot>, plan: String) -> Result<Vec<SnapshotInfo>, ErrorPayload> {
    engine(&slot)?.backup_snapshots(&plan).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn backup_ls(slot: State<'_, EngineSlot>, plan: String, snapshot: String, path: String) -> Result<Vec<TreeEntry>, ErrorPayload> {
    engine(&slot)?.backup_ls(&plan, snapshot, path).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn restore_backup(
    slot: State<'_, EngineSlot>,
    plan: String,
    snapshot: String,
    path: String,
    destination: String,
    on_conflict: Option<ConflictPolicy>,
) -> Result<RestoreOutcome, ErrorPayload> {
    engine(&slot)?.restore_backup(&plan, snapshot, path, destination, on_conflict).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn suggest_backup_password(slot: State<'_, EngineSlot>) -> Result<String, ErrorPayload> {
    engine(&slot)?.suggest_backup_password().map_err(|e| e.payload())
}

#[tauri::command]
pub async fn create_backup_plan(slot: State<'_, EngineSlot>, plan: PlanConfig, password: String) -> Result<PlanCreated, ErrorPayload> {
    engine(&slot)?.create_backup_plan(plan, password).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn delete_backup_plan(slot: State<'_, EngineSlot>, name: String) -> Result<(), ErrorPayload> {
    engine(&slot)?.delete_backup_plan(name).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn set_backup_password(slot: State<'_, EngineSlot>, plan: String, password: String) -> Result<(), ErrorPayload> {
    engine(&slot)?.set_backup_password(&plan, password).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn list_detectors(slot: State<'_, EngineSlot>) -> Result<Vec<DetectorState>, ErrorPayload> {
    Ok(engine(&slot)?.detectors())
}

#[tauri::command]
pub async fn save_detector(slot: State<'_, EngineSlot>, original: Option<String>, detector: DetectorConfig) -> Result<Vec<DetectorState>, ErrorPayload> {
    engine(&slot)?.save_detector(original, detector).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn delete_detector(slot: State<'_, EngineSlot>, name: String) -> Result<Vec<DetectorState>, ErrorPayload> {
    engine(&slot)?.delete_detector(name).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn list_alerts(slot: State<'_, EngineSlot>, query: AlertQuery) -> Result<Vec<Alert>, ErrorPayload> {
    engine(&slot)?.alerts(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn acknowledge_alert(slot: State<'_, EngineSlot>, id: i64) -> Result<Alert, ErrorPayload> {
    engine(&slot)?.acknowledge_alert(id).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn resolve_alert(slot: State<'_, EngineSlot>, id: i64) -> Result<Alert, ErrorPayload> {
    engine(&slot)?.resolve_alert(id).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn snooze_alert(slot: State<'_, EngineSlot>, id: i64, hours: u32) -> Result<Alert, ErrorPayload> {
    engine(&slot)?.snooze_alert(id, hours).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn pause_notifications(slot: State<'_, EngineSlot>, minutes: Option<u32>) -> Result<Option<i64>, ErrorPayload> {
    engine(&slot)?.pause_notifications(minutes).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn runbook(slot: State<'_, EngineSlot>, alert_type: String) -> Result<Option<String>, ErrorPayload> {
    Ok(engine(&slot)?.runbook(&alert_type))
}

#[tauri::command]
pub fn list_runbooks(slot: State<'_, EngineSlot>) -> Result<Vec<RunbookInfo>, ErrorPayload> {
    Ok(engine(&slot)?.runbooks())
}

#[tauri::command]
pub async fn maintenance_status(slot: State<'_, EngineSlot>) -> Result<MaintenanceStatus, ErrorPayload> {
    engine(&slot)?.maintenance_status().await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn run_maintenance(slot: State<'_, EngineSlot>) -> Result<i64, ErrorPayload> {
    engine(&slot)?.run_maintenance().map_err(|e| e.payload())
}

#[tauri::command]
pub fn cancel_maintenance(slot: State<'_, EngineSlot>) -> Result<i64, ErrorPayload> {
    engine(&slot)?.cancel_maintenance().map_err(|e| e.payload())
}

#[tauri::command]
pub async fn maintenance_history(slot: State<'_, EngineSlot>, limit: u32) -> Result<Vec<RunReport>, ErrorPayload> {
    engine(&slot)?.maintenance_history(limit).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn search_logs(slot: State<'_, EngineSlot>, query: LogQuery) -> Result<Vec<LogLine>, ErrorPayload> {
    engine(&slot)?.search_logs(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn tail_logs(slot: State<'_, EngineSlot>, lines: u32) -> Result<Vec<LogLine>, ErrorPayload> {
    Ok(engine(&slot)?.tail_logs(lines as usize))
}

#[tauri::command]
pub async fn export_logs(slot: State<'_, EngineSlot>, query: LogQuery) -> Result<String, ErrorPayload> {
    engine(&slot)?.export_logs(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn healing_actions(slot: State<'_, EngineSlot>) -> Result<Vec<ActionSummary>, ErrorPayload> {
    engine(&slot)?.healing_actions().await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn healing_log(slot: State<'_, EngineSlot>, query: HealingQuery) -> Result<Vec<HealingRecord>, ErrorPayload> {
    engine(&slot)?.healing_log(query).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn pending_escalations(slot: State<'_, EngineSlot>) -> Result<Vec<HealingRecord>, ErrorPayload> {
    engine(&slot)?.pending_escalations().await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn approve_escalation(slot: State<'_, EngineSlot>, id: i64) -> Result<HealingRecord, ErrorPayload> {
    engine(&slot)?.approve_escalation(id).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn dismiss_escalation(slot: State<'_, EngineSlot>, id: i64) -> Result<(), ErrorPayload> {
    engine(&slot)?.dismiss_escalation(id).await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn analysis_config(slot: State<'_, EngineSlot>) -> Result<AnalysisConfig, ErrorPayload> {
    Ok(engine(&slot)?.config().analysis)
}

#[tauri::command]
pub async fn analysis_prompt(slot: State<'_, EngineSlot>) -> Result<PromptState, ErrorPayload> {
    engine(&slot)?.analysis_prompt().await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn list_models(slot: State<'_, EngineSlot>, endpoint: String) -> Result<Vec<String>, ErrorPayload> {
    engine(&slot)?.list_models(endpoint).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn set_analysis(slot: State<'_, EngineSlot>, enabled: bool, endpoint: String, model: String, cadence_minutes: u64) -> Result<AnalysisConfig, ErrorPayload> {
    engine(&slot)?.set_analysis(enabled, endpoint, model, cadence_minutes).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn set_prompt(slot: State<'_, EngineSlot>, template: String) -> Result<(), ErrorPayload> {
    engine(&slot)?.set_prompt(template).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn reset_prompt(slot: State<'_, EngineSlot>) -> Result<(), ErrorPayload> {
    engine(&slot)?.reset_prompt().await.map_err(|e| e.payload())
}

#[tauri::command]
pub fn run_scan(slot: State<'_, EngineSlot>) -> Result<i64, ErrorPayload> {
    engine(&slot)?.run_scan("manual").map_err(|e| e.payload())
}

#[tauri::command]
pub async fn analysis_scans(slot: State<'_, EngineSlot>, limit: u32) -> Result<Vec<Scan>, ErrorPayload> {
    engine(&slot)?.analysis_scans(limit).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn list_findings(slot: State<'_, EngineSlot>, include_dismissed: bool) -> Result<Vec<Finding>, ErrorPayload> {
    engine(&slot)?.findings(include_dismissed).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn dismiss_finding(slot: State<'_, EngineSlot>, id: i64) -> Result<(), ErrorPayload> {
    engine(&slot)?.dismiss_finding(id).await.map_err(|e| e.payload())
}

#[tauri::command]
pub async fn finding_issue_text(slot: State<'_, EngineSlot>, id: i64) -> Result<String, ErrorPayload> {
    engine(&slot)?.finding_issue_text(id).await.map_err(|e| e.payload())
}

#[cfg(test)]
mod tests {
    use crate::command_names::COMMANDS;
    use std::collections::BTreeSet;

    fn manifest_dir() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The main window is granted exactly the app commands and the event listener, nothing else.
    #[test]
    fn capability_grants_exactly_the_commands() {
        let text = std::fs::read_to_string(manifest_dir().join("capabilities/main.json")).unwrap();
        let cap: serde_json::Value = serde_json::from_str(&text).unwrap();
        let granted: BTreeSet<String> =
            cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        let mut want: BTreeSet<String> = COMMANDS.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
        want.insert("core:event:allow-listen".into());
        want.insert("core:event:allow-unlisten".into());
        assert_eq!(granted, want);
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
    }

    /// The UI's typed command map names the same commands the shell registers.
    #[test]
    fn ui_command_map_matches() {
        let ts = std::fs::read_to_string(manifest_dir().join("../ui/src/platform/index.ts")).unwrap();
        let start = ts.find("export interface Commands {").unwrap();
        let body = &ts[start..ts[start..].find("\n}").unwrap() + start];
        let names: BTreeSet<&str> = body
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().split(':').next())
            .filter(|n| !n.is_empty())
            .collect();
        assert_eq!(names, COMMANDS.iter().copied().collect::<BTreeSet<_>>());
    }

    #[test]
    fn csp_is_set_and_strict() {
        let conf: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(manifest_dir().join("tauri.conf.json")).unwrap()).unwrap();
        let csp = conf["app"]["security"]["csp"].as_str().expect("a CSP string, never null");
        assert!(csp.contains("default-src 'self'"));
        assert!(!csp.contains("unsafe-eval"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
    }
}
