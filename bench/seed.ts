// Seeds a fresh bankd: customers Register and Login through the API (argon2, sessions and
// tokens as in production), then the accounts, each funded with one Deposit, either through the
// API (--seed api: CreateAccount + Deposit RPCs) or by the bulk SQL of seed-sql.ts, which writes
// the same rows in one transaction (the default: seconds instead of minutes). The house account
// of transfer-hot belongs to its own customer.
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountType } from "../gen/bank/v1/account_pb";
import { bearer, closeClients, connectClients, runPool, type Clients } from "./clients";
import { seedAccountsBySql } from "./seed-sql";
import type { SqlClient } from "./sql-client";

export const CURRENCY = "USD";
/** Every customer account starts with 1,000,000.00 USD: transfers of at most 10.00 never run
 * out of funds, whatever the run length. */
export const FUNDING_MINOR = 100_000_000n;
/** The house account of transfer-hot pays out half of its transfers. */
export const HOUSE_FUNDING_MINOR = 10_000_000_000_000n;

export interface SeedUser {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface Fixture {
  baseUrl: string;
  currency: string;
  users: SeedUser[];
  /** Customer accounts; `owner` indexes `users`. */
  accounts: { id: string; owner: number }[];
  house: { accountId: string; user: SeedUser };
}

export interface SeedOptions {
  baseUrl: string;
  users: number;
  accounts: number;
  concurrency: number;
  connections: number;
  /** "sql" (bulk, the default) or "api". */
  mode: "sql" | "api";
  sql: SqlClient;
  onProgress?: (done: number, total: number, phase: string) => void;
}

export async function seed(opts: SeedOptions): Promise<Fixture> {
  const clients = connectClients(opts.baseUrl, opts.connections);
  try {
    return await seedWith(clients, opts);
  } finally {
    closeClients(clients);
  }
}

async function seedWith(clients: Clients[], opts: SeedOptions): Promise<Fixture> {
  const pick = (i: number): Clients => clients[i % clients.length]!;
  const total = opts.users + 1 + (opts.mode === "api" ? (opts.accounts + 1) * 2 : 1);
  let done = 0;
  const tick = (phase: string) => opts.onProgress?.(++done, total, phase);

  const users: SeedUser[] = new Array(opts.users + 1);
  // Each Register and Login costs argon2 work bounded by the server's own queue (2 at once, a
  // short wait): as many in flight as it runs, and a throttled one is retried.
  await runPool(opts.users + 1, 2, async (i) => {
    users[i] = await registerAndLogin(pick(i), i);
    tick("users");
  });
  const houseUser = users.pop()!;
  if (opts.mode === "sql") {
    const owners = [...Array.from({ length: opts.accounts }, (_, i) => users[i % users.length]!), houseUser];
    const ids = await seedAccountsBySql(opts.sql, owners.map((u, i) => ({
      ownerId: u.id,
      displayName: i === opts.accounts ? "house" : `bench ${i}`,
      fundingMinor: i === opts.accounts ? HOUSE_FUNDING_MINOR : FUNDING_MINOR,
    })), { currency: CURRENCY, clientAddress: "127.0.0.1" });
    tick("accounts (SQL)");
    const fixture: Fixture = {
      baseUrl: opts.baseUrl, currency: CURRENCY, users,
      accounts: ids.slice(0, opts.accounts).map((id, i) => ({ id, owner: i % users.length })),
      house: { accountId: ids[opts.accounts]!, user: houseUser },
    };
    await verifyThroughApi(clients[0]!, fixture);
    return fixture;
  }

  const accounts: { id: string; owner: number }[] = new Array(opts.accounts);
  let houseAccountId = "";
  await runPool(opts.accounts + 1, opts.concurrency, async (i) => {
    const isHouse = i === opts.accounts;
    const owner = isHouse ? houseUser : users[i % users.length]!;
    const c = pick(i);
    const { account } = await c.accounts.createAccount(
      { requestId: randomUUID(), currency: CURRENCY, type: AccountType.CHECKING, displayName: isHouse ? "house" : `bench ${i}` },
      bearer(owner.token),
    );
    if (!account) throw new Error("CreateAccount returned no account");
    tick("accounts");
    await c.transactions.deposit(
      { requestId: randomUUID(), accountId: account.id, amount: { currency: CURRENCY, minorUnits: isHouse ? HOUSE_FUNDING_MINOR : FUNDING_MINOR }, description: "bench funding" },
      bearer(owner.token),
    );
    tick("deposits");
    if (isHouse) houseAccountId = account.id;
    else accounts[i] = { id: account.id, owner: i % users.length };
  });
  return { baseUrl: opts.baseUrl, currency: CURRENCY, users, accounts, house: { accountId: houseAccountId, user: houseUser } };
}

/** Reads a few seeded balances back through the API: bankd must see what was written. */
async function verifyThroughApi(c: Clients, f: Fixture): Promise<void> {
  const samples = [0, Math.floor(f.accounts.length / 2), f.accounts.length - 1];
  for (const i of samples) {
    const a = f.accounts[i]!;
    const b = await c.accounts.getBalance({ accountId: a.id }, bearer(f.users[a.owner]!.token));
    if (b.ledgerBalance?.minorUnits !== FUNDING_MINOR) throw new Error(`seeded account ${a.id} reads ${b.ledgerBalance?.minorUnits} through the API, not ${FUNDING_MINOR}`);
  }
  const h = await c.accounts.getBalance({ accountId: f.house.accountId }, bearer(f.house.user.token));
  if (h.ledgerBalance?.minorUnits !== HOUSE_FUNDING_MINOR) throw new Error(`seeded house account reads ${h.ledgerBalance?.minorUnits} through the API`);
}

/** Seeding is not measured: calls refused for load (RESOURCE_EXHAUSTED, UNAVAILABLE) are
 * retried after a pause, up to 10 times. */
async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const busy = err instanceof ConnectError && (err.code === Code.ResourceExhausted || err.code === Code.Unavailable);
      if (!busy || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

async function registerAndLogin(c: Clients, i: number): Promise<SeedUser> {
  const email = `bench-${i}-${randomBytes(4).toString("hex")}@example.test`;
  // 24 random base64url characters: always passes the strength policy.
  const password = `Bench-${randomBytes(18).toString("base64url")}`;
  const { user } = await retryBusy(() => c.auth.register({ email, password, fullName: `Bench Customer ${i}` }));
  const login = await retryBusy(() => c.auth.login({ email, password }));
  return { id: user?.id ?? login.user?.id ?? "", email, password, token: login.accessToken };
}

export function writeFixture(file: string, fixture: Fixture): void {
  fs.writeFileSync(file, JSON.stringify(fixture));
}

export function readFixture(file: string): Fixture {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Fixture;
}
