-- Every healing decision: ran, refused (and why), escalated to the person, approved by them.
-- A row is written before an action runs and completed after, so a crash leaves a trace.
CREATE TABLE healing_actions (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER,
    action_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('ran', 'approved_by_user', 'escalated', 'refused_rate_limit',
                                                  'refused_cooldown', 'refused_max_attempts', 'refused_manual_stop')),
    argv        TEXT NOT NULL DEFAULT '[]',
    exit_code   INTEGER,
    stdout      TEXT,
    stderr      TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    ended_at    INTEGER,
    outcome     TEXT,
    healed      INTEGER
);
CREATE INDEX healing_actions_created ON healing_actions (created_at);
CREATE INDEX healing_actions_alert ON healing_actions (alert_id, action_id);
CREATE INDEX healing_actions_action ON healing_actions (action_id, subject, created_at);
