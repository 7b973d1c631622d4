// Goal: on PostgreSQL, through a real server, concurrent money movement stays exact: 20
// withdrawals of 10 racing on a balance of 100 let exactly 10 through; 300 A->B transfers racing
// 300 B->A transfers all succeed without a deadlock reaching any client and leave both balances
// where they started; 20 identical transfers sent at once with one request_id apply once and all
// get the same answer.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { describeEachPostgres } from "../support/db";
import { client, type Protocol, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { balanceSums, entriesMatchBalances, rid } from "./support";
import { usd } from "../support/money";

describeEachPostgres("concurrent money movement on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  // One client (and so one connection) per user and protocol, as a real caller would keep.
  const clients = new Map<string, unknown>();
  const cached = <T>(key: string, make: () => T): T => (clients.has(key) ? clients.get(key) : clients.set(key, make()).get(key)) as T;
  const accounts = (u: TestUser, protocol: Protocol = "connect") => cached(`a:${u.id}:${protocol}`, () => client(t.baseUrl, AccountService, { protocol, token: u.token }));
  const money = (u: TestUser, protocol: Protocol = "connect") => cached(`m:${u.id}:${protocol}`, () => client(t.baseUrl, TransactionService, { protocol, token: u.token }));
  const open = async (u: TestUser, fundMinor: number) => {
    const a = (await accounts(u).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING })).account!;
    if (fundMinor > 0) await money(teller).deposit({ requestId: rid(), accountId: a.id, amount: usd(fundMinor) });
    return a;
  };
  const ledgerOf = async (id: string) => (await accounts(teller).getBalance({ accountId: id })).ledgerBalance!.minorUnits;

  beforeAll(async () => ({ t, alice, bob, teller } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER] })));
  afterAll(async () => t.stop());
  afterEach(async () => {
    for (const total of (await balanceSums(t.app.db)).values()) expect(total).toBe(0n);
    expect(await entriesMatchBalances(t.app.db)).toEqual([]);
  });

  test("20 withdrawals of 10 racing on a balance of 100: exactly 10 succeed", async () => {
    const a = await open(alice, 100);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        money(alice, i % 2 === 0 ? "connect" : "grpc")
          .withdraw({ requestId: rid(), accountId: a.id, amount: usd(10) })
          .then(() => "ok", (err: unknown) => ConnectError.from(err).findDetails(ErrorInfoSchema)[0]?.reason ?? Code[ConnectError.from(err).code]),
      ),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(10);
    expect(outcomes.filter((o) => o !== "ok")).toEqual(Array(10).fill("INSUFFICIENT_FUNDS"));
    expect(await ledgerOf(a.id)).toBe(0n);
  });

  test("300 A->B against 300 B->A transfers: no deadlock reaches a client, balances return", async () => {
    const a = await open(alice, 10_000);
    const b = await open(bob, 10_000);
    const codes: string[] = [];
    // A client retries UNAVAILABLE (the pool shedding load on a busy machine) with the SAME
    // request_id, as the contract says; a deadlock or conflict would surface as ABORTED and is
    // never retried here, so it would fail the test.
    const send = async (from: TestUser, source: string, target: string, i: number) => {
      const req = { requestId: rid(), fromAccountId: source, target: { case: "toAccountId" as const, value: target }, amount: usd(7) };
      for (let attempt = 1; ; attempt++) {
        try {
          await money(from, i % 2 === 0 ? "connect" : "grpc").transfer(req);
          return;
        } catch (err) {
          const code = ConnectError.from(err).code;
          codes.push(Code[code]);
          if (code !== Code.Unavailable || attempt === 5) throw err;
        }
      }
    };
    const jobs: (() => Promise<void>)[] = [];
    for (let i = 0; i < 300; i++) {
      jobs.push(() => send(alice, a.id, b.id, i));
      jobs.push(() => send(bob, b.id, a.id, i));
    }
    // 40 calls in flight at once: four times the database pool, every one of them wanting the
    // same two rows, half of them in the opposite order.
    await runConcurrently(jobs, 40);
    expect(codes.filter((c) => c !== "Unavailable")).toEqual([]);
    expect([await ledgerOf(a.id), await ledgerOf(b.id)]).toEqual([10_000n, 10_000n]);
    const transfers = await t.app.db.read((tx) => tx.one<{ n: string | number }>(`SELECT COUNT(*) AS n FROM transactions WHERE tx_type = 'TRANSFER' AND from_account_id IN (?, ?)`, [a.id, b.id]));
    expect(Number(transfers!.n)).toBe(600);
  });

  test("20 identical concurrent transfers with one request_id apply once; all 20 answers are equal", async () => {
    const a = await open(alice, 1_000);
    const b = await open(bob, 0);
    const req = { requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId" as const, value: b.id }, amount: usd(250), description: "once" };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => money(alice, i % 2 === 0 ? "connect" : "grpc").transfer(req)));
    for (const answer of answers) expect(answer.transaction).toEqual(answers[0]!.transaction);
    expect([await ledgerOf(a.id), await ledgerOf(b.id)]).toEqual([750n, 250n]);
    const stored = await t.app.db.read((tx) => tx.all(`SELECT id FROM transactions WHERE request_id = ?`, [req.requestId]));
    expect(stored).toHaveLength(1);
  });
});

async function runConcurrently(jobs: (() => Promise<void>)[], inFlight: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}
