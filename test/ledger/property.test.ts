// Goal: random sequences of ledger operations (deposits, withdrawals, transfers, holds, captures,
// releases, reversals, freezes, overdraft changes, closes, retries and reused request_ids) give
// exactly the outcomes and balances of a small in-memory model, and after every step each
// statement adds up entry by entry and every currency's balances sum to zero.
// A second property drives the posting engine concurrently: groups of random money commands are
// submitted at once (so they share batches, with a small batch cap so that groups also span
// several), and every command must answer exactly as the model predicts in arrival order.
// The seed is printed; replay a failure with LEDGER_PROPERTY_SEED=<seed> (and optionally
// LEDGER_PROPERTY_RUNS=<n> for longer runs).
import fc from "fast-check";
import { Role } from "../../gen/bank/v1/access_pb";
import { DomainError } from "../../src/errors";
import { closeAccount, createAccount, freezeAccount, unfreezeAccount, updateAccount } from "../../src/ledger/accounts";
import { captureHold, createHold, deposit, releaseHold, reverseTransaction, transfer, withdraw } from "../../src/ledger/commands";
import { getBalance, listTransactions } from "../../src/ledger/reads";
import type { Actor, TransactionView } from "../../src/ledger/types";
import { engines } from "../support/db";
import { addUser, balanceSums, openLedger, rid, type LedgerFixture } from "./support";
import { usd } from "../support/money";

// Four USD accounts and one EUR account (every USD amount on it is a currency mismatch).
const ACCOUNTS = 5;
type AccIndex = number;
type Op =
  | { k: "deposit" | "withdraw" | "hold"; acc: AccIndex; amt: number }
  | { k: "transfer"; from: AccIndex; to: AccIndex; amt: number; byNumber: boolean }
  /** pct: the share of the hold to capture (over 100 is refused); null captures it all. */
  | { k: "capture"; hold: number; pct: number | null; to: AccIndex | null }
  | { k: "release"; hold: number }
  | { k: "reverse"; tx: number; force: boolean }
  | { k: "freeze" | "unfreeze" | "close"; acc: AccIndex }
  | { k: "overdraft"; acc: AccIndex; amt: number }
  | { k: "replay" | "reuse"; op: number };

const acc = fc.nat(ACCOUNTS - 1);
const amt = fc.integer({ min: 1, max: 400 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("deposit" as const), acc, amt }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("withdraw" as const), acc, amt }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("transfer" as const), from: acc, to: acc, amt, byNumber: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("hold" as const), acc, amt }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("capture" as const), hold: fc.nat(20), pct: fc.option(fc.integer({ min: 1, max: 110 }), { nil: null }), to: fc.option(acc, { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("release" as const), hold: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("reverse" as const), tx: fc.nat(40), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom("freeze" as const, "unfreeze" as const, "close" as const), acc }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("overdraft" as const), acc, amt }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom("replay" as const, "reuse" as const), op: fc.nat(60) }) },
);

interface MAccount { id: string; number: string; currency: string; balance: bigint; held: bigint; overdraft: bigint; status: "ACTIVE" | "FROZEN" | "CLOSED"; deltas: bigint[] }
interface MLeg { acc: AccIndex | "S"; amount: bigint; held: bigint }
interface MTx { id: string; type: string; status: string; legs: MLeg[]; holdAcc?: AccIndex; amount: bigint }
type Outcome = { ok: TransactionView } | { err: string };
/** A money command already run; `again` changes the description (or reason), when it has one. */
interface Done { run: () => Promise<TransactionView>; again?: () => Promise<TransactionView>; outcome: Outcome; recorded: boolean }

class Model {
  txs: MTx[] = [];
  holds: MTx[] = [];
  done: Done[] = [];
  constructor(readonly accounts: MAccount[]) {}

  /** The posting rules in the order the ledger checks them; undefined = it posts. */
  refusal(legs: MLeg[], force = false): string | undefined {
    for (const leg of legs) {
      if (leg.acc === "S") continue;
      const a = this.accounts[leg.acc]!;
      const moves = leg.amount !== 0n || leg.held > 0n;
      if (moves && a.status === "CLOSED") return "ACCOUNT_CLOSED";
      if (moves && a.status === "FROZEN") return "ACCOUNT_FROZEN";
    }
    for (const leg of legs) if (leg.acc !== "S" && this.accounts[leg.acc]!.currency !== "USD") return "CURRENCY_MISMATCH";
    for (const leg of legs) {
      if (leg.acc === "S" || force || leg.amount - leg.held >= 0n) continue;
      const a = this.accounts[leg.acc]!;
      if (a.balance + leg.amount - (a.held + leg.held) + a.overdraft < 0n) return "INSUFFICIENT_FUNDS";
    }
    return undefined;
  }

  apply(legs: MLeg[]): void {
    for (const leg of legs) {
      if (leg.acc === "S") continue;
      const a = this.accounts[leg.acc]!;
      a.balance += leg.amount;
      a.held += leg.held;
      a.deltas.push(leg.amount);
    }
  }
}

/** ACCOUNTS accounts (the last in EUR) and their model; the USD ones start with 10.00, so that
 * most random operations can succeed. */
async function openModelAccounts(f: LedgerFixture, admin: Actor): Promise<MAccount[]> {
  const accounts: MAccount[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const currency = i === ACCOUNTS - 1 ? "EUR" : "USD";
    const a = await createAccount(f.ledger, admin, { requestId: rid(), currency, type: "CHECKING", displayName: "", ownerId: "" });
    accounts.push({ id: a.id, number: a.number, currency, balance: 0n, held: 0n, overdraft: 0n, status: "ACTIVE", deltas: [] });
    if (currency === "USD") {
      await deposit(f.ledger, admin, { requestId: rid(), accountId: a.id, amount: { currency, minorUnits: 1_000n }, description: "" });
      accounts[i]!.balance = 1_000n;
      accounts[i]!.deltas.push(1_000n);
    }
  }
  return accounts;
}

describe.each(engines())("ledger property on %s", (engine) => {
  let f: LedgerFixture;
  let admin: Actor;
  beforeAll(async () => {
    f = await openLedger(engine);
    admin = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
  });
  afterAll(async () => f.close());

  test("random operation sequences match the model, step by step", async () => {
    const seed = process.env.LEDGER_PROPERTY_SEED ? Number(process.env.LEDGER_PROPERTY_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
    const numRuns = Number(process.env.LEDGER_PROPERTY_RUNS ?? (engine === "sqlite" ? 20 : 10));
    console.log(`ledger property test on ${engine}: seed=${seed} runs=${numRuns} (replay with LEDGER_PROPERTY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30, size: "max" }), async (ops) => {
        const model = new Model(await openAccounts());
        for (const op of ops) {
          await step(model, op);
          await check(model);
        }
      }),
      { seed, numRuns, endOnFailure: true },
    );
  }, 240_000);

  const openAccounts = () => openModelAccounts(f, admin);

  /** Runs a money command and checks its outcome against the model's prediction. */
  async function money(model: Model, run: (requestId: string, description: string) => Promise<TransactionView>, expected: string | undefined, onOk: (t: TransactionView) => void, hasText = true, recorded = true): Promise<void> {
    const requestId = rid("p");
    const outcome = await attempt(() => run(requestId, "p"));
    expect("err" in outcome ? outcome.err : "ok").toBe(expected ?? "ok");
    if ("ok" in outcome) onOk(outcome.ok);
    model.done.push({ run: () => run(requestId, "p"), again: hasText ? () => run(requestId, "changed") : undefined, outcome, recorded });
  }

  async function step(model: Model, op: Op): Promise<void> {
    const A = model.accounts;
    switch (op.k) {
      case "deposit":
      case "withdraw": {
        const sign = op.k === "deposit" ? 1n : -1n;
        const legs: MLeg[] = [{ acc: op.acc, amount: sign * BigInt(op.amt), held: 0n }, { acc: "S", amount: -sign * BigInt(op.amt), held: 0n }];
        const fn = op.k === "deposit" ? deposit : withdraw;
        return money(model, (requestId, description) => fn(f.ledger, admin, { requestId, accountId: A[op.acc]!.id, amount: usd(op.amt), description }), model.refusal(legs), (t) => {
          model.apply(legs);
          model.txs.push({ id: t.id, type: t.type, status: "POSTED", legs, amount: BigInt(op.amt) });
        });
      }
      case "transfer": {
        const legs: MLeg[] = [{ acc: op.from, amount: -BigInt(op.amt), held: 0n }, { acc: op.to, amount: BigInt(op.amt), held: 0n }];
        const target = op.byNumber ? { toAccountId: "", toAccountNumber: A[op.to]!.number } : { toAccountId: A[op.to]!.id, toAccountNumber: "" };
        const expected = op.from === op.to ? "SAME_ACCOUNT" : model.refusal(legs);
        return money(model, (requestId, description) => transfer(f.ledger, admin, { requestId, fromAccountId: A[op.from]!.id, ...target, amount: usd(op.amt), description }), expected, (t) => {
          model.apply(legs);
          model.txs.push({ id: t.id, type: "TRANSFER", status: "POSTED", legs, amount: BigInt(op.amt) });
          // The same account given by id is a shape error, refused before anything is recorded.
        }, true, !(op.from === op.to && !op.byNumber));
      }
      case "hold": {
        const legs: MLeg[] = [{ acc: op.acc, amount: 0n, held: BigInt(op.amt) }];
        return money(model, (requestId, description) => createHold(f.ledger, admin, { requestId, accountId: A[op.acc]!.id, amount: usd(op.amt), description }), model.refusal(legs), (t) => {
          model.apply(legs);
          const h: MTx = { id: t.id, type: "HOLD", status: "PENDING", legs, holdAcc: op.acc, amount: BigInt(op.amt) };
          model.holds.push(h);
          model.txs.push(h);
        });
      }
      case "capture": {
        if (model.holds.length === 0) return;
        const h = model.holds[op.hold % model.holds.length]!;
        const captured = op.pct === null ? h.amount : (h.amount * BigInt(op.pct) + 99n) / 100n;
        const legs: MLeg[] = [{ acc: h.holdAcc!, amount: -captured, held: -h.amount }, { acc: op.to ?? "S", amount: captured, held: 0n }];
        const expected = h.status !== "PENDING" ? "HOLD_NOT_PENDING" : captured > h.amount ? "AMOUNT_EXCEEDS_HOLD" : op.to === h.holdAcc ? "SAME_ACCOUNT" : model.refusal(legs);
        const toAccountId = op.to === null ? "" : A[op.to]!.id;
        return money(model, (requestId) => captureHold(f.ledger, admin, { requestId, holdId: h.id, amount: op.pct === null ? undefined : usd(captured), toAccountId }), expected, (t) => {
          model.apply(legs);
          h.status = "CAPTURED";
          model.txs.push({ id: t.id, type: "CAPTURE", status: "POSTED", legs: legs.map((l) => ({ ...l, held: 0n })), amount: captured });
        }, false);
      }
      case "release": {
        if (model.holds.length === 0) return;
        const h = model.holds[op.hold % model.holds.length]!;
        const legs: MLeg[] = [{ acc: h.holdAcc!, amount: 0n, held: -h.amount }];
        const expected = h.status !== "PENDING" ? "HOLD_NOT_PENDING" : model.refusal(legs);
        return money(model, (requestId) => releaseHold(f.ledger, admin, { requestId, holdId: h.id }), expected, (t) => {
          model.apply(legs);
          h.status = "RELEASED";
          model.txs.push({ id: t.id, type: "RELEASE", status: "POSTED", legs, amount: h.amount });
        }, false);
      }
      case "reverse": {
        if (model.txs.length === 0) return;
        const orig = model.txs[op.tx % model.txs.length]!;
        const legs: MLeg[] = orig.legs.filter((l) => l.amount !== 0n).map((l) => ({ acc: l.acc, amount: -l.amount, held: 0n }));
        const reversible = ["DEPOSIT", "WITHDRAWAL", "TRANSFER", "CAPTURE"].includes(orig.type) && orig.status === "POSTED";
        const expected = orig.status === "REVERSED" ? "ALREADY_REVERSED" : !reversible ? "NOT_REVERSIBLE" : model.refusal(legs, op.force);
        return money(model, (requestId, description) => reverseTransaction(f.ledger, admin, { requestId, transactionId: orig.id, reason: description, force: op.force }), expected, (t) => {
          model.apply(legs);
          orig.status = "REVERSED";
          model.txs.push({ id: t.id, type: "REVERSAL", status: "POSTED", legs, amount: orig.amount });
        });
      }
      case "freeze":
      case "unfreeze":
      case "close":
        return statusOp(model, op.k, op.acc);
      case "overdraft": {
        const a = A[op.acc]!;
        const outcome = await attempt(() => updateAccount(f.ledger, admin, { accountId: a.id, displayName: "", overdraftLimit: { currency: a.currency, minorUnits: BigInt(op.amt) }, updateMask: ["overdraft_limit"], etag: "" }));
        expect("err" in outcome ? outcome.err : "ok").toBe(a.status === "CLOSED" ? "ACCOUNT_CLOSED" : "ok");
        if (a.status !== "CLOSED") a.overdraft = BigInt(op.amt);
        return;
      }
      case "replay":
      case "reuse": {
        if (model.done.length === 0) return;
        const d = model.done[op.op % model.done.length]!;
        const again = d.again;
        if (op.k === "reuse" && !again) return;
        const outcome = await attempt(op.k === "replay" || !again ? d.run : again);
        if (op.k === "replay" || !d.recorded) expect(outcome).toEqual(d.outcome);
        else expect(outcome).toEqual({ err: "REQUEST_ID_REUSED" });
        return;
      }
    }
  }

  async function statusOp(model: Model, k: "freeze" | "unfreeze" | "close", i: AccIndex): Promise<void> {
    const a = model.accounts[i]!;
    let expected: string | undefined;
    if (k === "close") {
      expected = a.status === "CLOSED" ? undefined : a.status === "FROZEN" ? "ACCOUNT_FROZEN" : a.held !== 0n ? "ACCOUNT_HAS_HOLDS" : a.balance !== 0n ? "ACCOUNT_NOT_EMPTY" : undefined;
    } else if (a.status === "CLOSED") {
      expected = "ACCOUNT_CLOSED";
    }
    const fn = k === "freeze" ? freezeAccount : k === "unfreeze" ? unfreezeAccount : closeAccount;
    const outcome = await attempt(() => fn(f.ledger, admin, { accountId: a.id, reason: "property" }));
    expect("err" in outcome ? outcome.err : "ok").toBe(expected ?? "ok");
    if (expected === undefined) a.status = k === "freeze" ? "FROZEN" : k === "unfreeze" ? "ACTIVE" : "CLOSED";
  }

  /** After every step: balances, statements entry by entry, and conservation. */
  async function check(model: Model): Promise<void> {
    for (const a of model.accounts) {
      const b = await getBalance(f.ledger, admin, { accountId: a.id });
      expect({ ledger: b.ledger, held: b.held, available: b.available }).toEqual({ ledger: a.balance, held: a.held, available: a.balance - a.held + a.overdraft });
      const lines = (await listTransactions(f.ledger, admin, { accountId: a.id, pageSize: 500, pageToken: "" })).items;
      expect(lines.map((l) => l.amount).reverse()).toEqual(a.deltas);
      lines.forEach((line, i) => {
        const older = lines[i + 1];
        expect(line.balanceAfter).toBe((older?.balanceAfter ?? 0n) + line.amount);
      });
      expect(lines[0]?.balanceAfter ?? 0n).toBe(a.balance);
    }
    for (const total of (await balanceSums(f.db)).values()) expect(total).toBe(0n);
  }
});

/** Money commands for the concurrent property: holds, captures, releases and reversals only of
 * transactions that committed in an earlier group (their ids are known when the group starts). */
type GroupOp =
  | { k: "deposit" | "withdraw" | "hold"; acc: AccIndex; amt: number }
  | { k: "transfer"; from: AccIndex; to: AccIndex; amt: number; byNumber: boolean }
  | { k: "capture" | "release"; hold: number }
  | { k: "reverse"; tx: number }
  | { k: "replay"; op: number };
const groupOpArb: fc.Arbitrary<GroupOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constantFrom("deposit" as const, "withdraw" as const, "hold" as const), acc, amt }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("transfer" as const), from: acc, to: acc, amt, byNumber: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom("capture" as const, "release" as const), hold: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("reverse" as const), tx: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("replay" as const), op: fc.nat(60) }) },
);

describe.each(engines())("ledger property through concurrent batches on %s", (engine) => {
  let f: LedgerFixture;
  let admin: Actor;
  beforeAll(async () => {
    // A small cap, so that a group spans several batches as well as sharing them.
    f = await openLedger(engine, { postingBatchMax: 4 });
    admin = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
  });
  afterAll(async () => f.close());

  test("groups of money commands submitted at once answer as the model does in arrival order", async () => {
    const seed = process.env.LEDGER_PROPERTY_SEED ? Number(process.env.LEDGER_PROPERTY_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
    const numRuns = Number(process.env.LEDGER_PROPERTY_RUNS ?? (engine === "sqlite" ? 15 : 8));
    console.log(`ledger concurrent property test on ${engine}: seed=${seed} runs=${numRuns} (replay with LEDGER_PROPERTY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(groupOpArb, { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 6 }), async (groups) => {
        const model = new Model(await openAccounts());
        for (const group of groups) await runGroup(model, group);
      }),
      { seed, numRuns, endOnFailure: true },
    );
  }, 240_000);

  const openAccounts = () => openModelAccounts(f, admin);

  /** Predicts every command of the group in order (updating the model as it goes), submits them
   * all in the same tick, then checks each answer and the resulting balances. */
  async function runGroup(model: Model, group: GroupOp[]): Promise<void> {
    const A = model.accounts;
    const calls: { promise: Promise<Outcome>; expected: Outcome | string; onOk?: (t: TransactionView) => void }[] = [];
    const submit = (run: (requestId: string) => Promise<TransactionView>, expected: string | undefined, onOk: (t: TransactionView) => void) => {
      const requestId = rid("c");
      const outcome = { run: () => run(requestId), outcome: { err: "pending" } as Outcome, recorded: true } as Done;
      calls.push({ promise: attempt(() => run(requestId)), expected: expected ?? "ok", onOk: (t) => onOk(t) });
      model.done.push(outcome);
      const index = calls.length - 1;
      void calls[index]!.promise.then((o) => (outcome.outcome = o));
    };
    for (const op of group) {
      switch (op.k) {
        case "deposit":
        case "withdraw":
        case "hold": {
          const legs: MLeg[] = op.k === "hold" ? [{ acc: op.acc, amount: 0n, held: BigInt(op.amt) }]
            : [{ acc: op.acc, amount: (op.k === "deposit" ? 1n : -1n) * BigInt(op.amt), held: 0n }, { acc: "S", amount: (op.k === "deposit" ? -1n : 1n) * BigInt(op.amt), held: 0n }];
          const expected = model.refusal(legs);
          const mtx: MTx = { id: "", type: op.k === "hold" ? "HOLD" : op.k === "deposit" ? "DEPOSIT" : "WITHDRAWAL", status: op.k === "hold" ? "PENDING" : "POSTED", legs, holdAcc: op.acc, amount: BigInt(op.amt) };
          if (expected === undefined) {
            model.apply(legs);
            if (op.k === "hold") model.holds.push(mtx);
            model.txs.push(mtx);
          }
          const fn = op.k === "deposit" ? deposit : op.k === "withdraw" ? withdraw : createHold;
          submit((requestId) => fn(f.ledger, admin, { requestId, accountId: A[op.acc]!.id, amount: usd(op.amt), description: "c" }), expected, (t) => (mtx.id = t.id));
          break;
        }
        case "transfer": {
          const legs: MLeg[] = [{ acc: op.from, amount: -BigInt(op.amt), held: 0n }, { acc: op.to, amount: BigInt(op.amt), held: 0n }];
          if (op.from === op.to) break;
          const expected = model.refusal(legs);
          const mtx: MTx = { id: "", type: "TRANSFER", status: "POSTED", legs, amount: BigInt(op.amt) };
          if (expected === undefined) {
            model.apply(legs);
            model.txs.push(mtx);
          }
          const target = op.byNumber ? { toAccountId: "", toAccountNumber: A[op.to]!.number } : { toAccountId: A[op.to]!.id, toAccountNumber: "" };
          submit((requestId) => transfer(f.ledger, admin, { requestId, fromAccountId: A[op.from]!.id, ...target, amount: usd(op.amt), description: "c" }), expected, (t) => (mtx.id = t.id));
          break;
        }
        case "capture":
        case "release": {
          const known = model.holds.filter((h) => h.id !== "");
          if (known.length === 0) break;
          const h = known[op.hold % known.length]!;
          const legs: MLeg[] = op.k === "capture" ? [{ acc: h.holdAcc!, amount: -h.amount, held: -h.amount }, { acc: "S", amount: h.amount, held: 0n }] : [{ acc: h.holdAcc!, amount: 0n, held: -h.amount }];
          const expected = h.status !== "PENDING" ? "HOLD_NOT_PENDING" : model.refusal(legs);
          const mtx: MTx = { id: "", type: op.k === "capture" ? "CAPTURE" : "RELEASE", status: "POSTED", legs: legs.map((l) => ({ ...l, held: 0n })), amount: h.amount };
          if (expected === undefined) {
            model.apply(legs);
            h.status = op.k === "capture" ? "CAPTURED" : "RELEASED";
            if (op.k === "capture") model.txs.push(mtx);
          }
          const run = op.k === "capture" ? (requestId: string) => captureHold(f.ledger, admin, { requestId, holdId: h.id, toAccountId: "" }) : (requestId: string) => releaseHold(f.ledger, admin, { requestId, holdId: h.id });
          submit(run, expected, (t) => (mtx.id = t.id));
          break;
        }
        case "reverse": {
          const known = model.txs.filter((t) => t.id !== "");
          if (known.length === 0) break;
          const orig = known[op.tx % known.length]!;
          const legs: MLeg[] = orig.legs.filter((l) => l.amount !== 0n).map((l) => ({ acc: l.acc, amount: -l.amount, held: 0n }));
          const reversible = ["DEPOSIT", "WITHDRAWAL", "TRANSFER", "CAPTURE"].includes(orig.type) && orig.status === "POSTED";
          const expected = orig.status === "REVERSED" ? "ALREADY_REVERSED" : !reversible ? "NOT_REVERSIBLE" : model.refusal(legs, true);
          const mtx: MTx = { id: "", type: "REVERSAL", status: "POSTED", legs, amount: orig.amount };
          if (expected === undefined) {
            model.apply(legs);
            orig.status = "REVERSED";
            model.txs.push(mtx);
          }
          submit((requestId) => reverseTransaction(f.ledger, admin, { requestId, transactionId: orig.id, reason: "c", force: true }), expected, (t) => (mtx.id = t.id));
          break;
        }
        case "replay": {
          const earlier = model.done.filter((d) => d.outcome && !("err" in d.outcome && d.outcome.err === "pending"));
          if (earlier.length === 0) break;
          const d = earlier[op.op % earlier.length]!;
          calls.push({ promise: attempt(d.run), expected: d.outcome });
          break;
        }
      }
    }
    const outcomes = await Promise.all(calls.map((c) => c.promise));
    outcomes.forEach((outcome, i) => {
      const call = calls[i]!;
      if (typeof call.expected === "string") {
        expect("err" in outcome ? outcome.err : "ok").toBe(call.expected);
        if ("ok" in outcome) call.onOk?.(outcome.ok);
      } else {
        expect(outcome).toEqual(call.expected);
      }
    });
    for (const a of model.accounts) {
      const b = await getBalance(f.ledger, admin, { accountId: a.id });
      expect({ ledger: b.ledger, held: b.held }).toEqual({ ledger: a.balance, held: a.held });
    }
    for (const total of (await balanceSums(f.db)).values()) expect(total).toBe(0n);
  }
});

async function attempt<T>(fn: () => Promise<T>): Promise<{ ok: T } | { err: string }> {
  try {
    return { ok: await fn() };
  } catch (err) {
    if (err instanceof DomainError) return { err: err.reason };
    throw err;
  }
}
