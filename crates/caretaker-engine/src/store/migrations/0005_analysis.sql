CREATE TABLE analysis_scans (
    scan_id          INTEGER PRIMARY KEY,
    started_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    log_id_start     INTEGER NOT NULL, -- exclusive: lines with id > log_id_start
    log_id_end       INTEGER NOT NULL, -- inclusive
    findings_created INTEGER NOT NULL DEFAULT 0,
    error_message    TEXT,
    raw_answer       TEXT,             -- kept when the answer could not be understood
    trigger          TEXT NOT NULL DEFAULT 'schedule'
);
CREATE TABLE analysis_findings (
    id               INTEGER PRIMARY KEY,
    scan_id          INTEGER NOT NULL REFERENCES analysis_scans(scan_id) ON DELETE CASCADE,
    classification   TEXT NOT NULL CHECK (classification IN ('bug', 'misconfiguration', 'resource', 'external', 'transient', 'noise')),
    severity         TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    source_log_ids   TEXT NOT NULL DEFAULT '[]',
    suggested_action TEXT,
    suggested_confidence REAL,
    created_at       INTEGER NOT NULL,
    dismissed_at     INTEGER
);
CREATE INDEX analysis_findings_scan ON analysis_findings (scan_id);
