-- Caretaker's own log, INFO and above. AUTOINCREMENT keeps ids monotonic even after pruning,
-- so "logs since id N" never sees a reused id.
CREATE TABLE logs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        INTEGER NOT NULL,
    level     INTEGER NOT NULL, -- 1 info, 2 warn, 3 error
    target    TEXT NOT NULL,
    message   TEXT NOT NULL,
    fields    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX logs_ts ON logs (ts);
CREATE VIRTUAL TABLE logs_fts USING fts5(message, target, content = 'logs', content_rowid = 'id');
CREATE TRIGGER logs_fts_insert AFTER INSERT ON logs BEGIN
    INSERT INTO logs_fts (rowid, message, target) VALUES (new.id, new.message, new.target);
END;
CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN
    INSERT INTO logs_fts (logs_fts, rowid, message, target) VALUES ('delete', old.id, old.message, old.target);
END;

CREATE TABLE maintenance_runs (
    id         INTEGER PRIMARY KEY,
    trigger    TEXT NOT NULL,          -- manual, schedule
    status     TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    summary    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX maintenance_runs_started ON maintenance_runs (started_at);

CREATE TABLE maintenance_task_runs (
    run_id      INTEGER NOT NULL REFERENCES maintenance_runs(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    task_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'started', 'completed', 'failed', 'skipped')),
    message     TEXT,
    started_at  INTEGER,
    ended_at    INTEGER,
    rows_pruned INTEGER NOT NULL DEFAULT 0,
    bytes_freed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, idx)
);
