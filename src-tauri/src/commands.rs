//! IPC commands, expanded from the table in contract.rs: one async wrapper per command that calls
//! the engine, the names, and the invoke handler. Every error crosses as the engine's
//! `ErrorPayload { kind, code, message, fields }`.

use crate::EngineSlot;
use caretaker_engine::{EngineHandle, ErrorPayload};
use tauri::State;

include!("contract.rs");

fn engine(slot: &EngineSlot) -> Result<EngineHandle, ErrorPayload> {
    slot.0.clone()
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
            async fn $name(slot: State<'_, EngineSlot>, $($arg: $ty),*) -> Result<$res, ErrorPayload> {
                let $e = engine(&slot)?;
                let result: caretaker_engine::Result<$res> = $body;
                result.map_err(|err| err.payload())
            }
        )*

        /// Every command's name, in the table's order.
        #[cfg_attr(not(test), allow(dead_code))]
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// The invoke handler for every command in the table.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// The contract as data, for writing the TypeScript command map.
        #[cfg(test)]
        pub fn contract() -> Vec<crate::generate::Command> {
            use crate::generate::{Command, Type};
            vec![$(
                Command {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    args: vec![$((stringify!($arg), Type::of::<$ty>())),*],
                    response: Type::of::<$res>(),
                }
            ),*]
        }
    };
}

with_commands!(tauri_commands);

#[cfg(test)]
mod tests {
    use super::COMMANDS;
    use crate::generate;
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
            std::fs::write(&path, generate::with_command_permissions(&text, COMMANDS)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cap: serde_json::Value = serde_json::from_str(&text).unwrap();
        let granted: BTreeSet<String> =
            cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        let mut want: BTreeSet<String> = COMMANDS.iter().map(|c| generate::permission(c)).collect();
        want.insert("core:event:allow-listen".into());
        want.insert("core:event:allow-unlisten".into());
        assert_eq!(
            granted, want,
            "capabilities/main.json does not grant exactly the contract's commands; run `UPDATE_BINDINGS=1 cargo test -p caretaker-app`"
        );
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
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

    #[test]
    fn contract_names_are_unique_and_snake_case() {
        let unique: BTreeSet<&str> = COMMANDS.iter().copied().collect();
        assert_eq!(unique.len(), COMMANDS.len());
        for name in COMMANDS {
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
