-- A backup that could not read some files completes as 'partial', with how many it left out and
-- the first of them by name (JSON: [{path, reason, message}]). SQLite cannot change a CHECK in
-- place, so the table is rebuilt; no other table refers to it.
CREATE TABLE backup_runs_new (
    id               INTEGER PRIMARY KEY,
    plan             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('backup', 'forget', 'check', 'restore')),
    trigger          TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'cancelled', 'interrupted')),
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
    details          TEXT,
    unreadable       INTEGER NOT NULL DEFAULT 0,
    unreadable_items TEXT
);
INSERT INTO backup_runs_new (id, plan, kind, trigger, started_at, finished_at, status, snapshot_id, files_new, files_changed,
                             files_unmodified, bytes_processed, bytes_added, read_data, repository_bytes, error_kind, error, details)
SELECT id, plan, kind, trigger, started_at, finished_at, status, snapshot_id, files_new, files_changed,
       files_unmodified, bytes_processed, bytes_added, read_data, repository_bytes, error_kind, error, details
FROM backup_runs;
DROP TABLE backup_runs;
ALTER TABLE backup_runs_new RENAME TO backup_runs;
CREATE INDEX backup_runs_plan ON backup_runs (plan, kind, started_at);
