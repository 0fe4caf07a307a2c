// The command names come from the contract, the same table src/commands.rs expands.
include!("src/contract.rs");

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

fn main() {
    // Declaring the app's commands makes each one a permission, so capabilities/ can grant the
    // window exactly these and nothing else.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
