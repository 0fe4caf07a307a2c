//! Backups from the window, the CLI and the socket: plans (made, changed, removed), their
//! passwords, jobs (back up, verify, prune, cancel), snapshots, browsing and restores.

use super::EngineHandle;
use crate::backup::plan_edit::BackupSettings;
use crate::backup::protocol::{ConflictPolicy, ConnectionReport, SnapshotInfo, TreeEntry};
use crate::backup::{self, config::PlanConfig, secret, BackupRun, BackupsOverview, JobInfo, PlanCreated, RestoreOutcome};
use crate::error::Result;

impl EngineHandle {
    /// Starts a backup of `plan` now (then its retention, in the same worker); returns the run id.
    pub async fn backup_now(&self, plan: &str) -> Result<i64> {
        self.s.backup.backup_now(plan).await
    }

    /// Checks a plan's repository now: structure only, or with a rotating twelfth of the data.
    pub async fn verify_backup(&self, plan: &str, read_data: bool, trigger: &str) -> Result<BackupRun> {
        self.s.backup.verify(plan, read_data, trigger).await
    }

    /// Applies a plan's retention now (forget, then prune).
    pub async fn prune_backup(&self, plan: &str) -> Result<()> {
        self.s.backup.prune(plan).await
    }

    /// Kills the running job's worker. The repository stays valid.
    pub fn cancel_backup_job(&self) -> Result<i64> {
        self.s.backup.cancel()
    }

    pub fn backup_job(&self) -> Option<JobInfo> {
        self.s.backup.job()
    }

    pub async fn backups_overview(&self) -> Result<BackupsOverview> {
        self.s.backup.overview().await
    }

    pub async fn backup_history(&self, plan: Option<String>, limit: u32) -> Result<Vec<BackupRun>> {
        self.s.backup.history(plan, limit).await
    }

    /// A strong password for a new repository (the wizard shows it once, to write down).
    pub fn suggest_backup_password(&self) -> Result<String> {
        secret::suggest()
    }

    /// Creates (or adopts an existing) repository, keeps its passwords, and adds the plan.
    pub async fn create_backup_plan(&self, plan: PlanConfig, password: String, server_password: Option<String>) -> Result<PlanCreated> {
        self.s.backup.create_plan(plan, password, server_password).await
    }

    /// Reachable? Initialised? Does the password open it? Before a plan exists; writes nothing.
    pub async fn test_backup_repository(&self, repository: &str, password: String, server: Option<String>) -> Result<ConnectionReport> {
        self.s.backup.test_connection(repository, password, server).await
    }

    /// Caretaker's own database and settings from a plan's snapshot (the latest that holds them
    /// when none is named), checked and waiting for the next start.
    pub async fn restore_own_data(&self, plan: &str, snapshot: Option<String>) -> Result<crate::backup::own_data::OwnDataRestore> {
        self.s.backup.restore_own_data(plan, snapshot).await
    }

    /// Caretaker's SSH public key for SFTP repositories (made on first use), to add to the
    /// server's `~/.ssh/authorized_keys`.
    pub async fn backup_ssh_key(&self) -> Result<String> {
        let core = &self.s.core;
        crate::backup::ssh_key::public_key(&core.data_dir, &core.hostname).await.map_err(crate::error::EngineError::Internal)
    }

    /// Lets Caretaker's SSH key into the SFTP account of `repository` with the account's
    /// password, used once and not kept; returns the key's public line.
    pub async fn backup_ssh_let_key_in(&self, repository: &str, password: String) -> Result<String> {
        self.s.backup.let_ssh_key_in(repository, password).await
    }

    /// Replaces the stored REST server password of a plan after the server accepted it.
    pub async fn set_backup_server_password(&self, plan: &str, password: String) -> Result<()> {
        self.s.backup.set_server_password(plan, password).await
    }

    /// Saves a changed plan: its folders, exclusions, schedule and retention (not its repository).
    pub async fn update_backup_plan(&self, plan: PlanConfig) -> Result<PlanConfig> {
        crate::backup::plans::update_plan(&self.s.core, plan).await
    }

    /// The backup settings every plan shares.
    pub fn backup_settings(&self) -> BackupSettings {
        BackupSettings::of(&self.s.core.config().backups)
    }

    pub async fn save_backup_settings(&self, settings: BackupSettings) -> Result<BackupSettings> {
        crate::backup::plans::save_settings(&self.s.core, settings).await
    }

    /// Removes a plan from the config. Its repository and snapshots are left as they are.
    pub async fn delete_backup_plan(&self, name: String) -> Result<()> {
        self.s.backup.delete_plan(name).await
    }

    /// Replaces the stored password of a plan's repository after checking that it opens it.
    pub async fn set_backup_password(&self, plan: &str, password: String) -> Result<()> {
        self.s.backup.set_password(plan, password).await
    }

    pub async fn backup_snapshots(&self, plan: &str) -> Result<Vec<SnapshotInfo>> {
        self.s.backup.snapshots(plan).await
    }

    pub async fn backup_ls(&self, plan: &str, snapshot: String, path: String) -> Result<Vec<TreeEntry>> {
        self.s.backup.ls(plan, snapshot, path).await
    }

    /// Restores a snapshot, a folder or a file into `destination`; refuses (writing nothing)
    /// when files would be replaced and no policy was chosen.
    pub async fn restore_backup(
        &self,
        plan: &str,
        snapshot: String,
        path: String,
        destination: String,
        on_conflict: Option<ConflictPolicy>,
    ) -> Result<RestoreOutcome> {
        self.s.backup.restore(plan, snapshot, path, destination, on_conflict).await
    }

    /// Opens, keeps or resolves each plan's alerts: failed runs, overdue plans, failed checks.
    pub async fn evaluate_backups(&self) {
        backup::health::evaluate(&self.s.core).await
    }
}
