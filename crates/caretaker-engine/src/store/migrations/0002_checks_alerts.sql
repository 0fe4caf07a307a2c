CREATE TABLE service_health_checks (
    id            INTEGER PRIMARY KEY,
    service_name  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'down')),
    latency_ms    REAL,
    checked_at    INTEGER NOT NULL,
    error_message TEXT,
    probe_details TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL
);
CREATE INDEX service_health_checks_created ON service_health_checks (created_at);
CREATE INDEX service_health_checks_service_created ON service_health_checks (service_name, created_at);

CREATE TABLE alert_events (
    id               INTEGER PRIMARY KEY,
    rule             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    alert_type       TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    status           TEXT NOT NULL CHECK (status IN ('active', 'acknowledged', 'resolved')),
    message          TEXT NOT NULL,
    details          TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    resolved_at      INTEGER,
    snoozed_until    INTEGER,
    last_notified_at INTEGER
);
CREATE INDEX alert_events_created ON alert_events (created_at);
CREATE INDEX alert_events_status ON alert_events (status);
CREATE INDEX alert_events_subject_status ON alert_events (subject, status);
-- Dedup: at most one open alert per (rule, subject), enforced by the database itself.
CREATE UNIQUE INDEX alert_events_open ON alert_events (rule, subject) WHERE status != 'resolved';
