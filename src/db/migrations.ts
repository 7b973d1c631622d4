// Schema migrations, applied at start and by `bankd migrate`. One list for both engines; each
// migration spells the few engine differences through `t(...)` below. Append new migrations at
// the end; never edit one that has shipped.
import { Migration } from "@mikro-orm/migrations";
import type { Dialect } from "./engine";

interface Types {
  /** An auto-incrementing 64-bit primary key. */
  serial: string;
  /** The database's clock in epoch milliseconds, as a BIGINT expression. */
  nowMs: string;
}

const TYPES: Record<Dialect, Types> = {
  sqlite: { serial: "INTEGER PRIMARY KEY AUTOINCREMENT", nowMs: "CAST(unixepoch('subsec') * 1000 AS INTEGER)" },
  postgres: { serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", nowMs: "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)" },
};

/** The first schema: users, sessions, accounts, the ledger, idempotency and the audit log. */
function initialSchema(t: Types): string[] {
  return [
    // Users and their roles (comma-separated role names, e.g. "CUSTOMER,TELLER").
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      email TEXT NOT NULL UNIQUE,
      full_name TEXT NOT NULL,
      password_hash TEXT NOT NULL,
      roles TEXT NOT NULL,
      disabled INTEGER NOT NULL DEFAULT 0,
      create_time BIGINT NOT NULL,
      update_time BIGINT NOT NULL
    )`,
    // A session per sign-in. Access tokens carry its id; revoked_time ends them all.
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id),
      user_agent TEXT NOT NULL,
      client_address TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      last_used_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL,
      revoked_time BIGINT,
      revoke_reason TEXT
    )`,
    `CREATE INDEX sessions_user ON sessions (user_id, create_time)`,
    // Refresh tokens, stored only as SHA-256 hashes. used_time set = rotated; presenting a
    // rotated token again is theft and revokes the session.
    `CREATE TABLE refresh_tokens (
      token_hash TEXT PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions(id),
      create_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL,
      used_time BIGINT
    )`,
    `CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`,
    // Login throttling shared by every process: one row per account ("user:ID") or client
    // address ("addr:IP").
    `CREATE TABLE login_throttle (
      throttle_key TEXT PRIMARY KEY,
      failures INTEGER NOT NULL,
      window_start BIGINT NOT NULL,
      blocked_until BIGINT NOT NULL
    )`,
    // Accounts. balance and held are changed only by the ledger's posting function.
    // kind: CUSTOMER or SETTLEMENT (one per currency: the outside world).
    `CREATE TABLE accounts (
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
    )`,
    `CREATE INDEX accounts_owner ON accounts (owner_id, create_time)`,
    `CREATE UNIQUE INDEX accounts_settlement ON accounts (currency) WHERE kind = 'SETTLEMENT'`,
    // Transactions: one row per money movement or hold. reverses_id is unique, so a
    // transaction is reversed at most once whatever the concurrency.
    `CREATE TABLE transactions (
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
    )`,
    `CREATE INDEX transactions_pending_holds ON transactions (expire_time) WHERE status = 'PENDING'`,
    // Entries: append-only; seq numbers each account's postings 1, 2, 3... and balance_after is
    // the account's ledger balance after the entry.
    `CREATE TABLE entries (
      id ${t.serial},
      transaction_id TEXT NOT NULL REFERENCES transactions(id),
      account_id TEXT NOT NULL REFERENCES accounts(id),
      seq BIGINT NOT NULL,
      amount BIGINT NOT NULL,
      balance_after BIGINT NOT NULL,
      create_time BIGINT NOT NULL,
      UNIQUE (account_id, seq)
    )`,
    `CREATE INDEX entries_account_time ON entries (account_id, create_time)`,
    `CREATE INDEX entries_transaction ON entries (transaction_id)`,
    // Idempotency (AIP-155): the unique key makes concurrent duplicates apply once; the
    // stored outcome (a response or a business error) is replayed.
    `CREATE TABLE idempotency_keys (
      caller_id TEXT NOT NULL,
      method TEXT NOT NULL,
      request_id TEXT NOT NULL,
      payload_hash TEXT NOT NULL,
      payload_fields TEXT NOT NULL,
      outcome TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      PRIMARY KEY (caller_id, method, request_id)
    )`,
    // The audit log. Rows are written in the transaction of the change they record, unsealed
    // (seq NULL); the sealer then numbers them and hash-chains them in seq order.
    `CREATE TABLE audit_events (
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
    )`,
    `CREATE INDEX audit_events_unsealed ON audit_events (event_time) WHERE seq IS NULL`,
    `CREATE INDEX audit_events_time ON audit_events (event_time)`,
    `CREATE INDEX audit_events_actor ON audit_events (actor_id, event_time)`,
    `CREATE INDEX audit_events_target ON audit_events (target_id, event_time)`,
    // The head of the hash chain: the last sealed seq and hash. Deleting the newest events
    // makes the chain end before the head, which the verifier reports.
    `CREATE TABLE audit_chain_head (
      id INTEGER PRIMARY KEY,
      seq BIGINT NOT NULL,
      hash TEXT NOT NULL
    )`,
    `INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '${"0".repeat(64)}')`,
  ];
}

/** The audit chain names its neighbours: each sealed event the id of the event before it, and
 * the head the id of the last sealed event, so that the verifier can name a deleted event. */
function auditChainLinks(): string[] {
  return [
    `ALTER TABLE audit_events ADD COLUMN prev_event_id TEXT`,
    `ALTER TABLE audit_chain_head ADD COLUMN event_id TEXT NOT NULL DEFAULT ''`,
    // ListAuditEvents filtered by action, newest first.
    `CREATE INDEX audit_events_action ON audit_events (action, event_time)`,
  ];
}

/**
 * MikroORM becomes the unit of work everywhere, so the schema is brought to exactly what the
 * entities (entities.ts) describe, and MikroORM's schema diff is empty (a test proves it):
 * - PostgreSQL: unique and foreign-key constraints take MikroORM's names (<table>_<columns>_unique,
 *   <table>_<column>_foreign), and entries.id is fed by a sequence instead of an identity column.
 * - SQLite: names of constraints are not introspectable there, primary keys were nullable and
 *   unique constraints were anonymous, so every table is rebuilt in the entities' form (the
 *   documented 12-step ALTER: new table, copy, drop, rename) with foreign keys off, in one
 *   transaction. Rebuilding again gives the same tables, so a crash between COMMIT and the
 *   migration's record is harmless.
 */
function ormSchemaPostgres(): string[] {
  const renames: [string, string, string][] = [
    ["users", "users_email_key", "users_email_unique"],
    ["accounts", "accounts_number_key", "accounts_number_unique"],
    ["transactions", "transactions_reverses_id_key", "transactions_reverses_id_unique"],
    ["entries", "entries_account_id_seq_key", "entries_account_id_seq_unique"],
    ["audit_events", "audit_events_seq_key", "audit_events_seq_unique"],
    ["sessions", "sessions_user_id_fkey", "sessions_user_id_foreign"],
    ["refresh_tokens", "refresh_tokens_session_id_fkey", "refresh_tokens_session_id_foreign"],
    ["accounts", "accounts_owner_id_fkey", "accounts_owner_id_foreign"],
    ["transactions", "transactions_from_account_id_fkey", "transactions_from_account_id_foreign"],
    ["transactions", "transactions_to_account_id_fkey", "transactions_to_account_id_foreign"],
    ["transactions", "transactions_reverses_id_fkey", "transactions_reverses_id_foreign"],
    ["transactions", "transactions_hold_id_fkey", "transactions_hold_id_foreign"],
    ["entries", "entries_transaction_id_fkey", "entries_transaction_id_foreign"],
    ["entries", "entries_account_id_fkey", "entries_account_id_foreign"],
  ];
  return [
    ...renames.map(([table, from, to]) => `ALTER TABLE ${table} RENAME CONSTRAINT ${from} TO ${to}`),
    `ALTER TABLE entries ALTER COLUMN id DROP IDENTITY`,
    `CREATE SEQUENCE entries_id_seq OWNED BY entries.id`,
    `SELECT setval('entries_id_seq', COALESCE((SELECT MAX(id) FROM entries), 0) + 1, false)`,
    `ALTER TABLE entries ALTER COLUMN id SET DEFAULT nextval('entries_id_seq')`,
  ];
}

/** The SQLite tables in the entities' form: [name, columns and constraints, indexes]. */
const SQLITE_TABLES: [string, string, string[]][] = [
  ["users", `id TEXT NOT NULL, email TEXT NOT NULL, full_name TEXT NOT NULL, password_hash TEXT NOT NULL, roles TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, create_time BIGINT NOT NULL, update_time BIGINT NOT NULL, PRIMARY KEY (id)`,
  [`CREATE UNIQUE INDEX users_email_unique ON users (email)`]],
  ["sessions", `id TEXT NOT NULL, user_id TEXT NOT NULL, user_agent TEXT NOT NULL, client_address TEXT NOT NULL, create_time BIGINT NOT NULL,
    last_used_time BIGINT NOT NULL, expire_time BIGINT NOT NULL, revoked_time BIGINT NULL, revoke_reason TEXT NULL,
    CONSTRAINT sessions_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (id)`,
  [`CREATE INDEX sessions_user ON sessions (user_id, create_time)`]],
  ["refresh_tokens", `token_hash TEXT NOT NULL, session_id TEXT NOT NULL, create_time BIGINT NOT NULL, expire_time BIGINT NOT NULL, used_time BIGINT NULL,
    CONSTRAINT refresh_tokens_session_id_foreign FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    PRIMARY KEY (token_hash)`,
  [`CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`]],
  ["login_throttle", `throttle_key TEXT NOT NULL, failures INTEGER NOT NULL, window_start BIGINT NOT NULL, blocked_until BIGINT NOT NULL,
    PRIMARY KEY (throttle_key)`, []],
  ["accounts", `id TEXT NOT NULL, number TEXT NOT NULL, owner_id TEXT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL, account_type TEXT NOT NULL,
    status TEXT NOT NULL, display_name TEXT NOT NULL, balance BIGINT NOT NULL DEFAULT 0, held BIGINT NOT NULL DEFAULT 0,
    overdraft_limit BIGINT NOT NULL DEFAULT 0, entry_count BIGINT NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1,
    create_time BIGINT NOT NULL, update_time BIGINT NOT NULL,
    CONSTRAINT accounts_owner_id_foreign FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY (id)`,
  [`CREATE INDEX accounts_owner ON accounts (owner_id, create_time)`, `CREATE UNIQUE INDEX accounts_settlement ON accounts (currency) WHERE kind = 'SETTLEMENT'`,
    `CREATE UNIQUE INDEX accounts_number_unique ON accounts (number)`]],
  ["transactions", `id TEXT NOT NULL, tx_type TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL,
    from_account_id TEXT NULL, to_account_id TEXT NULL, description TEXT NOT NULL, request_id TEXT NOT NULL, initiated_by TEXT NOT NULL,
    reverses_id TEXT NULL, hold_id TEXT NULL, expire_time BIGINT NULL, create_time BIGINT NOT NULL, update_time BIGINT NOT NULL,
    CONSTRAINT transactions_from_account_id_foreign FOREIGN KEY (from_account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_to_account_id_foreign FOREIGN KEY (to_account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_reverses_id_foreign FOREIGN KEY (reverses_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT transactions_hold_id_foreign FOREIGN KEY (hold_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    PRIMARY KEY (id)`,
  [`CREATE INDEX transactions_pending_holds ON transactions (expire_time) WHERE status = 'PENDING'`,
    `CREATE UNIQUE INDEX transactions_reverses_id_unique ON transactions (reverses_id)`]],
  ["entries", `id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, transaction_id TEXT NOT NULL, account_id TEXT NOT NULL, seq BIGINT NOT NULL,
    amount BIGINT NOT NULL, balance_after BIGINT NOT NULL, create_time BIGINT NOT NULL,
    CONSTRAINT entries_transaction_id_foreign FOREIGN KEY (transaction_id) REFERENCES transactions (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
    CONSTRAINT entries_account_id_foreign FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE NO ACTION ON UPDATE NO ACTION`,
  [`CREATE INDEX entries_account_time ON entries (account_id, create_time)`, `CREATE INDEX entries_transaction ON entries (transaction_id)`,
    `CREATE UNIQUE INDEX entries_account_id_seq_unique ON entries (account_id, seq)`]],
  ["idempotency_keys", `caller_id TEXT NOT NULL, method TEXT NOT NULL, request_id TEXT NOT NULL, payload_hash TEXT NOT NULL, payload_fields TEXT NOT NULL,
    outcome TEXT NOT NULL, create_time BIGINT NOT NULL, PRIMARY KEY (caller_id, method, request_id)`, []],
  ["audit_events", `id TEXT NOT NULL, event_time BIGINT NOT NULL, actor_id TEXT NOT NULL, action TEXT NOT NULL, target_id TEXT NOT NULL,
    outcome TEXT NOT NULL, client_address TEXT NOT NULL, request_id TEXT NOT NULL, details TEXT NOT NULL, seq BIGINT NULL, prev_hash TEXT NULL,
    hash TEXT NULL, prev_event_id TEXT NULL, PRIMARY KEY (id)`,
  [`CREATE INDEX audit_events_unsealed ON audit_events (event_time) WHERE seq IS NULL`, `CREATE INDEX audit_events_time ON audit_events (event_time)`,
    `CREATE INDEX audit_events_actor ON audit_events (actor_id, event_time)`, `CREATE INDEX audit_events_target ON audit_events (target_id, event_time)`,
    `CREATE INDEX audit_events_action ON audit_events (action, event_time)`, `CREATE UNIQUE INDEX audit_events_seq_unique ON audit_events (seq)`]],
  ["audit_chain_head", `id INTEGER NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, event_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (id)`, []],
];

/** The column names of a table definition (its lines that start with a lower-case name). */
function columnNames(definition: string): string[] {
  return definition.split(",").map((part) => part.trim()).filter((part) => /^[a-z_]+ [A-Z]/.test(part)).map((part) => part.split(" ")[0]!);
}

function ormSchemaSqlite(): string[] {
  const statements: string[] = ["PRAGMA foreign_keys = OFF", "BEGIN IMMEDIATE"];
  for (const [table, definition, indexes] of SQLITE_TABLES) {
    const columns = columnNames(definition).join(", ");
    statements.push(
      `DROP TABLE IF EXISTS ${table}__new`,
      `CREATE TABLE ${table}__new (${definition})`,
      `INSERT INTO ${table}__new (${columns}) SELECT ${columns} FROM ${table}`,
      `DROP TABLE ${table}`,
      `ALTER TABLE ${table}__new RENAME TO ${table}`,
      ...indexes,
    );
  }
  statements.push("COMMIT", "PRAGMA foreign_keys = ON");
  return statements;
}

/** Secrets every process on the database shares, made once: the key that authenticates page
 * tokens and statement cursors, so that a token from one process works on another. */
function serverSecrets(): string[] {
  return [`CREATE TABLE server_secrets (name TEXT NOT NULL, secret TEXT NOT NULL, create_time BIGINT NOT NULL, PRIMARY KEY (name))`];
}

/**
 * Security V1 (docs/security.md): settlement accounts sharded per currency (an account's deposits
 * and withdrawals post against the shard its id hashes to), and daily limits per account and
 * direction with today's usage, counted in the posting's unit of work. A limit column is NULL for
 * the configured default, -1 for an explicit "no limit", else the limit in minor units.
 */
function shardsAndDailyLimits(): string[] {
  return [
    `ALTER TABLE accounts ADD COLUMN shard INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE accounts ADD COLUMN deposit_limit BIGINT NULL`,
    `ALTER TABLE accounts ADD COLUMN withdrawal_limit BIGINT NULL`,
    `ALTER TABLE accounts ADD COLUMN transfer_out_limit BIGINT NULL`,
    // Days since 1970-01-01 (UTC) of the usage below; a posting on a later day starts from zero.
    `ALTER TABLE accounts ADD COLUMN usage_day BIGINT NOT NULL DEFAULT 0`,
    `ALTER TABLE accounts ADD COLUMN deposit_used BIGINT NOT NULL DEFAULT 0`,
    `ALTER TABLE accounts ADD COLUMN withdrawal_used BIGINT NOT NULL DEFAULT 0`,
    `ALTER TABLE accounts ADD COLUMN transfer_out_used BIGINT NOT NULL DEFAULT 0`,
    `DROP INDEX accounts_settlement`,
    `CREATE UNIQUE INDEX accounts_settlement ON accounts (currency, shard) WHERE kind = 'SETTLEMENT'`,
  ];
}

/** Money-rules issue, item 1: what may arrive in one account per day, deposits and incoming
 * transfers together (NULL = the configured default, -1 = no limit), and today's count. */
function incomingDailyLimit(): string[] {
  return [
    `ALTER TABLE accounts ADD COLUMN incoming_limit BIGINT NULL`,
    `ALTER TABLE accounts ADD COLUMN incoming_used BIGINT NOT NULL DEFAULT 0`,
  ];
}

/** Issue 27, a second factor for staff: the user's TOTP secret (encrypted under the server's
 * key), when it was confirmed and the last time step accepted (replay); enrolments awaiting
 * their first code; recovery codes as SHA-256 hashes; and, on sessions, a staff session's idle
 * limit and the enrolment-only mark. Staff sessions opened before it (with a password alone, and
 * without the staff limits) are ended: their next sign-in is enrolment-only. */
function secondFactor(t: Types): string[] {
  return [
    `UPDATE sessions SET revoked_time = ${t.nowMs}, revoke_reason = 'second factor required (migration 0010)'
      WHERE revoked_time IS NULL AND user_id IN (SELECT id FROM users WHERE roles LIKE '%TELLER%' OR roles LIKE '%AUDITOR%' OR roles LIKE '%ADMIN%')`,
    `ALTER TABLE users ADD COLUMN totp_secret TEXT NULL`,
    `ALTER TABLE users ADD COLUMN totp_confirm_time BIGINT NULL`,
    `ALTER TABLE users ADD COLUMN totp_last_step BIGINT NULL`,
    `ALTER TABLE sessions ADD COLUMN idle_timeout_ms BIGINT NULL`,
    `ALTER TABLE sessions ADD COLUMN enrolment_only INTEGER NOT NULL DEFAULT 0`,
    `CREATE TABLE totp_enrolments (
      id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      secret TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL,
      CONSTRAINT totp_enrolments_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
      PRIMARY KEY (id)
    )`,
    `CREATE INDEX totp_enrolments_user ON totp_enrolments (user_id)`,
    `CREATE TABLE recovery_codes (
      code_hash TEXT NOT NULL,
      user_id TEXT NOT NULL,
      create_time BIGINT NOT NULL,
      used_time BIGINT NULL,
      CONSTRAINT recovery_codes_user_id_foreign FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION,
      PRIMARY KEY (code_hash)
    )`,
    `CREATE INDEX recovery_codes_user ON recovery_codes (user_id)`,
  ];
}

/** Identities issue (27): service accounts, their public keys (id = RFC 7638 thumbprint), the
 * sessions of the tokens they are issued (bound to the key that signed the assertion), and the
 * assertions seen (a hash of account id and jti, kept until the assertion's exp: used once). */
function serviceAccounts(): string[] {
  const fk = (table: string, column: string, ref: string, refColumn: string) =>
    `CONSTRAINT ${table}_${column}_foreign FOREIGN KEY (${column}) REFERENCES ${ref} (${refColumn}) ON DELETE NO ACTION ON UPDATE NO ACTION`;
  return [
    `CREATE TABLE service_accounts (id TEXT NOT NULL, name TEXT NOT NULL, roles TEXT NOT NULL, allowed_owner_ids TEXT NOT NULL,
      allowed_account_ids TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, disable_reason TEXT NULL, creator_id TEXT NOT NULL,
      create_time BIGINT NOT NULL, update_time BIGINT NOT NULL, PRIMARY KEY (id))`,
    `CREATE TABLE service_account_keys (key_id TEXT NOT NULL, service_account_id TEXT NOT NULL, public_jwk TEXT NOT NULL,
      create_time BIGINT NOT NULL, revoke_time BIGINT NULL, ${fk("service_account_keys", "service_account_id", "service_accounts", "id")}, PRIMARY KEY (key_id))`,
    `CREATE INDEX service_account_keys_account ON service_account_keys (service_account_id, create_time)`,
    `CREATE TABLE service_sessions (id TEXT NOT NULL, service_account_id TEXT NOT NULL, key_id TEXT NOT NULL, create_time BIGINT NOT NULL,
      expire_time BIGINT NOT NULL, ${fk("service_sessions", "service_account_id", "service_accounts", "id")},
      ${fk("service_sessions", "key_id", "service_account_keys", "key_id")}, PRIMARY KEY (id))`,
    `CREATE INDEX service_sessions_account ON service_sessions (service_account_id, create_time)`,
    `CREATE TABLE service_assertions (assertion_hash TEXT NOT NULL, service_account_id TEXT NOT NULL, expire_time BIGINT NOT NULL, PRIMARY KEY (assertion_hash))`,
    `CREATE INDEX service_assertions_expiry ON service_assertions (expire_time)`,
  ];
}

function sqlMigration(name: string, dialect: Dialect, statements: (t: Types) => string[], transactional = true) {
  class SqlMigration extends Migration {
    override async up(): Promise<void> {
      for (const sql of statements(TYPES[dialect])) this.addSql(sql);
    }

    override isTransactional(): boolean {
      return transactional;
    }
  }
  return { name, class: SqlMigration };
}

export function migrationsFor(dialect: Dialect) {
  return [
    sqlMigration("0001_initial_schema", dialect, initialSchema),
    sqlMigration("0004_audit", dialect, auditChainLinks),
    dialect === "postgres"
      ? sqlMigration("0005_orm_schema", dialect, ormSchemaPostgres)
      // PRAGMA foreign_keys only takes effect outside a transaction: the migration opens its own.
      : sqlMigration("0005_orm_schema", dialect, ormSchemaSqlite, false),
    sqlMigration("0006_server_secrets", dialect, serverSecrets),
    sqlMigration("0007_settlement_shards_daily_limits", dialect, shardsAndDailyLimits),
    sqlMigration("0008_incoming_daily_limit", dialect, incomingDailyLimit),
    sqlMigration("0009_service_accounts", dialect, serviceAccounts),
    sqlMigration("0010_second_factor", dialect, secondFactor),
  ];
}
