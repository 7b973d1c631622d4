// Goal (issue 6, scenario 4): a loopback TCP proxy between the clients and bankd loses a seeded
// fraction of responses (it cuts both connections when a response begins, after bankd has
// committed). Clients retry every operation — transfers, deposits, withdrawals, account
// openings — with the same request_id until they get an answer. Each logical operation is applied
// exactly once, and replaying it once more (directly, with the same request_id) returns a response
// equal to the one the client finally got, success or business failure alike.
import { equals, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { AccountService, CreateAccountResponseSchema } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { DepositResponseSchema, TransactionService, TransferResponseSchema, WithdrawResponseSchema } from "../../gen/bank/v1/transaction_service_pb";
import { BankdProcess } from "./support/bankd-process";
import { api, attempt, newRetryStats, setupBank, viewError, type AccountRef, type ErrorView, type Session } from "./support/bank-api";
import { checkLedger } from "./support/invariants";
import { LossyProxy } from "./support/lossy-proxy";
import { big, openProbe, type Probe } from "./support/probe";
import { report, Rng, scenarioSeed } from "./support/rng";
import { describeOnPostgres, LOAD, mainClusterDatabase, MINUTE, verifyAudit } from "./support/scenario";
import type { TestDatabase } from "../support/db";

const SCENARIO = "lost-responses";
const DROP_FRACTION = 0.3;

type Kind = "transfer" | "deposit" | "withdraw" | "createAccount";

interface Op {
  kind: Kind;
  requestId: string;
  session: Session;
  schema: DescMessage;
  /** Calls bankd at `url` with the op's fixed request (same request_id every time). */
  call: (url: string) => Promise<MessageShape<DescMessage>>;
  /** Money ops: the transaction row the op must produce (or not). */
  money?: { from: string | null; to: string | null; amount: bigint };
  result?: { ok: true; value: MessageShape<DescMessage> } | { ok: false; error: ErrorView };
  attempts: number;
}

function makeOp(rng: Rng, kind: Kind, requestId: string, session: Session, accounts: readonly AccountRef[]): Op {
  const own = accounts.filter((a) => a.ownerId === session.userId);
  const from = rng.pick(own);
  const amount = BigInt(rng.int(1, 20_000));
  const money = { currency: from.currency, minorUnits: amount };
  const tx = (url: string) => api(TransactionService, url, { token: session.token });
  switch (kind) {
    case "transfer": {
      const to = rng.pick(accounts.filter((a) => a.currency === from.currency && a.id !== from.id));
      const req = { requestId, fromAccountId: from.id, target: { case: "toAccountId" as const, value: to.id }, amount: money, description: "lossy transfer" };
      return { kind, requestId, session, schema: TransferResponseSchema, call: (url) => tx(url).transfer(req), money: { from: from.id, to: to.id, amount }, attempts: 0 };
    }
    case "deposit": {
      const req = { requestId, accountId: from.id, amount: money, description: "lossy deposit" };
      return { kind, requestId, session, schema: DepositResponseSchema, call: (url) => tx(url).deposit(req), money: { from: null, to: from.id, amount }, attempts: 0 };
    }
    case "withdraw": {
      const req = { requestId, accountId: from.id, amount: money, description: "lossy withdrawal" };
      return { kind, requestId, session, schema: WithdrawResponseSchema, call: (url) => tx(url).withdraw(req), money: { from: from.id, to: null, amount }, attempts: 0 };
    }
    case "createAccount": {
      const req = { requestId, currency: rng.pick(["USD", "EUR"]), type: AccountType.SAVINGS, displayName: `lossy ${requestId}` };
      return { kind, requestId, session, schema: CreateAccountResponseSchema, call: (url) => api(AccountService, url, { token: session.token }).createAccount(req), attempts: 0 };
    }
  }
}

describeOnPostgres("system: lost responses through a lossy proxy (PostgreSQL)", () => {
  let db: TestDatabase;
  let bankd: BankdProcess | undefined;
  let proxy: LossyProxy | undefined;
  let probe: Probe | undefined;

  beforeAll(async () => {
    db = await mainClusterDatabase();
    bankd = await BankdProcess.start({ databaseUrl: db.url, dataDir: db.dataDir });
  }, 2 * MINUTE);

  afterAll(async () => {
    await proxy?.close();
    await probe?.close();
    await bankd?.stop();
    await db?.drop();
  }, MINUTE);

  test(
    "30% of responses lost: each operation applied once, each replay equal to the answer",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      const rng = new Rng(seed);
      const bank = await setupBank(bankd!.url, { ...LOAD, label: `s${seed}` });
      proxy = await LossyProxy.start(bankd!.port, DROP_FRACTION, rng.fork(7));
      const opsPerClient = Math.max(10, Math.floor(LOAD.opsPerClient / 5));
      const stats = newRetryStats();
      const ops: Op[] = [];
      await Promise.all(
        bank.users.map(async (session, c) => {
          const crng = rng.fork(c);
          for (let i = 0; i < opsPerClient; i++) {
            const kind = crng.pick<Kind>(["transfer", "transfer", "transfer", "deposit", "withdraw", "createAccount"]);
            const op = makeOp(crng, kind, `s${seed}-lr-c${c}-i${i}`, session, bank.accounts);
            const res = await attempt(() => op.call(proxy!.url), { rng: crng, stats, maxAttempts: 80 });
            op.attempts = res.attempts;
            if (res.ok) op.result = { ok: true, value: res.value };
            else if (res.acked) op.result = { ok: false, error: res.error };
            ops.push(op);
          }
        }),
      );
      probe = await openProbe(db.url);
      const problems: string[] = [];
      for (const op of ops) {
        problems.push(...(await checkReplay(op, bankd!.url)));
        problems.push(...(await checkApplied(probe, op)));
      }
      // No account was opened twice: each user owns their initial accounts plus one per
      // acknowledged CreateAccount.
      for (const user of bank.users) {
        const opened = ops.filter((o) => o.session.userId === user.userId && o.kind === "createAccount" && o.result?.ok).length;
        const rows = await probe.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM accounts WHERE owner_id = ?`, [user.userId]);
        const want = LOAD.accountsPerUser + opened;
        if (Number(rows[0]?.n) !== want) problems.push(`user ${user.userId} owns ${rows[0]?.n} accounts, expected ${want}`);
      }
      problems.push(...(await checkLedger(probe)));
      const audit = await verifyAudit(db.url, db.dataDir);
      if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
      const byKind: Record<string, number> = {};
      for (const op of ops) byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
      report(SCENARIO, {
        seed,
        operations: ops.length,
        byKind,
        retries: stats.retries,
        errors: stats.errors,
        proxy: proxy.stats,
        replays: ops.filter((o) => o.result).length,
        retriedOps: ops.filter((o) => o.attempts > 1).length,
        kills: 0,
      });
      expect(proxy.stats.dropped).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    },
    6 * MINUTE,
  );
});

/** Replays `op` once more, straight to bankd: the answer must equal what the client got through
 * the proxy (the same message for a success; the same code, reason, message and metadata for a
 * business failure). */
async function checkReplay(op: Op, directUrl: string): Promise<string[]> {
  if (!op.result) return [`${op.requestId}: no answer after ${op.attempts} attempts`];
  let replay: NonNullable<Op["result"]>;
  try {
    replay = { ok: true, value: await op.call(directUrl) };
  } catch (err) {
    replay = { ok: false, error: viewError(err) };
  }
  if (op.result.ok !== replay.ok) return [`${op.requestId}: answer ok=${op.result.ok} but replay ok=${replay.ok}`];
  if (op.result.ok && replay.ok) return equals(op.schema, op.result.value, replay.value) ? [] : [`${op.requestId} (${op.kind}): replay differs from the answer`];
  const a = (op.result as { error: ErrorView }).error;
  const b = (replay as { error: ErrorView }).error;
  const problems: string[] = [];
  if (a.code !== b.code || a.reason !== b.reason || a.message !== b.message || JSON.stringify(a.metadata) !== JSON.stringify(b.metadata)) {
    problems.push(`${op.requestId}: failure replay differs: ${a.codeName} ${a.reason} vs ${b.codeName} ${b.reason}`);
  }
  if (a.code !== Code.FailedPrecondition) problems.push(`${op.requestId}: unexpected final error ${a.codeName} ${a.reason}: ${a.message}`);
  return problems;
}

/** A money op is stored once when it succeeded (as the answer says), never when it failed; an
 * opened account exists. */
async function checkApplied(probe: Probe, op: Op): Promise<string[]> {
  if (!op.result) return [];
  if (op.kind === "createAccount") {
    if (!op.result.ok) return [];
    const id = (op.result.value as MessageShape<typeof CreateAccountResponseSchema>).account?.id;
    const rows = await probe.all(`SELECT id FROM accounts WHERE id = ?`, [id]);
    return rows.length === 1 ? [] : [`${op.requestId}: opened account ${id} stored ${rows.length} times`];
  }
  const rows = await probe.all<{ id: string; from_account_id: string | null; to_account_id: string | null; amount: unknown }>(
    `SELECT id, from_account_id, to_account_id, CAST(amount AS TEXT) AS amount FROM transactions WHERE request_id = ? AND initiated_by = ?`,
    [op.requestId, op.session.userId],
  );
  if (!op.result.ok) return rows.length === 0 ? [] : [`${op.requestId}: failed (${op.result.error.reason}) but stored ${rows.length} times`];
  const txId = (op.result.value as MessageShape<typeof TransferResponseSchema>).transaction?.id;
  if (rows.length !== 1) return [`${op.requestId} (${op.kind}): acknowledged but stored ${rows.length} times`];
  const row = rows[0]!;
  const problems: string[] = [];
  if (row.id !== txId) problems.push(`${op.requestId}: answered tx ${txId}, stored ${row.id}`);
  if (row.from_account_id !== op.money!.from || row.to_account_id !== op.money!.to || big(row.amount) !== op.money!.amount) problems.push(`${op.requestId}: stored with other accounts or amount`);
  return problems;
}
