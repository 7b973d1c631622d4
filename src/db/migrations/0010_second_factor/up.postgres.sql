-- 0010_second_factor, issue 27, a second factor for staff: the user's TOTP secret (encrypted
-- under the server's key), when it was confirmed and the last time step accepted (replay);
-- enrolments awaiting their first code; recovery codes as SHA-256 hashes; and, on sessions, a
-- staff session's idle limit and the enrolment-only mark. Staff sessions opened before it (with a
-- password alone, and without the staff limits) are ended: their next sign-in is enrolment-only.
-- Engine-specific only in the first statement's clock (epoch milliseconds): this file has
-- PostgreSQL's clock: clock_timestamp(); up.sqlite.sql is the same otherwise.

UPDATE sessions SET revoked_time = CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT), revoke_reason = 'second factor required (migration 0010)'
      WHERE revoked_time IS NULL AND user_id IN (SELECT id FROM users WHERE roles LIKE '%TELLER%' OR roles LIKE '%AUDITOR%' OR roles LIKE '%ADMIN%');

ALTER TABLE users ADD COLUMN totp_secret TEXT NULL;

ALTER TABLE users ADD COLUMN totp_confirm_time BIGINT NULL;

ALTER TABLE users ADD COLUMN totp_last_step BIGINT NULL;

ALTER TABLE sessions ADD COLUMN idle_timeout_ms BIGINT NULL;

ALTER TABLE sessions ADD COLUMN enrolment_only INTEGER NOT NULL DEFAULT 0;

CREATE TABLE totp_enrolments (
      id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      secret TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL,
      CONSTRAINT totp_enrolments_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
      PRIMARY KEY (id)
    );

CREATE INDEX totp_enrolments_user ON totp_enrolments (user_id);

CREATE TABLE recovery_codes (
      code_hash TEXT NOT NULL,
      user_id TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      used_time BIGINT NULL,
      CONSTRAINT recovery_codes_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
      PRIMARY KEY (code_hash)
    );

CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
