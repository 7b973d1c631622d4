// Goal: BANK_WORKERS=2 serves one port from two processes that are each a whole bankd on the same
// database: connections are spread over both, money moved through one is seen by the other with
// no loss or duplicate (request_id replays across processes), and SIGTERM to the primary drains
// both and exits 0, leaving nothing listening. On SQLite and, with BANK_TEST_POSTGRES_URL,
// PostgreSQL.
import * as net from "node:net";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { client, FAST_ARGON2, LENIENT_REGISTRATION } from "../support/app";
import { createTestDatabase, engines, type TestDatabase } from "../support/db";
import { strongPassword, uniqueEmail } from "../support/users";
import { connectJson } from "../system/support/raw-calls";

const REPO = path.resolve(__dirname, "../..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

interface Line {
  msg?: string;
  worker?: number;
  pid?: number;
  method?: string;
}

describe.each(engines())("BANK_WORKERS=2 on %s", (engine) => {
  let db: TestDatabase;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  const lines: Line[] = [];
  let baseUrl = "";

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
      cwd: REPO,
      env: { ...process.env, ...FAST_ARGON2, ...LENIENT_REGISTRATION, BANK_WORKERS: "2", BANK_PORT: String(port), BANK_GRPC_PORT: "off", BANK_DATA_DIR: db.dataDir, BANK_DATABASE_URL: db.url, BANK_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let buffered = "";
    let output = "";
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        buffered += d.toString();
        output += d.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const part of parts) {
          try {
            lines.push(JSON.parse(part) as Line);
          } catch {
            // not a log line
          }
        }
        if (lines.filter((l) => l.msg === "bankd serving").length === 2) resolve();
      });
      void exited.then(() => reject(new Error(`bankd exited before both workers served:\n${output}`)));
    });
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await db.drop();
  });

  test("two worker processes serve the port; money moved through either is the same ledger; SIGTERM drains both", async () => {
    const serving = lines.filter((l) => l.msg === "bankd serving");
    expect(new Set(serving.map((l) => l.worker))).toEqual(new Set([0, 1]));
    expect(new Set(serving.map((l) => l.pid)).size).toBe(2);

    const email = uniqueEmail("workers");
    const password = strongPassword();
    await client(baseUrl, AuthService).register({ email, password, fullName: "Worker Test" });
    const token = (await client(baseUrl, AuthService).login({ email, password })).accessToken;
    const account = (await client(baseUrl, AccountService, { token }).createAccount({ requestId: `w-open-${Date.now()}`, currency: "USD", type: AccountType.CHECKING, displayName: "w" })).account!;

    // Each raw call is its own connection, so the primary spreads them over the workers; each
    // deposit is sent twice with the same request_id (the replay may land on the other worker).
    const ids = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const requestId = `w-dep-${Date.now()}-${i}`;
      for (let k = 0; k < 2; k++) {
        const res = await connectJson(baseUrl, "bank.v1.TransactionService/Deposit", { requestId, accountId: account.id, amount: { currency: "USD", minorUnits: "100" } }, token);
        expect(res.status).toBe(200);
        const id = (JSON.parse(res.body.toString("utf8")) as { transaction: { id: string } }).transaction.id;
        if (k === 0) ids.set(requestId, id);
        else expect(id).toBe(ids.get(requestId));
      }
    }
    const workersThatServedDeposits = new Set(lines.filter((l) => l.method === "bank.v1.TransactionService/Deposit").map((l) => l.worker));
    expect(workersThatServedDeposits).toEqual(new Set([0, 1]));
    const balance = await client(baseUrl, AccountService, { token }).getBalance({ accountId: account.id });
    expect(balance.ledgerBalance!.minorUnits).toBe(1_200n);
    expect((await client(baseUrl, TransactionService, { token }).listTransactions({ accountId: account.id, pageSize: 100 })).entries).toHaveLength(12);

    const pids = new Set(lines.filter((l) => l.msg === "bankd serving").map((l) => l.pid!));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.filter((l) => l.msg === "bankd stopped")).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(await portOpen(Number(new URL(baseUrl).port))).toBe(false);
  }, 90_000);
});
