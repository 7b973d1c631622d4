-- 0005_orm_schema (PostgreSQL): MikroORM becomes the unit of work everywhere, so the schema is
-- brought to exactly what the entities (src/db/entities.ts) describe, and MikroORM's schema diff
-- is empty (test/foundation/entities.test.ts proves it). Unique and foreign-key constraints take
-- MikroORM's names (<table>_<columns>_unique, <table>_<column>_foreign), and entries.id is fed by
-- a sequence instead of an identity column.

ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_unique;

ALTER TABLE accounts RENAME CONSTRAINT accounts_number_key TO accounts_number_unique;

ALTER TABLE transactions RENAME CONSTRAINT transactions_reverses_id_key TO transactions_reverses_id_unique;

ALTER TABLE entries RENAME CONSTRAINT entries_account_id_seq_key TO entries_account_id_seq_unique;

ALTER TABLE audit_events RENAME CONSTRAINT audit_events_seq_key TO audit_events_seq_unique;

ALTER TABLE sessions RENAME CONSTRAINT sessions_user_id_fkey TO sessions_user_id_foreign;

ALTER TABLE refresh_tokens RENAME CONSTRAINT refresh_tokens_session_id_fkey TO refresh_tokens_session_id_foreign;

ALTER TABLE accounts RENAME CONSTRAINT accounts_owner_id_fkey TO accounts_owner_id_foreign;

ALTER TABLE transactions RENAME CONSTRAINT transactions_from_account_id_fkey TO transactions_from_account_id_foreign;

ALTER TABLE transactions RENAME CONSTRAINT transactions_to_account_id_fkey TO transactions_to_account_id_foreign;

ALTER TABLE transactions RENAME CONSTRAINT transactions_reverses_id_fkey TO transactions_reverses_id_foreign;

ALTER TABLE transactions RENAME CONSTRAINT transactions_hold_id_fkey TO transactions_hold_id_foreign;

ALTER TABLE entries RENAME CONSTRAINT entries_transaction_id_fkey TO entries_transaction_id_foreign;

ALTER TABLE entries RENAME CONSTRAINT entries_account_id_fkey TO entries_account_id_foreign;

ALTER TABLE entries ALTER COLUMN id DROP IDENTITY;

CREATE SEQUENCE entries_id_seq OWNED BY entries.id;

SELECT setval('entries_id_seq', COALESCE((SELECT MAX(id) FROM entries), 0) + 1, false);

ALTER TABLE entries ALTER COLUMN id SET DEFAULT nextval('entries_id_seq');
