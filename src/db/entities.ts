// MikroORM entity schemas: one set for SQLite and PostgreSQL, mapping the tables that the
// migrations create (src/db/migrations.ts). Entities are named ...Entity so a row is never
// confused with a wire message. BIGINT columns map to strings (exact on both engines); times are
// epoch milliseconds. Hot paths (postings, audit sealing) use atomic SQL in the same
// transaction instead of the unit of work; test/foundation/entities.test.ts proves every mapped
// column exists in the migrated schema on both engines.
import { EntitySchema } from "@mikro-orm/core";

export interface UserEntity {
  id: string;
  email: string;
  fullName: string;
  passwordHash: string;
  /** Comma-separated role names: "CUSTOMER,ADMIN". */
  roles: string;
  disabled: number;
  createTime: string;
  updateTime: string;
}

export interface SessionEntity {
  id: string;
  userId: string;
  userAgent: string;
  clientAddress: string;
  createTime: string;
  lastUsedTime: string;
  expireTime: string;
  revokedTime?: string | null;
  revokeReason?: string | null;
}

export interface AccountEntity {
  id: string;
  number: string;
  ownerId?: string | null;
  kind: string;
  currency: string;
  accountType: string;
  status: string;
  displayName: string;
  balance: string;
  held: string;
  overdraftLimit: string;
  entryCount: string;
  version: number;
  createTime: string;
  updateTime: string;
}

export interface TransactionEntity {
  id: string;
  txType: string;
  status: string;
  currency: string;
  amount: string;
  fromAccountId?: string | null;
  toAccountId?: string | null;
  description: string;
  requestId: string;
  initiatedBy: string;
  reversesId?: string | null;
  holdId?: string | null;
  expireTime?: string | null;
  createTime: string;
  updateTime: string;
}

export interface EntryEntity {
  id: string;
  transactionId: string;
  accountId: string;
  seq: string;
  amount: string;
  balanceAfter: string;
  createTime: string;
}

export interface AuditEventEntity {
  id: string;
  eventTime: string;
  actorId: string;
  action: string;
  targetId: string;
  outcome: string;
  clientAddress: string;
  requestId: string;
  details: string;
  seq?: string | null;
  prevHash?: string | null;
  hash?: string | null;
}

const text = { type: "string", columnType: "text" } as const;
const textNull = { type: "string", columnType: "text", nullable: true } as const;
const big = { type: "bigint", columnType: "bigint" } as const;
const bigNull = { type: "bigint", columnType: "bigint", nullable: true } as const;
const int = { type: "integer", columnType: "integer" } as const;

export const User = new EntitySchema<UserEntity>({
  name: "UserEntity",
  tableName: "users",
  properties: {
    id: { ...text, primary: true },
    email: { ...text, unique: true },
    fullName: text,
    passwordHash: text,
    roles: text,
    disabled: int,
    createTime: big,
    updateTime: big,
  },
});

export const Session = new EntitySchema<SessionEntity>({
  name: "SessionEntity",
  tableName: "sessions",
  properties: {
    id: { ...text, primary: true },
    userId: text,
    userAgent: text,
    clientAddress: text,
    createTime: big,
    lastUsedTime: big,
    expireTime: big,
    revokedTime: bigNull,
    revokeReason: textNull,
  },
});

export const Account = new EntitySchema<AccountEntity>({
  name: "AccountEntity",
  tableName: "accounts",
  properties: {
    id: { ...text, primary: true },
    number: { ...text, unique: true },
    ownerId: textNull,
    kind: text,
    currency: text,
    accountType: text,
    status: text,
    displayName: text,
    balance: big,
    held: big,
    overdraftLimit: big,
    entryCount: big,
    version: int,
    createTime: big,
    updateTime: big,
  },
});

export const Transaction = new EntitySchema<TransactionEntity>({
  name: "TransactionEntity",
  tableName: "transactions",
  properties: {
    id: { ...text, primary: true },
    txType: text,
    status: text,
    currency: text,
    amount: big,
    fromAccountId: textNull,
    toAccountId: textNull,
    description: text,
    requestId: text,
    initiatedBy: text,
    reversesId: textNull,
    holdId: textNull,
    expireTime: bigNull,
    createTime: big,
    updateTime: big,
  },
});

export const Entry = new EntitySchema<EntryEntity>({
  name: "EntryEntity",
  tableName: "entries",
  properties: {
    id: { ...big, primary: true },
    transactionId: text,
    accountId: text,
    seq: big,
    amount: big,
    balanceAfter: big,
    createTime: big,
  },
});

export const AuditEvent = new EntitySchema<AuditEventEntity>({
  name: "AuditEventEntity",
  tableName: "audit_events",
  properties: {
    id: { ...text, primary: true },
    eventTime: big,
    actorId: text,
    action: text,
    targetId: text,
    outcome: text,
    clientAddress: text,
    requestId: text,
    details: text,
    seq: bigNull,
    prevHash: textNull,
    hash: textNull,
  },
});

export const entities: EntitySchema[] = [User, Session, Account, Transaction, Entry, AuditEvent] as unknown as EntitySchema[];
