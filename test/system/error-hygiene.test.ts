// Goal (issue 6, scenario 7): forced database errors — a unique violation and a check violation
// the product does not expect (constraints the test adds to its own database), and a refused
// connection (the throwaway cluster stopped) — reach clients as INTERNAL or UNAVAILABLE with no
// SQL, driver text, stack, path, address or secret anywhere in what they receive (message, body,
// headers, trailers, error details), over Connect and gRPC alike; bankd's log line for each
// carries the correlation id the client got; and bankd serves again once the database is back.
import { create, toBinary } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { DepositRequestSchema } from "../../gen/bank/v1/transaction_service_pb";
import { GetBalanceRequestSchema } from "../../gen/bank/v1/account_service_pb";
import { BankdProcess } from "./support/bankd-process";
import { setupBank } from "./support/bank-api";
import { PgCluster } from "./support/pg-cluster";
import { connectCode, connectJson, grpcCall, grpcFrame, wireText, type RawResponse } from "./support/raw-calls";
import { report, scenarioSeed } from "./support/rng";
import { withPg } from "./support/slow-db";
import { describeOnPostgres, leaks, MINUTE, tempDir } from "./support/scenario";
import { waitUntil } from "../support/wait";

const SCENARIO = "error-hygiene";
const GRPC_CODE: Record<string, string> = { "13": "internal", "14": "unavailable", "0": "ok" };

interface CallRecord {
  name: string;
  protocol: "connect" | "grpc";
  requestId: string;
  res: RawResponse;
  code: string;
}

describeOnPostgres("system: error hygiene on forced database errors (throwaway PostgreSQL cluster)", () => {
  let cluster: PgCluster | undefined;
  let bankd: BankdProcess | undefined;

  afterAll(async () => {
    await bankd?.stop();
    await cluster?.destroy();
  }, MINUTE);

  test(
    "unique violation, check violation, refused connection: generic INTERNAL / UNAVAILABLE, correlated log line",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      cluster = await PgCluster.create();
      const databaseUrl = await cluster.createDatabase("bankd_hygiene");
      const dataDir = tempDir();
      bankd = await BankdProcess.start({ databaseUrl, dataDir });
      const bank = await setupBank(bankd.url, { users: 1, accountsPerUser: 1, currencies: ["USD"], fundingMinor: 100_000n, label: `s${seed}` });
      const user = bank.users[0]!;
      const account = bank.accounts[0]!;
      // A value only this test knows; it must never come back to a client.
      const secret = `secret-${randomBytes(8).toString("hex")}`;
      await withPg(databaseUrl, async (c) => {
        await c.query(`CREATE UNIQUE INDEX bankd_test_unique_description ON transactions (description) WHERE description LIKE 'collide%'`);
        await c.query(`ALTER TABLE transactions ADD CONSTRAINT bankd_test_no_777777 CHECK (amount <> 777777) NOT VALID`);
        await c.query(`ALTER TABLE users ADD CONSTRAINT bankd_test_no_collide CHECK (full_name <> 'Collide Name') NOT VALID`);
      });

      let n = 0;
      const calls: CallRecord[] = [];
      const deposit = async (name: string, protocol: "connect" | "grpc", amount: bigint, description: string) => {
        const requestId = `hyg-${seed}-${++n}`;
        const init = { requestId: `s${seed}-hyg-${n}`, accountId: account.id, amount: { currency: "USD", minorUnits: amount }, description };
        const res =
          protocol === "connect"
            ? await connectJson(bankd!.url, "bank.v1.TransactionService/Deposit", { ...init, amount: { currency: "USD", minorUnits: String(amount) } }, user.token, { "x-request-id": requestId })
            : await grpcCall(bankd!.url, "bank.v1.TransactionService/Deposit", grpcFrame(toBinary(DepositRequestSchema, create(DepositRequestSchema, init))), user.token, { "x-request-id": requestId });
        calls.push({ name, protocol, requestId, res, code: codeOf(res, protocol) });
      };
      const balance = async (name: string, protocol: "connect" | "grpc") => {
        const requestId = `hyg-${seed}-${++n}`;
        const res =
          protocol === "connect"
            ? await connectJson(bankd!.url, "bank.v1.AccountService/GetBalance", { accountId: account.id }, user.token, { "x-request-id": requestId })
            : await grpcCall(bankd!.url, "bank.v1.AccountService/GetBalance", grpcFrame(toBinary(GetBalanceRequestSchema, create(GetBalanceRequestSchema, { accountId: account.id }))), user.token, { "x-request-id": requestId });
        calls.push({ name, protocol, requestId, res, code: codeOf(res, protocol) });
      };

      // 1. Unique violation: the first deposit with this description passes, the next collide.
      await deposit("unique-first", "connect", 100n, `collide ${secret}`);
      await deposit("unique-violation", "connect", 100n, `collide ${secret}`);
      await deposit("unique-violation", "grpc", 100n, `collide ${secret}`);
      // 2. Check violation.
      await deposit("check-violation", "connect", 777_777n, `check ${secret}`);
      await deposit("check-violation", "grpc", 777_777n, `check ${secret}`);
      // 2b. A failing INSERT of a user: the statement carries the password's hash, which must
      // reach neither the client nor the log.
      const password = `Pw-${randomBytes(18).toString("base64url")}`;
      const registerId = `hyg-${seed}-${++n}`;
      const register = await connectJson(bankd.url, "bank.v1.AuthService/Register", { email: `collide-${seed}@example.test`, password, fullName: "Collide Name" }, undefined, { "x-request-id": registerId });
      calls.push({ name: "register-check-violation", protocol: "connect", requestId: registerId, res: register, code: connectCode(register) });
      // 3. Refused connection: the database is down.
      await cluster.stopImmediate();
      await balance("refused", "connect");
      await balance("refused", "grpc");
      await deposit("refused", "connect", 100n, `refused ${secret}`);
      await deposit("refused", "grpc", 100n, `refused ${secret}`);
      await cluster.start();
      // 4. Back: bankd reconnects by itself.
      // Past the deadline, the check below reports the last answer as the problem.
      let recovered: CallRecord | undefined;
      await waitUntil("bankd serves GetBalance again after the database came back", async () => {
        await balance("recovered", "connect");
        recovered = calls[calls.length - 1];
        return recovered!.code === "ok";
      }, { timeoutMs: 20_000, intervalMs: 200 }).catch(() => undefined);

      const expected: Record<string, string[]> = { "unique-first": ["ok"], "unique-violation": ["internal"], "check-violation": ["internal"], "register-check-violation": ["internal"], refused: ["unavailable"], recovered: ["ok", "unavailable"] };
      const problems: string[] = [];
      const logs = bankd.logLines();
      for (const c of calls) problems.push(...checkCall(c, expected[c.name]!, logs, [secret, password, databaseUrl, dataDir, String(cluster.port)], password));
      if (recovered?.code !== "ok") problems.push(`bankd did not serve again after the database came back: ${recovered?.code}`);
      report(SCENARIO, { seed, operations: calls.length, codes: calls.map((c) => `${c.name}/${c.protocol}=${c.code}`), retries: calls.filter((c) => c.name === "recovered").length - 1, kills: 0, databaseStops: 1 });
      expect(problems).toEqual([]);
    },
    4 * MINUTE,
  );
});

function codeOf(res: RawResponse, protocol: "connect" | "grpc"): string {
  if (protocol === "connect") return connectCode(res);
  const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"] ?? "missing";
  return GRPC_CODE[status] ?? `grpc-${status}`;
}

/** What the client received for one call: the expected code, nothing leaked, its correlation id
 * echoed and found on an error-level bankd log line that carries no password or password hash. */
function checkCall(c: CallRecord, expected: string[], logs: readonly string[], secrets: string[], password: string): string[] {
  const label = `${c.name}/${c.protocol}`;
  const problems: string[] = [];
  if (!expected.includes(c.code)) problems.push(`${label}: ${c.code}, expected ${expected.join(" or ")}: ${c.res.body.toString("utf8").slice(0, 300)}`);
  if (c.code === "ok") return problems;
  const found = leaks(wireText(c.res), secrets);
  if (found.length > 0) problems.push(`${label}: the client received ${found.join(", ")}: ${wireText(c.res).slice(0, 500)}`);
  const echoed = c.res.headers["x-request-id"] ?? c.res.trailers["x-request-id"];
  if (echoed !== c.requestId) problems.push(`${label}: x-request-id ${echoed}, sent ${c.requestId}`);
  const line = logs.find((l) => l.includes(`"requestId":"${c.requestId}"`));
  if (!line) return [...problems, `${label}: no bankd log line carries the correlation id ${c.requestId}`];
  if (!/"level":(50|60)/.test(line)) problems.push(`${label}: its log line is not at error level: ${line.slice(0, 200)}`);
  // The log may explain the failure, but never with a password or a password hash.
  if (line.includes(password)) problems.push(`${label}: its log line carries the password`);
  if (/\$argon2(id|i|d)\$/.test(line)) problems.push(`${label}: its log line carries an argon2 password hash: ${line.replace(/\$argon2[^'"\s,]*/g, "$argon2…").slice(0, 400)}`);
  return problems;
}
