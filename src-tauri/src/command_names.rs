// The commands the shell exposes, shared by build.rs (which turns each into a permission),
// the capability test, and the UI contract test. Keep in step with `generate_handler!`.
#[allow(dead_code)] // read by build.rs and by the contract tests
pub const COMMANDS: &[&str] = &[
    "snapshot",
    "query_series",
    "list_checks",
    "check_history",
    "save_check",
    "delete_check",
    "list_alerts",
    "acknowledge_alert",
    "resolve_alert",
    "snooze_alert",
    "pause_notifications",
    "runbook",
];
