//! IPC commands, expanded from the engine's command contract: one async wrapper per command
//! that asks the person first where a command needs it (`consent::guard`) and then hands the
//! command to the engine, in process or attached, through its one dispatcher. Every error crosses
//! as the engine's `ErrorPayload { kind, code, message, fields }`.

// The contract's types are named for the wrappers' signatures and, in tests, for the TypeScript
// map; the responses are only needed by the latter.
#![allow(unused_imports)]

use crate::backend::EngineSlot;
use caretaker_engine::ErrorPayload;
use tauri::State;

include!("../../crates/caretaker-engine/src/control/contract.rs");

fn encode<T: serde::Serialize>(name: &str, value: &T) -> Result<serde_json::Value, ErrorPayload> {
    serde_json::to_value(value).map_err(|e| ErrorPayload::unreachable(format!("could not pass the argument {name}: {e}")))
}

/// Expands the contract into the shell's side of it. build.rs reads the same table with its own
/// macro that keeps only the names.
macro_rules! tauri_commands {
    (
        { $($import:item)* }
        $(
            $(#[doc = $doc:literal])*
            $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $res:ty = |$e:ident| $body:expr;
        )*
    ) => {
        $($import)*

        $(
            $(#[doc = $doc])*
            #[tauri::command]
            async fn $name(slot: State<'_, EngineSlot>, $($arg: $ty),*) -> Result<serde_json::Value, ErrorPayload> {
                let backend = slot.get()?;
                #[allow(unused_mut)]
                let mut args = serde_json::Map::new();
                $( args.insert(stringify!($arg).to_string(), encode(stringify!($arg), &$arg)?); )*
                let args = serde_json::Value::Object(args);
                crate::consent::guard(&backend, stringify!($name), &args).await?;
                backend.call(stringify!($name), args).await
            }
        )*

        /// Every command's name, in the table's order.
        #[cfg_attr(not(test), allow(dead_code))]
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// The invoke handler for every command in the table.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![
                $($name,)*
                crate::service::service_switch,
                crate::service::set_service,
                crate::service::skip_service_question,
                crate::editor::open_config_file,
                crate::pickers::pick_folder,
                crate::pickers::pick_file,
                crate::pickers::save_settings_file,
                crate::pickers::open_settings_file
            ]
        }

        /// The contract as data, and the shell's own commands after it, for writing the
        /// TypeScript command map.
        #[cfg(test)]
        pub fn contract() -> Vec<crate::generate::Command> {
            use crate::generate::{Command, Type};
            use caretaker_engine::presence::ServiceSwitch;
            let mut all = vec![$(
                Command {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    args: vec![$((stringify!($arg), Type::of::<$ty>())),*],
                    response: Type::of::<$res>(),
                }
            ),*];
            let shell = |name, doc, args| Command { name, docs: vec![doc], args, response: Type::of::<ServiceSwitch>() };
            all.push(shell("service_switch", " The background-service switch as it stands.", vec![]));
            all.push(shell("set_service", " Turns the background service on or off.", vec![("enabled", Type::of::<bool>())]));
            all.push(shell("skip_service_question", " \"Not now\" to the first-run question.", vec![]));
            all.push(Command {
                name: "open_config_file",
                docs: vec![" Opens caretaker.toml in the person's text editor."],
                args: vec![],
                response: Type::of::<()>(),
            });
            let pick = |name, doc, args| Command { name, docs: vec![doc], args, response: Type::of::<Option<String>>() };
            let title = || vec![("title", Type::of::<String>())];
            all.push(pick("pick_folder", " A native folder dialog; the chosen path, or nothing if cancelled.", title()));
            all.push(pick("pick_file", " A native file dialog; the chosen path, or nothing if cancelled.", title()));
            all.push(pick("save_settings_file", " Writes the exported settings where the person chooses; that path, or nothing.", vec![("text", Type::of::<String>())]));
            all.push(pick("open_settings_file", " The text of a settings file the person chooses, or nothing.", vec![]));
            all
        }
    };
}

with_commands!(tauri_commands);

#[cfg(test)]
mod tests {
    use super::COMMANDS;
    use crate::generate;
    use crate::service::SHELL_COMMANDS;

    /// What the window may call: the engine's contract and the shell's own commands.
    fn all_commands() -> Vec<&'static str> {
        COMMANDS.iter().chain(SHELL_COMMANDS).copied().collect()
    }
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn updating() -> bool {
        std::env::var_os("UPDATE_BINDINGS").is_some()
    }

    /// The line where two texts first differ, to say what is stale without dumping both.
    fn first_difference(have: &str, want: &str) -> String {
        let mut have_lines = have.lines();
        for (n, w) in want.lines().enumerate() {
            match have_lines.next() {
                Some(h) if h == w => continue,
                h => return format!("line {}: have {:?}, want {:?}", n + 1, h.unwrap_or("(end of file)"), w),
            }
        }
        "the committed file has extra lines at the end".into()
    }

    /// The main window is granted exactly the app commands and the event listener, nothing else.
    /// `UPDATE_BINDINGS=1` rewrites the grant list from the contract.
    #[test]
    fn capability_grants_exactly_the_commands() {
        let path = manifest_dir().join("capabilities/main.json");
        if updating() {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, generate::with_command_permissions(&text, &all_commands())).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cap: serde_json::Value = serde_json::from_str(&text).unwrap();
        let granted: BTreeSet<String> = cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        let mut want: BTreeSet<String> = all_commands().iter().map(|c| generate::permission(c)).collect();
        want.insert("core:event:allow-listen".into());
        want.insert("core:event:allow-unlisten".into());
        assert_eq!(
            granted, want,
            "capabilities/main.json does not grant exactly the contract's commands; run `UPDATE_BINDINGS=1 cargo test -p caretaker-app`"
        );
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
    }

    /// build.rs writes a permission file per command; none is left from a removed one.
    #[test]
    fn permission_files_match_the_commands() {
        let dir = manifest_dir().join("permissions/autogenerated");
        let files: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
            .collect();
        let want: BTreeSet<String> = all_commands().iter().map(|c| c.to_string()).collect();
        assert_eq!(files, want, "src-tauri/permissions/autogenerated/ holds a file for a command the contract no longer has");
    }

    /// The UI's command map is the one the contract writes.
    #[test]
    fn contract_typescript_is_fresh() {
        let path = manifest_dir().join("../ui/src/platform/commands.gen.ts");
        let want = generate::command_map(&super::contract());
        if updating() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "ui/src/platform/commands.gen.ts is stale ({}); run `UPDATE_BINDINGS=1 cargo test -p caretaker-app` and commit it",
            first_difference(&have, &want)
        );
    }

    /// Every type the contract names has a file among the engine's bindings, so the map's imports
    /// resolve.
    #[test]
    fn contract_types_are_in_the_bindings() {
        let bindings = manifest_dir().join("../ui/src/bindings");
        let missing: Vec<String> = super::contract()
            .iter()
            .flat_map(|c| c.imports())
            .filter(|(_, file)| !bindings.join(file).is_file())
            .map(|(name, _)| name)
            .collect();
        assert!(
            missing.is_empty(),
            "the contract uses types the engine does not export: {missing:?}; add them to caretaker_engine::bindings::export_all"
        );
    }

    /// The shell serves the engine's table, no more and no fewer.
    #[test]
    fn the_window_gets_the_engines_contract() {
        assert_eq!(COMMANDS, caretaker_engine::control::COMMANDS);
    }

    /// The map names each shell command once, as the handler and the permissions do.
    #[test]
    fn the_map_carries_the_shell_commands() {
        let names: Vec<&str> = super::contract().iter().map(|c| c.name).collect();
        assert_eq!(names, all_commands());
    }

    #[test]
    fn contract_names_are_unique_and_snake_case() {
        let all = all_commands();
        let unique: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len());
        for name in &all {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
        }
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
