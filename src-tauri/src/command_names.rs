// The commands the shell exposes, shared by build.rs (which turns each into a permission),
// the capability test, and the UI contract test. Keep in step with `generate_handler!`.
pub const COMMANDS: &[&str] = &["snapshot", "query_series"];
