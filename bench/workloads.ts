// What one operation of each workload does. An operation is one RPC; every write carries a fresh
// request_id (a UUID), so no call is an idempotent replay.
import { randomUUID } from "node:crypto";
import type { Workload } from "./args";
import { bearer, type Clients } from "./clients";
import type { Fixture } from "./seed";

export type LoadWorkload = Workload | "empty";
/** One operation; returns the kind of call it made (for the mixed workload's breakdown). */
export type Operation = (c: Clients) => Promise<string>;

const randomInt = (n: number) => Math.floor(Math.random() * n);
/** 0.01 to 10.00 USD: small enough that no account runs dry in a run of any length. */
const randomAmount = () => BigInt(1 + randomInt(1_000));

export function operationFor(workload: LoadWorkload, f: Fixture): Operation {
  const { transferUniform, transferHot, depositOrWithdraw } = writes(f);
  const { read, statement, login } = reads(f);
  const mixed: Operation = (c) => {
    // 70% reads, 20% transfers, 5% deposits/withdrawals, 5% logins (issue 7).
    const roll = Math.random();
    if (roll < 0.7) return read(c);
    if (roll < 0.9) return transferUniform(c);
    if (roll < 0.95) return depositOrWithdraw(c);
    return login(c);
  };
  const empty: Operation = async (c) => {
    await c.health.check({ service: "" });
    return "health-check";
  };
  const table: Record<LoadWorkload, Operation> = { "transfer-uniform": transferUniform, "transfer-hot": transferHot, read, statement, login, mixed, empty };
  return table[workload];
}

const ownerToken = (f: Fixture, i: number) => f.users[f.accounts[i]!.owner]!.token;

function writes(f: Fixture): Record<"transferUniform" | "transferHot" | "depositOrWithdraw", Operation> {
  const accounts = f.accounts;
  const tokenOf = (i: number) => ownerToken(f, i);
  const money = (minorUnits: bigint) => ({ currency: f.currency, minorUnits });

  const transferUniform: Operation = async (c) => {
    const source = randomInt(accounts.length);
    const target = (source + 1 + randomInt(accounts.length - 1)) % accounts.length;
    await c.transactions.transfer(
      { requestId: randomUUID(), fromAccountId: accounts[source]!.id, target: { case: "toAccountId", value: accounts[target]!.id }, amount: money(randomAmount()), description: "bench" },
      bearer(tokenOf(source)),
    );
    return "transfer";
  };
  const transferHot: Operation = async (c) => {
    // Half the transfers pay out of the house account, half pay into it: every one locks it.
    const other = randomInt(accounts.length);
    const out = Math.random() < 0.5;
    const [from, to, token] = out
      ? [f.house.accountId, accounts[other]!.id, f.house.user.token]
      : [accounts[other]!.id, f.house.accountId, tokenOf(other)];
    await c.transactions.transfer(
      { requestId: randomUUID(), fromAccountId: from, target: { case: "toAccountId", value: to }, amount: money(randomAmount()), description: "bench hot" },
      bearer(token),
    );
    return "transfer";
  };
  const depositOrWithdraw: Operation = async (c) => {
    const i = randomInt(accounts.length);
    const request = { requestId: randomUUID(), accountId: accounts[i]!.id, amount: money(randomAmount()), description: "bench" };
    if (Math.random() < 0.5) {
      await c.transactions.deposit(request, bearer(tokenOf(i)));
      return "deposit";
    }
    await c.transactions.withdraw(request, bearer(tokenOf(i)));
    return "withdraw";
  };
  return { transferUniform, transferHot, depositOrWithdraw };
}

function reads(f: Fixture): Record<"read" | "statement" | "login", Operation> {
  const accounts = f.accounts;
  const tokenOf = (i: number) => ownerToken(f, i);
  let readTurn = 0;
  const read: Operation = async (c) => {
    const i = randomInt(accounts.length);
    if (readTurn++ % 2 === 0) {
      await c.accounts.getBalance({ accountId: accounts[i]!.id }, bearer(tokenOf(i)));
      return "get-balance";
    }
    await c.accounts.getAccount({ accountId: accounts[i]!.id }, bearer(tokenOf(i)));
    return "get-account";
  };
  const statement: Operation = async (c) => {
    const i = randomInt(accounts.length);
    await c.transactions.listTransactions({ accountId: accounts[i]!.id, pageSize: 0 }, bearer(tokenOf(i)));
    return "list-transactions";
  };
  const login: Operation = async (c) => {
    const user = f.users[randomInt(f.users.length)]!;
    await c.auth.login({ email: user.email, password: user.password });
    return "login";
  };
  return { read, statement, login };
}
