include!("src/command_names.rs");

fn main() {
    // Declaring the app's commands makes each one a permission, so capabilities/ can grant the
    // window exactly these and nothing else.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
