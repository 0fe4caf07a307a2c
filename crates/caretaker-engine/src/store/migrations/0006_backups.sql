-- Every backup, retention (forget + prune), check and restore job, with what it did.
CREATE TABLE backup_runs (
    id               INTEGER PRIMARY KEY,
    plan             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('backup', 'forget', 'check', 'restore')),
    trigger          TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'cancelled', 'interrupted')),
    snapshot_id      TEXT,
    files_new        INTEGER NOT NULL DEFAULT 0,
    files_changed    INTEGER NOT NULL DEFAULT 0,
    files_unmodified INTEGER NOT NULL DEFAULT 0,
    bytes_processed  INTEGER NOT NULL DEFAULT 0,
    bytes_added      INTEGER NOT NULL DEFAULT 0,
    read_data        INTEGER NOT NULL DEFAULT 0,
    repository_bytes INTEGER,
    error_kind       TEXT,
    error            TEXT,
    details          TEXT
);
CREATE INDEX backup_runs_plan ON backup_runs (plan, kind, started_at);
