-- 0001_initial_schema: the first schema: users, sessions, accounts, the ledger, idempotency and
-- the audit log. Engine-specific (entries.id): this file is SQLite's, up.postgres.sql PostgreSQL's.

-- Users and their roles (comma-separated role names, e.g. "CUSTOMER,TELLER").
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  full_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);

-- A session per sign-in. Access tokens carry its id; revoked_time ends them all.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  user_agent TEXT NOT NULL,
  client_address TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  last_used_time BIGINT NOT NULL,
  expire_time BIGINT NOT NULL,
  revoked_time BIGINT,
  revoke_reason TEXT
);

CREATE INDEX sessions_user ON sessions (user_id, create_time);

-- Refresh tokens, stored only as SHA-256 hashes. used_time set = rotated; presenting a
-- rotated token again is theft and revokes the session.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  create_time BIGINT NOT NULL,
  expire_time BIGINT NOT NULL,
  used_time BIGINT
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Login throttling shared by every process: one row per account ("user:ID") or client
-- address ("addr:IP").
CREATE TABLE login_throttle (
  throttle_key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start BIGINT NOT NULL,
  blocked_until BIGINT NOT NULL
);

-- Accounts. balance and held are changed only by the ledger's posting function.
-- kind: CUSTOMER or SETTLEMENT (one per currency: the outside world).
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  owner_id TEXT REFERENCES users(id),
  kind TEXT NOT NULL,
  currency TEXT NOT NULL,
  account_type TEXT NOT NULL,
  status TEXT NOT NULL,
  display_name TEXT NOT NULL,
  balance BIGINT NOT NULL DEFAULT 0,
  held BIGINT NOT NULL DEFAULT 0,
  overdraft_limit BIGINT NOT NULL DEFAULT 0,
  entry_count BIGINT NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);

CREATE INDEX accounts_owner ON accounts (owner_id, create_time);

CREATE UNIQUE INDEX accounts_settlement ON accounts (currency) WHERE kind = 'SETTLEMENT';

-- Transactions: one row per money movement or hold. reverses_id is unique, so a
-- transaction is reversed at most once whatever the concurrency.
CREATE TABLE transactions (
  id TEXT PRIMARY KEY,
  tx_type TEXT NOT NULL,
  status TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount BIGINT NOT NULL,
  from_account_id TEXT REFERENCES accounts(id),
  to_account_id TEXT REFERENCES accounts(id),
  description TEXT NOT NULL,
  request_id TEXT NOT NULL,
  initiated_by TEXT NOT NULL,
  reverses_id TEXT UNIQUE REFERENCES transactions(id),
  hold_id TEXT REFERENCES transactions(id),
  expire_time BIGINT,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);

CREATE INDEX transactions_pending_holds ON transactions (expire_time) WHERE status = 'PENDING';

-- Entries: append-only; seq numbers each account's postings 1, 2, 3... and balance_after is
-- the account's ledger balance after the entry.
CREATE TABLE entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id TEXT NOT NULL REFERENCES transactions(id),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  seq BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  balance_after BIGINT NOT NULL,
  create_time BIGINT NOT NULL,
  UNIQUE (account_id, seq)
);

CREATE INDEX entries_account_time ON entries (account_id, create_time);

CREATE INDEX entries_transaction ON entries (transaction_id);

-- Idempotency (AIP-155): the unique key makes concurrent duplicates apply once; the
-- stored outcome (a response or a business error) is replayed.
CREATE TABLE idempotency_keys (
  caller_id TEXT NOT NULL,
  method TEXT NOT NULL,
  request_id TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  payload_fields TEXT NOT NULL,
  outcome TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  PRIMARY KEY (caller_id, method, request_id)
);

-- The audit log. Rows are written in the transaction of the change they record, unsealed
-- (seq NULL); the sealer then numbers them and hash-chains them in seq order.
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY,
  event_time BIGINT NOT NULL,
  actor_id TEXT NOT NULL,
  action TEXT NOT NULL,
  target_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  client_address TEXT NOT NULL,
  request_id TEXT NOT NULL,
  details TEXT NOT NULL,
  seq BIGINT UNIQUE,
  prev_hash TEXT,
  hash TEXT
);

CREATE INDEX audit_events_unsealed ON audit_events (event_time) WHERE seq IS NULL;

CREATE INDEX audit_events_time ON audit_events (event_time);

CREATE INDEX audit_events_actor ON audit_events (actor_id, event_time);

CREATE INDEX audit_events_target ON audit_events (target_id, event_time);

-- The head of the hash chain: the last sealed seq and hash. Deleting the newest events
-- makes the chain end before the head, which the verifier reports.
CREATE TABLE audit_chain_head (
  id INTEGER PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);

INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
