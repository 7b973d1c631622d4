// A diagnostic, not part of `npm run bench`: the Node CPU of one cold-path read, by the way it is
// asked of MikroORM, so that each call site can pick the cheapest form that still goes through the
// entities. Each call runs in its own Database.read (a fresh fork, as a request does); the figure
// is this process's CPU per call (process.cpuUsage), which a shared machine inflates far less
// than wall time. The reads measured are the ones that run most often:
//   user-by-email   every Login
//   session-check   the authenticator's re-check of a cached token's session (every
//                   limits.sessionRecheckMs per token, so on most reads under load)
//   account-by-id   GetAccount (every call); GetBalance reads through src/ledger/store/accounts.ts
// and, last, a successful Login's throttle work besides argon2 (a read before issue 15; now a
// reservation before argon2 and its release after). The forms of a read compared:
//   raw-sql         tx.one with hand-written SQL (what the code did before)
//   findOne         em.findOne: hydrated, managed entity (identity map, snapshot)
//   findOne-noim    em.findOne with disableIdentityMap: hydrated, not managed
//   qb-get          em.createQueryBuilder(Entity).where(...).execute("get"): entity-mapped SQL
//                   and property names, no hydration
//   prepared        the same QueryBuilder built once per engine (src/db/prepared-query.ts), run
//                   through Tx.one, rows mapped to properties and JS types by the metadata
//   fork-only       Database.read doing nothing: the fork's own cost, the floor of every form
//   npx tsx bench/coldpaths-micro.ts [--db sqlite|postgres] [--n 3000]
import { randomUUID } from "node:crypto";
import { Database, type Tx } from "../src/db/database";
import { Account, Session, User } from "../src/db/entities";
import { releaseAttempt, reserveAttempt, throttleKeys } from "../src/auth/throttle";
import { preparedQuery } from "../src/db/prepared-query";
import { createBenchDatabase } from "./sql-client";

type Read = (tx: Tx, i: number) => Promise<unknown>;
type Call = (i: number) => Promise<unknown>;

const userByEmail = preparedQuery(User, "u", (qb, p) => qb.select("*").where({ email: p(0) }));
const sessionCheck = preparedQuery(Session, "s", (qb, p) =>
  // s.userId is a foreign key mapped to its id (mapToPk), which the builder's types cannot see as a relation.
  qb.select(["s.revokedTime", "s.expireTime", "u.disabled"] as never).join("s.userId" as never, "u").where({ id: p(0), userId: p(1) }),
);
const accountById = preparedQuery(Account, "a", (qb, p) => qb.select("*").where({ id: p(0) }));

interface Fixture {
  emails: string[];
  sessions: { id: string; userId: string }[];
  accounts: string[];
}

const ROWS = 200;
/** Interleaved rounds per comparison; the median round is reported. */
const ROUNDS = 9;

/** Runs the forms of one read in interleaved rounds (so that a burst of load from other
 * processes hits every form alike) and prints each form's median CPU per call. */
async function compare(db: Database, title: string, n: number, reads: Record<string, Read>): Promise<void> {
  const forms = Object.fromEntries(Object.entries(reads).map(([name, read]) => [name, (i: number) => db.read((tx) => read(tx, i))]));
  await compareCalls(title, n, forms);
}

/** compare() for calls that are not one read (a transaction of their own, say). */
async function compareCalls(title: string, n: number, forms: Record<string, Call>): Promise<void> {
  const perRound = Math.ceil(n / ROUNDS);
  const samples = new Map<string, number[]>();
  for (const [name, read] of Object.entries(forms)) {
    // Warm-up: JIT, statement caches, the pool.
    for (let i = 0; i < Math.min(300, perRound); i++) await callOnce(name, read, i);
    samples.set(name, []);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, read] of Object.entries(forms)) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await callOnce(name, read, round * perRound + i);
      const used = process.cpuUsage(cpu);
      samples.get(name)!.push((used.user + used.system) / 1000 / perRound);
    }
  }
  console.log(title);
  for (const [name, cpuMs] of samples) {
    const sorted = [...cpuMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`  ${name.padEnd(16)} median ${median.toFixed(3)} ms CPU/call  (min ${sorted[0]!.toFixed(3)}, max ${sorted[sorted.length - 1]!.toFixed(3)})`);
  }
}

async function callOnce(name: string, call: Call, i: number): Promise<void> {
  const found = await call(i);
  if (found === undefined || found === null) throw new Error(`${name}: row ${i} not found`);
}

async function seed(db: Database): Promise<Fixture> {
  const fixture: Fixture = { emails: [], sessions: [], accounts: [] };
  const now = Date.now();
  await db.transaction(async (tx) => {
    for (let i = 0; i < ROWS; i++) {
      const userId = randomUUID();
      const email = `micro-${i}@example.test`;
      tx.em.create(User, { id: userId, email, fullName: "Micro", passwordHash: "x", roles: "CUSTOMER", disabled: 0, createTime: now, updateTime: now });
      fixture.emails.push(email);
      fixture.sessions.push({ id: randomUUID(), userId });
      fixture.accounts.push(randomUUID());
    }
    // Users first: the accounts and sessions refer to them.
    await tx.em.flush();
    for (let i = 0; i < ROWS; i++) {
      const { id, userId } = fixture.sessions[i]!;
      tx.em.create(Session, { id, userId, userAgent: "micro", clientAddress: "127.0.0.1", createTime: now, lastUsedTime: now, expireTime: now + 3_600_000, revokedTime: null, revokeReason: null });
      tx.em.create(Account, {
        id: fixture.accounts[i]!, number: String(10_000_000_000_000 + i), ownerId: userId, kind: "CUSTOMER", currency: "USD", accountType: "CHECKING",
        status: "ACTIVE", displayName: "Micro", balance: 12_345n, held: 0n, overdraftLimit: 0n, entryCount: 1, version: 1, createTime: now, updateTime: now,
      });
    }
  });
  return fixture;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engine = args[args.indexOf("--db") + 1] === "postgres" ? "postgres" : "sqlite";
  const n = args.includes("--n") ? Number(args[args.indexOf("--n") + 1]) : 3000;
  const bench = await createBenchDatabase(engine, process.env.BANK_BENCH_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres");
  const db = await Database.open(engine === "postgres" ? { kind: "postgres", url: bench.url } : { kind: "sqlite", file: bench.url.slice("sqlite:".length) });
  try {
    await db.migrate();
    const f = await seed(db);
    const email = (i: number) => f.emails[i % ROWS]!;
    const session = (i: number) => f.sessions[i % ROWS]!;
    const account = (i: number) => f.accounts[i % ROWS]!;
    console.log(`${engine}, ${n} calls per form in ${ROUNDS} interleaved rounds, ${ROWS} rows per table`);
    await compare(db, "fork (Database.read doing nothing)", n, { "fork-only": async () => true });
    await compare(db, "user-by-email (Login)", n, {
      "raw-sql": (tx, i) => tx.one(`SELECT id, email, full_name, password_hash, roles, disabled, create_time, update_time FROM users WHERE email = ?`, [email(i)]),
      findOne: (tx, i) => tx.em.findOne(User, { email: email(i) }),
      "findOne-noim": (tx, i) => tx.em.findOne(User, { email: email(i) }, { disableIdentityMap: true }),
      "qb-get": (tx, i) => tx.em.createQueryBuilder(User).where({ email: email(i) }).execute("get"),
      prepared: (tx, i) => userByEmail.one(tx, [email(i)]),
    });
    await compare(db, "session-check (authenticator)", n, {
      "raw-sql": (tx, i) =>
        tx.one(`SELECT s.revoked_time, s.expire_time, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ?`, [session(i).id, session(i).userId]),
      "findOne x2": async (tx, i) => {
        const s = await tx.em.findOne(Session, { id: session(i).id, userId: session(i).userId });
        return s && tx.em.findOne(User, { id: s.userId });
      },
      "findOne-noim x2": async (tx, i) => {
        const s = await tx.em.findOne(Session, { id: session(i).id, userId: session(i).userId }, { disableIdentityMap: true });
        return s && tx.em.findOne(User, { id: s.userId }, { disableIdentityMap: true });
      },
      "qb-get join": (tx, i) =>
        tx.em.createQueryBuilder(Session, "s").select(["s.revokedTime", "s.expireTime", "u.disabled"] as never).join("s.userId" as never, "u").where({ id: session(i).id, userId: session(i).userId }).execute("get"),
      "prepared join": (tx, i) => sessionCheck.one(tx, [session(i).id, session(i).userId]),
    });
    await compare(db, "account-by-id (GetAccount)", n, {
      "raw-sql": (tx, i) =>
        tx.one(`SELECT id, number, owner_id, kind, currency, account_type, status, display_name, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, CAST(overdraft_limit AS TEXT) AS overdraft_limit, entry_count, version, create_time, update_time FROM accounts WHERE id = ?`, [account(i)]),
      findOne: (tx, i) => tx.em.findOne(Account, { id: account(i) }),
      "findOne-noim": (tx, i) => tx.em.findOne(Account, { id: account(i) }, { disableIdentityMap: true }),
      "qb-get": (tx, i) => tx.em.createQueryBuilder(Account).where({ id: account(i) }).execute("get"),
      prepared: (tx, i) => accountById.one(tx, [account(i)]),
    });
    // A successful Login's throttle work besides argon2. Before issue 15: one read of the account
    // and address rows. Now: a transaction that reads the three rows and reserves the attempt on
    // the account + address row (W7), and one DELETE of that row inside the sign-in's own
    // transaction (measured with an empty transaction of its own, shown alone for subtraction).
    const keys = (i: number) => throttleKeys(`${email(i)}.${i}`, "198.51.100.1");
    await compareCalls("login throttle (besides argon2)", n, {
      "read (before)": (i) => db.read((tx) => tx.all(`SELECT throttle_key, failures, window_start, blocked_until FROM login_throttle WHERE throttle_key IN (?, ?)`, [keys(i).account, keys(i).address])).then(() => true),
      "reserve (now)": (i) => reserveAttempt(db, keys(i), Date.now()).then(() => true),
      "empty tx": () => db.transaction(async () => true),
      "tx + release": (i) => db.transaction((tx) => releaseAttempt(tx, keys(i))).then(() => true),
    });
  } finally {
    await db.close();
    await bench.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
