-- A remedy suggested by log analysis becomes an escalation like any other healing decision,
-- tied to the finding that suggested it instead of to an alert.
ALTER TABLE healing_actions ADD COLUMN finding_id INTEGER;
CREATE INDEX healing_actions_finding ON healing_actions (finding_id);
-- What the model suggested, in its own words, and why it can only be read when it cannot run.
ALTER TABLE analysis_findings ADD COLUMN suggestion TEXT;
ALTER TABLE analysis_findings ADD COLUMN suggestion_note TEXT;
