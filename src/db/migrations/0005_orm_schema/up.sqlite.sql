-- 0005_orm_schema (SQLite): MikroORM becomes the unit of work everywhere, so the schema is brought
-- to exactly what the entities (src/db/entities.ts) describe, and MikroORM's schema diff is empty
-- (test/foundation/entities.test.ts proves it). Names of constraints are not introspectable on
-- SQLite, primary keys were nullable and unique constraints anonymous, so every table is rebuilt
-- in the entities' form (SQLite's documented 12-step ALTER: new table, copy, drop, rename).
--
-- NOT transactional (migration.json): PRAGMA foreign_keys only takes effect outside a
-- transaction, so this file turns the keys off, opens its own transaction (BEGIN IMMEDIATE ...
-- COMMIT) and turns them on again. Rebuilding again gives the same tables (each starts with
-- DROP TABLE IF EXISTS <table>__new), so a crash between COMMIT and the migration's record in
-- schema_migrations is harmless.

PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

-- users
DROP TABLE IF EXISTS users__new;

CREATE TABLE users__new (id TEXT NOT NULL, email TEXT NOT NULL, full_name TEXT NOT NULL, password_hash TEXT NOT NULL, roles TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, create_time BIGINT NOT NULL, update_time BIGINT NOT NULL, PRIMARY KEY (id));

INSERT INTO users__new (id, email, full_name, password_hash, roles, disabled, create_time, update_time) SELECT id, email, full_name, password_hash, roles, disabled, create_time, update_time FROM users;

DROP TABLE users;

ALTER TABLE users__new RENAME TO users;

CREATE UNIQUE INDEX users_email_unique ON users (email);

-- sessions
DROP TABLE IF EXISTS sessions__new;

CREATE TABLE sessions__new (id TEXT NOT NULL, user_id TEXT NOT NULL, user_agent TEXT NOT NULL, client_address TEXT NOT NULL, create_time BIGINT NOT NULL,
    last_used_time BIGINT NOT NULL, expire_time BIGINT NOT NULL, revoked_time BIGINT NULL, revoke_reason TEXT NULL,
    CONSTRAINT sessions_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (id));

INSERT INTO sessions__new (id, user_id, user_agent, client_address, create_time, last_used_time, expire_time, revoked_time, revoke_reason) SELECT id, user_id, user_agent, client_address, create_time, last_used_time, expire_time, revoked_time, revoke_reason FROM sessions;

DROP TABLE sessions;

ALTER TABLE sessions__new RENAME TO sessions;

CREATE INDEX sessions_user ON sessions (user_id, create_time);

-- refresh_tokens
DROP TABLE IF EXISTS refresh_tokens__new;

CREATE TABLE refresh_tokens__new (token_hash TEXT NOT NULL, session_id TEXT NOT NULL, create_time BIGINT NOT NULL, expire_time BIGINT NOT NULL, used_time BIGINT NULL,
    CONSTRAINT refresh_tokens_session_id_foreign FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    PRIMARY KEY (token_hash));

INSERT INTO refresh_tokens__new (token_hash, session_id, create_time, expire_time, used_time) SELECT token_hash, session_id, create_time, expire_time, used_time FROM refresh_tokens;

DROP TABLE refresh_tokens;

ALTER TABLE refresh_tokens__new RENAME TO refresh_tokens;

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- login_throttle
DROP TABLE IF EXISTS login_throttle__new;

CREATE TABLE login_throttle__new (throttle_key TEXT NOT NULL, failures INTEGER NOT NULL, window_start BIGINT NOT NULL, blocked_until BIGINT NOT NULL,
    PRIMARY KEY (throttle_key));

INSERT INTO login_throttle__new (throttle_key, failures, window_start, blocked_until) SELECT throttle_key, failures, window_start, blocked_until FROM login_throttle;

DROP TABLE login_throttle;

ALTER TABLE login_throttle__new RENAME TO login_throttle;

-- accounts
DROP TABLE IF EXISTS accounts__new;

CREATE TABLE accounts__new (id TEXT NOT NULL, number TEXT NOT NULL, owner_id TEXT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL, account_type TEXT NOT NULL,
    status TEXT NOT NULL, display_name TEXT NOT NULL, balance BIGINT NOT NULL DEFAULT 0, held BIGINT NOT NULL DEFAULT 0,
    overdraft_limit BIGINT NOT NULL DEFAULT 0, entry_count BIGINT NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1,
    create_time BIGINT NOT NULL, update_time BIGINT NOT NULL,
    CONSTRAINT accounts_owner_id_foreign FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (id));

INSERT INTO accounts__new (id, number, owner_id, kind, currency, account_type, status, display_name, balance, held, overdraft_limit, entry_count, version, create_time, update_time) SELECT id, number, owner_id, kind, currency, account_type, status, display_name, balance, held, overdraft_limit, entry_count, version, create_time, update_time FROM accounts;

DROP TABLE accounts;

ALTER TABLE accounts__new RENAME TO accounts;

CREATE INDEX accounts_owner ON accounts (owner_id, create_time);

CREATE UNIQUE INDEX accounts_settlement ON accounts (currency) WHERE kind = 'SETTLEMENT';

CREATE UNIQUE INDEX accounts_number_unique ON accounts (number);

-- transactions
DROP TABLE IF EXISTS transactions__new;

CREATE TABLE transactions__new (id TEXT NOT NULL, tx_type TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL,
    from_account_id TEXT NULL, to_account_id TEXT NULL, description TEXT NOT NULL, request_id TEXT NOT NULL, initiated_by TEXT NOT NULL,
    reverses_id TEXT NULL, hold_id TEXT NULL, expire_time BIGINT NULL, create_time BIGINT NOT NULL, update_time BIGINT NOT NULL,
    CONSTRAINT transactions_from_account_id_foreign FOREIGN KEY (from_account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_to_account_id_foreign FOREIGN KEY (to_account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_reverses_id_foreign FOREIGN KEY (reverses_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_hold_id_foreign FOREIGN KEY (hold_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    PRIMARY KEY (id));

INSERT INTO transactions__new (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time) SELECT id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time FROM transactions;

DROP TABLE transactions;

ALTER TABLE transactions__new RENAME TO transactions;

CREATE INDEX transactions_pending_holds ON transactions (expire_time) WHERE status = 'PENDING';

CREATE UNIQUE INDEX transactions_reverses_id_unique ON transactions (reverses_id);

-- entries
DROP TABLE IF EXISTS entries__new;

CREATE TABLE entries__new (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, transaction_id TEXT NOT NULL, account_id TEXT NOT NULL, seq BIGINT NOT NULL,
    amount BIGINT NOT NULL, balance_after BIGINT NOT NULL, create_time BIGINT NOT NULL,
    CONSTRAINT entries_transaction_id_foreign FOREIGN KEY (transaction_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT entries_account_id_foreign FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION);

INSERT INTO entries__new (id, transaction_id, account_id, seq, amount, balance_after, create_time) SELECT id, transaction_id, account_id, seq, amount, balance_after, create_time FROM entries;

DROP TABLE entries;

ALTER TABLE entries__new RENAME TO entries;

CREATE INDEX entries_account_time ON entries (account_id, create_time);

CREATE INDEX entries_transaction ON entries (transaction_id);

CREATE UNIQUE INDEX entries_account_id_seq_unique ON entries (account_id, seq);

-- idempotency_keys
DROP TABLE IF EXISTS idempotency_keys__new;

CREATE TABLE idempotency_keys__new (caller_id TEXT NOT NULL, method TEXT NOT NULL, request_id TEXT NOT NULL, payload_hash TEXT NOT NULL, payload_fields TEXT NOT NULL,
    outcome TEXT NOT NULL, create_time BIGINT NOT NULL, PRIMARY KEY (caller_id, method, request_id));

INSERT INTO idempotency_keys__new (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) SELECT caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time FROM idempotency_keys;

DROP TABLE idempotency_keys;

ALTER TABLE idempotency_keys__new RENAME TO idempotency_keys;

-- audit_events
DROP TABLE IF EXISTS audit_events__new;

CREATE TABLE audit_events__new (id TEXT NOT NULL, event_time BIGINT NOT NULL, actor_id TEXT NOT NULL, action TEXT NOT NULL, target_id TEXT NOT NULL,
    outcome TEXT NOT NULL, client_address TEXT NOT NULL, request_id TEXT NOT NULL, details TEXT NOT NULL, seq BIGINT NULL, prev_hash TEXT NULL,
    hash TEXT NULL, prev_event_id TEXT NULL, PRIMARY KEY (id));

INSERT INTO audit_events__new (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details, seq, prev_hash, hash, prev_event_id) SELECT id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details, seq, prev_hash, hash, prev_event_id FROM audit_events;

DROP TABLE audit_events;

ALTER TABLE audit_events__new RENAME TO audit_events;

CREATE INDEX audit_events_unsealed ON audit_events (event_time) WHERE seq IS NULL;

CREATE INDEX audit_events_time ON audit_events (event_time);

CREATE INDEX audit_events_actor ON audit_events (actor_id, event_time);

CREATE INDEX audit_events_target ON audit_events (target_id, event_time);

CREATE INDEX audit_events_action ON audit_events (action, event_time);

CREATE UNIQUE INDEX audit_events_seq_unique ON audit_events (seq);

-- audit_chain_head
DROP TABLE IF EXISTS audit_chain_head__new;

CREATE TABLE audit_chain_head__new (id INTEGER NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, event_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (id));

INSERT INTO audit_chain_head__new (id, seq, hash, event_id) SELECT id, seq, hash, event_id FROM audit_chain_head;

DROP TABLE audit_chain_head;

ALTER TABLE audit_chain_head__new RENAME TO audit_chain_head;

COMMIT;

PRAGMA foreign_keys = ON;
