-- One row per engine start: a heartbeat the running engine moves forward every minute, and the
-- time of its clean stop (NULL while it runs, and forever when it crashed or was killed). The next
-- start reads it to tell how long the engine was away, and to spot a restart loop.
CREATE TABLE engine_runs (
    id           INTEGER PRIMARY KEY,
    started_ms   INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    stopped_ms   INTEGER
);
