-- 0004_audit: the audit chain names its neighbours: each sealed event the id of the event
-- before it, and the head the id of the last sealed event, so that the verifier can name a
-- deleted event. The index serves ListAuditEvents filtered by action, newest first.

ALTER TABLE audit_events ADD COLUMN prev_event_id TEXT;

ALTER TABLE audit_chain_head ADD COLUMN event_id TEXT NOT NULL DEFAULT '';

CREATE INDEX audit_events_action ON audit_events (action, event_time);
