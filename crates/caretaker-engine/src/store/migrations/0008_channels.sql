-- Notification channels: every alert transition a channel wants, one row per channel, written
-- before anything is sent; and each channel's last delivery and last failure.
CREATE TABLE channel_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    transition TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    -- The message as JSON (channels::message::Message).
    payload TEXT NOT NULL,
    -- pending -> sending -> delivered; a test that failed ends as failed.
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at INTEGER
);
CREATE INDEX channel_outbox_waiting ON channel_outbox(channel, state, id);

CREATE TABLE channel_status (
    channel TEXT PRIMARY KEY,
    last_success_at INTEGER,
    last_failure_at INTEGER,
    last_error TEXT
);
