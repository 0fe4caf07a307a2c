//! TypeScript bindings for every type that crosses IPC, generated from these Rust definitions.
//! `cargo test` fails when `ui/src/bindings` is stale; `UPDATE_BINDINGS=1 cargo test -p
//! caretaker-engine bindings` rewrites it.

use std::path::Path;
use ts_rs::TS;

fn cfg(out: &Path) -> ts_rs::Config {
    ts_rs::Config::new().with_large_int("number").with_out_dir(out)
}

/// Writes every binding (and what each depends on) into `out`.
pub fn export_all(out: &Path) -> Result<(), ts_rs::ExportError> {
    let c = cfg(out);
    crate::Event::export_all(&c)?;
    crate::Snapshot::export_all(&c)?;
    crate::backup::own_data::OwnDataRestore::export_all(&c)?;
    crate::SeriesQuery::export_all(&c)?;
    crate::SeriesResult::export_all(&c)?;
    crate::metrics::forecast::DiskForecast::export_all(&c)?;
    crate::ErrorPayload::export_all(&c)?;
    crate::ErrorCode::export_all(&c)?;
    crate::Config::export_all(&c)?;
    crate::config::section::ConfigSection::export_all(&c)?;
    crate::CheckSummary::export_all(&c)?;
    crate::CheckHistoryQuery::export_all(&c)?;
    crate::AlertQuery::export_all(&c)?;
    crate::LogQuery::export_all(&c)?;
    crate::MaintenanceStatus::export_all(&c)?;
    crate::RunbookInfo::export_all(&c)?;
    crate::ActionSummary::export_all(&c)?;
    crate::HealingOverview::export_all(&c)?;
    crate::DryRun::export_all(&c)?;
    crate::config::HealingMode::export_all(&c)?;
    crate::HealingQuery::export_all(&c)?;
    crate::PromptState::export_all(&c)?;
    crate::Finding::export_all(&c)?;
    crate::Scan::export_all(&c)?;
    crate::config::AnalysisConfig::export_all(&c)?;
    crate::DetectorState::export_all(&c)?;
    crate::backup::BackupsOverview::export_all(&c)?;
    crate::backup::RestoreOutcome::export_all(&c)?;
    crate::backup::PlanCreated::export_all(&c)?;
    crate::backup::protocol::SnapshotInfo::export_all(&c)?;
    crate::backup::protocol::TreeEntry::export_all(&c)?;
    crate::backup::protocol::ConflictPolicy::export_all(&c)?;
    crate::backup::protocol::ConnectionReport::export_all(&c)?;
    crate::presence::ServiceSwitch::export_all(&c)?;
    crate::channels::ChannelStatus::export_all(&c)?;
    crate::channels::ChannelTestOutcome::export_all(&c)?;
    crate::channels::ChannelSecret::export_all(&c)?;
    crate::channels::ChannelConfig::export_all(&c)?;
    crate::metrics::StorageEstimate::export_all(&c)?;
    crate::backup::plan_edit::BackupSettings::export_all(&c)?;
    crate::maintenance::preview::MaintenancePreview::export_all(&c)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn committed_bindings_are_fresh() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            super::export_all(&committed).unwrap();
        }
        let fresh = tempfile::tempdir().unwrap();
        super::export_all(fresh.path()).unwrap();
        let want = read_dir(fresh.path());
        let have = read_dir(&committed);
        assert!(!want.is_empty());
        assert_eq!(have, want, "ui/src/bindings is stale; run `UPDATE_BINDINGS=1 cargo test -p caretaker-engine bindings` and commit it");
    }
}
