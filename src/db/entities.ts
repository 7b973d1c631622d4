// MikroORM entity schemas of every table, one set for SQLite and PostgreSQL. They describe the
// schema exactly (columns, keys, indexes and foreign keys, by the names the migrations give
// them): test/foundation/entities.test.ts proves on both engines that MikroORM's schema diff
// between these entities and the migrated database is empty.
//
// Entities are named ...Entity so that a row is never confused with a wire message. Money is a
// JS bigint end to end (MoneyType reads it as text, so SQLite's driver never turns it into a
// lossy double); times are epoch milliseconds in BIGINT columns, read as numbers.
import { EntitySchema, Type, UnderscoreNamingStrategy, type Opt, type Platform } from "@mikro-orm/core";
import { SqlitePlatform } from "@mikro-orm/sql";
import type { JsonColumn } from "./engine";

/** BIGINT money columns: a JS bigint in the entity, exact on both engines. */
export class MoneyType extends Type<bigint | null, string | null> {
  override convertToDatabaseValue(value: bigint | string | number | null | undefined): string | null {
    return value === null || value === undefined ? null : BigInt(value).toString();
  }

  override convertToJSValue(value: bigint | string | number | null | undefined): bigint | null {
    return value === null || value === undefined ? null : typeof value === "bigint" ? value : BigInt(value);
  }

  /** Selected as text: SQLite's driver would otherwise read a BIGINT as a JS number. */
  override convertToJSValueSQL(key: string): string {
    return `CAST(${key} AS TEXT)`;
  }

  override getColumnType(): string {
    return "bigint";
  }

  override compareAsType(): string {
    return "bigint";
  }

  override ensureComparable(): boolean {
    return false;
  }
}

/** BIGINT epoch milliseconds (and other counters below 2^53): a JS number. */
export class EpochMsType extends Type<number | null, string | null> {
  override convertToDatabaseValue(value: number | string | null | undefined): string | null {
    return value === null || value === undefined ? null : String(value);
  }

  override convertToJSValue(value: number | string | null | undefined): number | null {
    return value === null || value === undefined ? null : Number(value);
  }

  override getColumnType(_prop: unknown, _platform: Platform): string {
    return "bigint";
  }

  override compareAsType(): string {
    return "number";
  }

  override ensureComparable(): boolean {
    return false;
  }
}

/** entries.id: a 64-bit auto-incrementing key. SQLite spells it INTEGER (only an INTEGER PRIMARY
 * KEY may AUTOINCREMENT, and it is 64-bit), PostgreSQL BIGINT fed by a sequence. */
export class EntryIdType extends EpochMsType {
  override getColumnType(_prop: unknown, platform: Platform): string {
    return platform instanceof SqlitePlatform ? "integer" : "bigint";
  }
}

export interface UserEntity {
  id: string;
  email: string;
  fullName: string;
  passwordHash: string;
  /** Comma-separated role names: "CUSTOMER,ADMIN". */
  roles: string;
  disabled: number;
  createTime: number;
  updateTime: number;
  /** The confirmed TOTP secret, AES-256-GCM under the server's key (src/auth/second-factor.ts);
   * null without a second factor. */
  totpSecret: string | null;
  /** When the second factor was confirmed; null = none. */
  totpConfirmTime: number | null;
  /** The last TOTP time step accepted: a code of this step or earlier is refused (replay). */
  totpLastStep: number | null;
}

export interface SessionEntity {
  id: string;
  userId: string;
  userAgent: string;
  clientAddress: string;
  createTime: number;
  lastUsedTime: number;
  expireTime: number;
  revokedTime: number | null;
  revokeReason: string | null;
  /** A staff session: refused once not refreshed for this long (null: no idle limit). */
  idleTimeoutMs: number | null;
  /** 1 for an enrolment-only session (staff before a second factor): its tokens carry the
   * enrolment_only claim. */
  enrolmentOnly: Opt<number>;
}

export interface RefreshTokenEntity {
  /** SHA-256 of the token, hex: the token itself is never stored. */
  tokenHash: string;
  sessionId: string;
  createTime: number;
  expireTime: number;
  usedTime: number | null;
}

export interface LoginThrottleEntity {
  /** "email:<sha256>" or "addr:<address>". */
  throttleKey: string;
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export interface AccountEntity {
  id: string;
  number: string;
  ownerId: string | null;
  kind: string;
  currency: string;
  accountType: string;
  status: string;
  displayName: string;
  balance: bigint;
  held: bigint;
  overdraftLimit: bigint;
  entryCount: number;
  version: number;
  createTime: number;
  updateTime: number;
  /** Settlement accounts: which of the currency's shards (0 for customer accounts). */
  shard: Opt<number>;
  /** Daily limits: null = the configured default, -1 = no limit, else minor units. */
  depositLimit: bigint | null;
  withdrawalLimit: bigint | null;
  transferOutLimit: bigint | null;
  incomingLimit: bigint | null;
  /** Days since 1970-01-01 UTC of the usage columns. */
  usageDay: Opt<number>;
  depositUsed: Opt<bigint>;
  withdrawalUsed: Opt<bigint>;
  transferOutUsed: Opt<bigint>;
  incomingUsed: Opt<bigint>;
}

export interface TransactionEntity {
  id: string;
  txType: string;
  status: string;
  currency: string;
  amount: bigint;
  fromAccountId: string | null;
  toAccountId: string | null;
  description: string;
  requestId: string;
  initiatedBy: string;
  reversesId: string | null;
  holdId: string | null;
  expireTime: number | null;
  createTime: number;
  updateTime: number;
}

export interface EntryEntity {
  id: number;
  transactionId: string;
  accountId: string;
  seq: number;
  amount: bigint;
  balanceAfter: bigint;
  createTime: number;
}

export interface IdempotencyKeyEntity {
  callerId: string;
  method: string;
  requestId: string;
  payloadHash: string;
  payloadFields: string;
  outcome: string;
  createTime: number;
}

export interface AuditEventEntity {
  id: string;
  eventTime: number;
  actorId: string;
  action: string;
  targetId: string;
  outcome: string;
  clientAddress: string;
  requestId: string;
  details: string;
  seq: number | null;
  prevHash: string | null;
  prevEventId: string | null;
  hash: string | null;
}

export interface ServerSecretEntity {
  /** What the secret is for, e.g. "token_seal". */
  name: string;
  /** Hex of 32 random bytes. */
  secret: string;
  createTime: number;
}

/** A TOTP enrolment awaiting its first code (EnrollTotp -> ConfirmTotp). */
export interface TotpEnrolmentEntity {
  id: string;
  userId: string;
  /** The secret, encrypted as users.totp_secret. */
  secret: string;
  createTime: number;
  expireTime: number;
}

/** One of a user's recovery codes, stored as its SHA-256 (hex): 80 random bits, so the hash
 * alone identifies it. */
export interface RecoveryCodeEntity {
  codeHash: string;
  userId: string;
  createTime: number;
  usedTime: number | null;
}

/** A machine identity (issue 27). Roles as in users.roles; allow-lists comma-separated ids, "" for none. */
export interface ServiceAccountEntity {
  id: string;
  name: string;
  roles: string;
  allowedOwnerIds: string;
  allowedAccountIds: string;
  disabled: number;
  disableReason: string | null;
  creatorId: string;
  createTime: number;
  updateTime: number;
}

export interface ServiceAccountKeyEntity {
  /** RFC 7638 thumbprint of the public key (SHA-256, base64url): the assertions' kid. */
  keyId: string;
  serviceAccountId: string;
  /** The public key as a JWK, JSON. */
  publicJwk: string;
  createTime: number;
  revokeTime: number | null;
}

/** One issued service token's session: it lives while its account is enabled, its key not
 * revoked, and until expire_time (the token's own expiry). */
export interface ServiceSessionEntity {
  id: string;
  serviceAccountId: string;
  keyId: string;
  createTime: number;
  expireTime: number;
}

/** An assertion seen: SHA-256 of "<service account id>\0<jti>", kept until its exp. */
export interface ServiceAssertionEntity {
  assertionHash: string;
  serviceAccountId: string;
  expireTime: number;
}

export interface AuditChainHeadEntity {
  id: number;
  seq: number;
  hash: string;
  eventId: string;
}

const text = { type: "text", columnType: "text" } as const;
const textNull = { ...text, nullable: true } as const;
const epochMs = { type: EpochMsType, columnType: "bigint" } as const;
const epochMsNull = { ...epochMs, nullable: true } as const;
const money = { type: MoneyType, columnType: "bigint" } as const;
const int = { type: "integer", columnType: "integer" } as const;
/** A plain foreign key: the property holds the referenced id (mapToPk); NO ACTION on update and
 * delete, and no index of its own (the indexes a query needs are declared with the entity). */
const fk = (entity: () => EntitySchema, column: string, nullable = false) =>
  ({ kind: "m:1", entity, mapToPk: true, fieldName: column, nullable, index: false, updateRule: "no action", deleteRule: "no action" }) as const;

export const User = new EntitySchema<UserEntity>({
  name: "UserEntity",
  tableName: "users",
  uniques: [{ properties: ["email"] }],
  properties: {
    id: { ...text, primary: true },
    email: text,
    fullName: text,
    passwordHash: text,
    roles: text,
    disabled: { ...int, default: 0 },
    createTime: epochMs,
    updateTime: epochMs,
    totpSecret: textNull,
    totpConfirmTime: epochMsNull,
    totpLastStep: epochMsNull,
  },
});

export const Session = new EntitySchema<SessionEntity>({
  name: "SessionEntity",
  tableName: "sessions",
  indexes: [{ name: "sessions_user", properties: ["userId", "createTime"] }],
  properties: {
    id: { ...text, primary: true },
    userId: fk((): EntitySchema => User as EntitySchema, "user_id"),
    userAgent: text,
    clientAddress: text,
    createTime: epochMs,
    lastUsedTime: epochMs,
    expireTime: epochMs,
    revokedTime: epochMsNull,
    revokeReason: textNull,
    idleTimeoutMs: epochMsNull,
    enrolmentOnly: { ...int, default: 0 },
  },
});

export const RefreshToken = new EntitySchema<RefreshTokenEntity>({
  name: "RefreshTokenEntity",
  tableName: "refresh_tokens",
  indexes: [{ name: "refresh_tokens_session", properties: ["sessionId"] }],
  properties: {
    tokenHash: { ...text, primary: true },
    sessionId: fk((): EntitySchema => Session as EntitySchema, "session_id"),
    createTime: epochMs,
    expireTime: epochMs,
    usedTime: epochMsNull,
  },
});

export const LoginThrottle = new EntitySchema<LoginThrottleEntity>({
  name: "LoginThrottleEntity",
  tableName: "login_throttle",
  properties: {
    throttleKey: { ...text, primary: true },
    failures: int,
    windowStart: epochMs,
    blockedUntil: epochMs,
  },
});

export const Account = new EntitySchema<AccountEntity>({
  name: "AccountEntity",
  tableName: "accounts",
  uniques: [{ properties: ["number"] }],
  indexes: [
    { name: "accounts_owner", properties: ["ownerId", "createTime"] },
    // One settlement account per currency (the outside world); a partial index, so spelled out.
    { name: "accounts_settlement", expression: "CREATE UNIQUE INDEX accounts_settlement ON accounts (currency, shard) WHERE kind = 'SETTLEMENT'" },
  ],
  properties: {
    id: { ...text, primary: true },
    number: text,
    ownerId: fk((): EntitySchema => User as EntitySchema, "owner_id", true),
    kind: text,
    currency: text,
    accountType: text,
    status: text,
    displayName: text,
    balance: { ...money, defaultRaw: "0" },
    held: { ...money, defaultRaw: "0" },
    overdraftLimit: { ...money, defaultRaw: "0" },
    entryCount: { ...epochMs, defaultRaw: "0" },
    version: { ...int, default: 1 },
    createTime: epochMs,
    updateTime: epochMs,
    shard: { ...int, default: 0 },
    depositLimit: { ...money, nullable: true },
    withdrawalLimit: { ...money, nullable: true },
    transferOutLimit: { ...money, nullable: true },
    incomingLimit: { ...money, nullable: true },
    usageDay: { ...epochMs, defaultRaw: "0" },
    depositUsed: { ...money, defaultRaw: "0" },
    withdrawalUsed: { ...money, defaultRaw: "0" },
    transferOutUsed: { ...money, defaultRaw: "0" },
    incomingUsed: { ...money, defaultRaw: "0" },
  },
});

export const Transaction: EntitySchema<TransactionEntity> = new EntitySchema<TransactionEntity>({
  name: "TransactionEntity",
  tableName: "transactions",
  uniques: [{ properties: ["reversesId"] }],
  indexes: [
    { name: "transactions_pending_holds", expression: "CREATE INDEX transactions_pending_holds ON transactions (expire_time) WHERE status = 'PENDING'" },
  ],
  properties: {
    id: { ...text, primary: true },
    txType: text,
    status: text,
    currency: text,
    amount: money,
    fromAccountId: fk((): EntitySchema => Account as EntitySchema, "from_account_id", true),
    toAccountId: fk((): EntitySchema => Account as EntitySchema, "to_account_id", true),
    description: text,
    requestId: text,
    initiatedBy: text,
    reversesId: fk((): EntitySchema => Transaction as EntitySchema, "reverses_id", true),
    holdId: fk((): EntitySchema => Transaction as EntitySchema, "hold_id", true),
    expireTime: epochMsNull,
    createTime: epochMs,
    updateTime: epochMs,
  },
});

export const Entry = new EntitySchema<EntryEntity>({
  name: "EntryEntity",
  tableName: "entries",
  uniques: [{ properties: ["accountId", "seq"] }],
  indexes: [
    { name: "entries_account_time", properties: ["accountId", "createTime"] },
    { name: "entries_transaction", properties: ["transactionId"] },
  ],
  properties: {
    id: { type: EntryIdType, primary: true, autoincrement: true },
    transactionId: fk((): EntitySchema => Transaction as EntitySchema, "transaction_id"),
    accountId: fk((): EntitySchema => Account as EntitySchema, "account_id"),
    seq: epochMs,
    amount: money,
    balanceAfter: money,
    createTime: epochMs,
  },
});

export const IdempotencyKey = new EntitySchema<IdempotencyKeyEntity>({
  name: "IdempotencyKeyEntity",
  tableName: "idempotency_keys",
  properties: {
    callerId: { ...text, primary: true },
    method: { ...text, primary: true },
    requestId: { ...text, primary: true },
    payloadHash: text,
    payloadFields: text,
    outcome: text,
    createTime: epochMs,
  },
});

export const AuditEvent = new EntitySchema<AuditEventEntity>({
  name: "AuditEventEntity",
  tableName: "audit_events",
  uniques: [{ properties: ["seq"] }],
  indexes: [
    { name: "audit_events_unsealed", expression: "CREATE INDEX audit_events_unsealed ON audit_events (event_time) WHERE seq IS NULL" },
    { name: "audit_events_time", properties: ["eventTime"] },
    { name: "audit_events_actor", properties: ["actorId", "eventTime"] },
    { name: "audit_events_target", properties: ["targetId", "eventTime"] },
    { name: "audit_events_action", properties: ["action", "eventTime"] },
  ],
  properties: {
    id: { ...text, primary: true },
    eventTime: epochMs,
    actorId: text,
    action: text,
    targetId: text,
    outcome: text,
    clientAddress: text,
    requestId: text,
    details: text,
    seq: epochMsNull,
    prevHash: textNull,
    hash: textNull,
    prevEventId: textNull,
  },
});

export const AuditChainHead = new EntitySchema<AuditChainHeadEntity>({
  name: "AuditChainHeadEntity",
  tableName: "audit_chain_head",
  properties: {
    id: { ...int, primary: true, autoincrement: false },
    seq: epochMs,
    hash: text,
    eventId: { ...text, defaultRaw: "''" },
  },
});

export const ServerSecret = new EntitySchema<ServerSecretEntity>({
  name: "ServerSecretEntity",
  tableName: "server_secrets",
  properties: {
    name: { ...text, primary: true },
    secret: text,
    createTime: epochMs,
  },
});

export const TotpEnrolment = new EntitySchema<TotpEnrolmentEntity>({
  name: "TotpEnrolmentEntity",
  tableName: "totp_enrolments",
  indexes: [{ name: "totp_enrolments_user", properties: ["userId"] }],
  properties: {
    id: { ...text, primary: true },
    userId: fk((): EntitySchema => User as EntitySchema, "user_id"),
    secret: text,
    createTime: epochMs,
    expireTime: epochMs,
  },
});

export const RecoveryCode = new EntitySchema<RecoveryCodeEntity>({
  name: "RecoveryCodeEntity",
  tableName: "recovery_codes",
  indexes: [{ name: "recovery_codes_user", properties: ["userId"] }],
  properties: {
    codeHash: { ...text, primary: true },
    userId: fk((): EntitySchema => User as EntitySchema, "user_id"),
    createTime: epochMs,
    usedTime: epochMsNull,
  },
});

export const ServiceAccount = new EntitySchema<ServiceAccountEntity>({
  name: "ServiceAccountEntity",
  tableName: "service_accounts",
  properties: {
    id: { ...text, primary: true },
    name: text,
    roles: text,
    allowedOwnerIds: text,
    allowedAccountIds: text,
    disabled: { ...int, default: 0 },
    disableReason: textNull,
    creatorId: text,
    createTime: epochMs,
    updateTime: epochMs,
  },
});

export const ServiceAccountKey = new EntitySchema<ServiceAccountKeyEntity>({
  name: "ServiceAccountKeyEntity",
  tableName: "service_account_keys",
  indexes: [{ name: "service_account_keys_account", properties: ["serviceAccountId", "createTime"] }],
  properties: {
    keyId: { ...text, primary: true },
    serviceAccountId: fk((): EntitySchema => ServiceAccount as EntitySchema, "service_account_id"),
    publicJwk: text,
    createTime: epochMs,
    revokeTime: epochMsNull,
  },
});

export const ServiceSession = new EntitySchema<ServiceSessionEntity>({
  name: "ServiceSessionEntity",
  tableName: "service_sessions",
  indexes: [{ name: "service_sessions_account", properties: ["serviceAccountId", "createTime"] }],
  properties: {
    id: { ...text, primary: true },
    serviceAccountId: fk((): EntitySchema => ServiceAccount as EntitySchema, "service_account_id"),
    keyId: fk((): EntitySchema => ServiceAccountKey as EntitySchema, "key_id"),
    createTime: epochMs,
    expireTime: epochMs,
  },
});

export const ServiceAssertion = new EntitySchema<ServiceAssertionEntity>({
  name: "ServiceAssertionEntity",
  tableName: "service_assertions",
  indexes: [{ name: "service_assertions_expiry", properties: ["expireTime"] }],
  properties: {
    assertionHash: { ...text, primary: true },
    serviceAccountId: text,
    expireTime: epochMs,
  },
});

export const entities = [
  User, Session, RefreshToken, LoginThrottle, Account, Transaction, Entry, IdempotencyKey, AuditEvent, AuditChainHead, ServerSecret,
  ServiceAccount, ServiceAccountKey, ServiceSession, ServiceAssertion, TotpEnrolment, RecoveryCode,
] as unknown as EntitySchema[];

/** A column of an entity's table as raw statements spell it, read from the entity's metadata
 * (EntitySchema.meta: the property definitions MikroORM discovers). */
export interface EntityColumn {
  /** The entity's property. */
  readonly property: string;
  /** The column: the property's own fieldName, else MikroORM's default naming (underscored). */
  readonly name: string;
  /** BIGINT money (MoneyType): selected as text, read with BigInt. */
  readonly money: boolean;
  /** How a JSON row set carries it (SqlEngine.jsonRows): integers as decimal strings. */
  readonly type: "text" | "bigint";
  /** An auto-incremented key, never written. */
  readonly generated: boolean;
  /** A value as the driver returns it -> the property's JS value (MoneyType: bigint; BIGINT
   * times and counters: number; text as is). */
  toJs(value: unknown): unknown;
}

const naming = new UnderscoreNamingStrategy();
const moneyType = new MoneyType();
const epochMsType = new EpochMsType();
const asIs = (value: unknown): unknown => value;

/** The columns of an entity's table, in the order its properties are declared. Read from the
 * definitions as MikroORM holds them before and after discovery (fieldName / fieldNames,
 * columnType / columnTypes, a type class / its instance in customType):
 * test/ledger/store-columns.test.ts checks the result against the metadata of a running ORM. */
export function columnsOf(entity: EntitySchema<any, any>): EntityColumn[] {
  return Object.entries(entity.meta.properties as unknown as Record<string, Record<string, unknown>>).map(([property, def]): EntityColumn => {
    const fieldNames = def.fieldNames as string[] | undefined;
    const name = fieldNames?.[0] ?? (def.fieldName as string | undefined) ?? naming.propertyToColumnName(property);
    const columnType = (def.columnTypes as string[] | undefined)?.[0] ?? (def.columnType as string | undefined);
    // The type class before discovery; discovery replaces it with an instance in customType.
    const custom = def.customType ?? def.type;
    const isA = (type: abstract new () => object): boolean => custom instanceof type || (typeof custom === "function" && (custom === type || custom.prototype instanceof type));
    const money = isA(MoneyType);
    const integer = money || columnType === "bigint" || columnType === "integer" || isA(EpochMsType);
    return {
      property,
      name,
      money,
      type: integer ? "bigint" : "text",
      generated: def.autoincrement === true,
      toJs: money ? (v) => moneyType.convertToJSValue(v as string | null) : integer ? (v) => epochMsType.convertToJSValue(v as string | null) : asIs,
    };
  });
}

/** JSON text of rows: bigints as decimal strings (exact), everything else as is. */
export function json(rows: readonly Record<string, unknown>[]): string {
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

/** One table: its name and columns from the entity, and the row <-> entity mapping. */
export class Table<E extends object> {
  readonly name: string;
  readonly columns: readonly EntityColumn[];
  /** The columns an INSERT writes (all but an auto-incremented key). */
  readonly written: readonly EntityColumn[];
  private readonly byProperty: Map<string, EntityColumn>;
  private readonly selects = new Map<string, string>();
  private readonly toEntity: (row: object) => Record<string, unknown>;
  private readonly rowSet: (entities: readonly object[]) => string;

  constructor(entity: EntitySchema<E, any>) {
    this.name = entity.meta.tableName;
    this.columns = columnsOf(entity);
    this.written = this.columns.filter((c) => !c.generated);
    this.byProperty = new Map(this.columns.map((c) => [c.property, c]));
    this.toEntity = copier(this.columns.map((c) => ({ from: c.name, to: c.property, convert: c.toJs === asIs ? undefined : c.toJs })));
    this.rowSet = rowSetOf(this.written);
  }

  /** The column of a property (throws at load time for a property the entity does not have). */
  column(property: keyof E & string): string {
    const column = this.byProperty.get(property);
    if (!column) throw new Error(`${this.name} has no property ${property}`);
    return column.name;
  }

  /** Every column, `prefix.` qualified, money read as text under its own name. */
  select(prefix = ""): string {
    let list = this.selects.get(prefix);
    if (list === undefined) {
      const p = prefix === "" ? "" : `${prefix}.`;
      list = this.columns.map((c) => (c.money ? `CAST(${p}${c.name} AS TEXT) AS ${c.name}` : `${p}${c.name}`)).join(", ");
      this.selects.set(prefix, list);
    }
    return list;
  }

  /** The written columns' names, `prefix.` qualified (an INSERT's column list, or its SELECT from a row set). */
  names(prefix = ""): string {
    const p = prefix === "" ? "" : `${prefix}.`;
    return this.written.map((c) => `${p}${c.name}`).join(", ");
  }

  /** The written columns as a JSON row set carries them (SqlEngine.jsonRows). */
  jsonColumns(): JsonColumn[] {
    return this.written.map((c) => ({ name: c.name, type: c.type }));
  }

  /** `INSERT INTO <table> (<written columns>) SELECT r.<columns> FROM <rowSet>`: the set-based
   * insert of rows this table's json() spelled. */
  insertFrom(rowSet: string): string {
    return `INSERT INTO ${this.name} (${this.names()}) SELECT ${this.names("r")} FROM ${rowSet}`;
  }

  /** A row as selected by select() (or json_agg of it) -> the entity. */
  entity(row: Readonly<Record<string, unknown>>): E {
    return this.toEntity(row) as E;
  }

  /** Entities -> JSON row set text, keyed by column (the written columns; undefined as NULL). */
  json(entities: readonly Partial<E>[]): string {
    return this.rowSet(entities);
  }
}

/** Entities -> the JSON text of a row set of these columns (SqlEngine.jsonRows), undefined as NULL. */
export function rowSetOf(columns: readonly EntityColumn[]): (entities: readonly object[]) => string {
  const toRow = copier(columns.map((c) => ({ from: c.property, to: c.name, orNull: true })));
  return (entities) => json(entities.map(toRow));
}

/**
 * An object of `to` keys from an object's `from` keys, some converted: compiled once per table
 * (as MikroORM compiles its own hydrators), because an object built key by key through computed
 * names cost about ten times as much per row (about 2 us against 0.2 us for an accounts row), and
 * the posting engine maps every account it locks and every account it writes back. The keys are
 * the entities' own property and column names, quoted as JSON.
 */
function copier(fields: readonly { from: string; to: string; convert?: (value: unknown) => unknown; orNull?: boolean }[]): (source: object) => Record<string, unknown> {
  const converters = fields.map((f) => f.convert);
  const body = fields.map((f, i) => {
    const read = `s[${JSON.stringify(f.from)}]`;
    return `${JSON.stringify(f.to)}: ${f.convert ? `c[${i}](${read})` : f.orNull ? `${read} ?? null` : read}`;
  });
  return new Function("c", `return (s) => ({ ${body.join(", ")} });`)(converters) as (source: object) => Record<string, unknown>;
}
