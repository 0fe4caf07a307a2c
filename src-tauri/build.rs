// The command names come from the engine's contract, the same table src/commands.rs expands.
include!("../crates/caretaker-engine/src/control/contract.rs");

/// Keeps only the names of the contract's commands.
macro_rules! command_names {
    (
        { $($import:item)* }
        $(
            $(#[doc = $doc:literal])*
            $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $res:ty = |$e:ident| $body:expr;
        )*
    ) => {
        const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}

with_commands!(command_names);

include!("src/shell_commands.rs");

fn main() {
    // Outside this package, so cargo would not notice a change on its own.
    println!("cargo:rerun-if-changed=../crates/caretaker-engine/src/control/contract.rs");
    // Declaring the app's commands makes each one a permission, so capabilities/ can grant the
    // window exactly these and nothing else.
    println!("cargo:rerun-if-changed=src/shell_commands.rs");
    let all: Vec<&'static str> = COMMANDS.iter().chain(SHELL_COMMANDS).copied().collect();
    let manifest = tauri_build::AppManifest::new().commands(all.leak());
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
