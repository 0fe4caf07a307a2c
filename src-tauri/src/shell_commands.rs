// The shell's own commands, beside the engine's contract (src/service.rs): the background-service
// switch, which moves the window between engines and so cannot be an engine command, and
// "Open in editor" for caretaker.toml (the person's editor is on this side, not the engine's), and
// the native pickers (the OS dialog is drawn by the shell). Included by
// build.rs (for their permissions) and by the shell.
#[allow(dead_code)] // The binary names them only in tests; build.rs always.
pub const SHELL_COMMANDS: &[&str] = &["service_switch", "set_service", "skip_service_question", "open_config_file",
    "pick_folder", "pick_file", "save_settings_file", "open_settings_file"];
