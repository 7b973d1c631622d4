// Goal (issue 6, scenario 6, first half): fast-check sends random and malformed messages to
// every method of every bank.v1 service over the Connect protocol (JSON and binary bodies: wrong
// types, huge strings, negative and overflowing int64, invalid UTF-8, unknown enum values, empty
// and absurd page sizes and timestamps, truncated JSON, broken protobuf) with no token, a garbage
// token, a customer's and an admin's: bankd never answers INTERNAL (or UNKNOWN, or a 5xx), never
// puts a stack or driver text in an answer, never crashes, and writes nothing — the row count of
// every table is unchanged, except the records bankd legitimately keeps of refused calls: audit
// events with outcome DENIED or FAILED, login throttling counters, and idempotency records of
// business failures (AIP-155 replays them).
import fc from "fast-check";
import type { DescService } from "@bufbuild/protobuf";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { bankServices } from "../../src/app";
import { BankdProcess, runCli } from "./support/bankd-process";
import { api, setupBank, signInNewStaff, type Session } from "./support/bank-api";
import { hostileBodies } from "./support/hostile";
import { openProbe, tableCounts, type Probe } from "./support/probe";
import { connectCode, grpcCall, grpcFrame, postHttp1, wireText } from "./support/raw-calls";
import { report, scenarioSeed } from "./support/rng";
import { describeOnPostgres, leaks, mainClusterDatabase, MINUTE, unexpectedFailures } from "./support/scenario";
import { strongPassword, uniqueEmail } from "../support/users";
import type { TestDatabase } from "../support/db";

const SCENARIO = "hostile-input";
const RUNS_PER_METHOD = Number(process.env.BANK_SYSTEM_FUZZ_RUNS ?? 40);
/** Methods whose legitimate effect needs nothing but a valid token (Logout ends the session):
 * fuzzed without a valid token, so that "nothing written" stays a fair check. */
const TOKEN_ONLY_EFFECT = new Set(["bank.v1.AuthService/Logout"]);

type TokenKind = "none" | "garbage" | "customer" | "admin";

describeOnPostgres("system: hostile input over the Connect protocol (PostgreSQL)", () => {
  let db: TestDatabase;
  let bankd: BankdProcess;
  let probe: Probe;
  let customer: Session;
  let adminToken: string;
  let before: Record<string, number>;
  let seed: number;
  const stats = { requests: 0, codes: {} as Record<string, number> };
  /** Distinct failures (by service, kind and message shape, numbers and ids blanked), each with
   * the procedures it hit and one example. */
  const failures = new Map<string, { count: number; procedures: Set<string>; example: string }>();
  const failure = (procedure: string, kind: string, example: string) => {
    const signature = `${procedure.split("/")[0]} ${kind.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>").replace(/\d+/g, "N").slice(0, 120)}`;
    const f = failures.get(signature) ?? { count: 0, procedures: new Set<string>(), example: `${procedure}: ${example}` };
    f.count++;
    f.procedures.add(procedure.split("/")[1]!);
    failures.set(signature, f);
  };

  beforeAll(async () => {
    seed = scenarioSeed(SCENARIO);
    db = await mainClusterDatabase();
    bankd = await BankdProcess.start({ databaseUrl: db.url, dataDir: db.dataDir });
    const bank = await setupBank(bankd.url, { users: 1, accountsPerUser: 2, currencies: ["USD", "EUR"], fundingMinor: 10_000n, label: `s${seed}` });
    customer = bank.users[0]!;
    const adminEmail = uniqueEmail("admin");
    const adminPassword = strongPassword();
    const created = await runCli(["create-user", "--email", adminEmail, "--full-name", "Fuzz Admin", "--role", "admin", "--password-stdin"], { databaseUrl: db.url, dataDir: db.dataDir, stdin: adminPassword });
    if (created.code !== 0) throw new Error(`create-user failed: ${created.stderr}`);
    adminToken = (await signInNewStaff(bankd.url, adminEmail, adminPassword)).token;
    probe = await openProbe(db.url);
    before = await countsThatMustNotChange(probe);
  }, 2 * MINUTE);

  afterAll(async () => {
    await probe?.close();
    await bankd?.stop();
    await db?.drop();
  }, MINUTE);

  const token = (kind: TokenKind): string | undefined =>
    kind === "customer" ? customer.token : kind === "admin" ? adminToken : kind === "garbage" ? "eyJhbGciOiJub25lIn0.e30." : undefined;

  test.each(bankServices.map((s) => [s.typeName, s] as [string, DescService]))(
    "%s: every method refuses hostile bodies cleanly",
    async (_name, service) => {
      for (const [index, method] of service.methods.entries()) {
        const procedure = `${service.typeName}/${method.name}`;
        const kinds: TokenKind[] = TOKEN_ONLY_EFFECT.has(procedure) ? ["none", "garbage"] : ["none", "garbage", "customer", "admin"];
        await fc.assert(
          fc.asyncProperty(hostileBodies(method), fc.constantFrom(...kinds), async (body, kind) => {
            const t = token(kind);
            let res;
            try {
              res = await postHttp1(bankd.url, `/${procedure}`, body.body, {
                "content-type": body.contentType,
                "connect-protocol-version": "1",
                ...(t ? { authorization: `Bearer ${t}` } : {}),
              });
            } catch (err) {
              failure(procedure, "no answer", `${body.label}, token ${kind}: ${(err as Error).message}; bankd running: ${bankd.running}`);
              return;
            }
            stats.requests++;
            const code = connectCode(res);
            stats.codes[code] = (stats.codes[code] ?? 0) + 1;
            const text = res.body.toString("utf8").slice(0, 200);
            if (["internal", "unknown", "data_loss"].includes(code) || res.status >= 500) {
              failure(procedure, `${code} ${text}`, `${body.label}, token ${kind}, body ${body.body.subarray(0, 40).toString("hex")}: HTTP ${res.status} ${text}`);
            }
            const found = leaks(wireText(res), [], ["sql-error", "driver", "stack"]);
            if (found.length > 0) failure(procedure, `leaks ${found.join(",")}`, `${body.label}: ${wireText(res).slice(0, 300)}`);
          }),
          { seed: (seed + index * 7919 + service.typeName.length) | 0, numRuns: RUNS_PER_METHOD },
        );
        expect(bankd.running).toBe(true);
      }
      const mine = [...failures.entries()].filter(([signature]) => signature.startsWith(`${service.typeName} `));
      expect(mine.map(([signature, f]) => `${signature} (x${f.count} in ${[...f.procedures].join(", ")}) e.g. ${f.example}`)).toEqual([]);
    },
    5 * MINUTE,
  );

  test("malformed binary messages over gRPC and gRPC-Web are refused as INVALID_ARGUMENT too", async () => {
    const malformed: [string, Buffer][] = [
      ["overlong varint", Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
      ["length beyond body", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x61])],
      ["invalid UTF-8", Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd])],
    ];
    const answers: string[] = [];
    for (const [label, message] of malformed) {
      const grpc = await grpcCall(bankd.url, "bank.v1.AuthService/Login", grpcFrame(message));
      answers.push(`grpc ${label}: ${grpc.trailers["grpc-status"] ?? grpc.headers["grpc-status"]} ${decodeURIComponent(grpc.trailers["grpc-message"] ?? "")}`);
      const web = await postHttp1(bankd.url, "/bank.v1.AuthService/Login", grpcFrame(message), { "content-type": "application/grpc-web+proto" });
      const status = /grpc-status: ?(\d+)/.exec(web.body.toString("latin1"))?.[1] ?? web.headers["grpc-status"];
      answers.push(`grpc-web ${label}: ${status}`);
    }
    // 3 = INVALID_ARGUMENT; 13 = INTERNAL is the failure this guards against.
    expect(answers.filter((a) => !/: 3\b/.test(a))).toEqual([]);
  });

  test("afterwards: bankd alive, nothing written, sessions intact, no INTERNAL logged", async () => {
    const after = await countsThatMustNotChange(probe);
    report(SCENARIO, { seed, operations: stats.requests, codes: stats.codes, distinctFailures: failures.size, runsPerMethod: RUNS_PER_METHOD, retries: 0, kills: 0, countsBefore: before, countsAfter: after });
    expect(bankd.running).toBe(true);
    expect(after).toEqual(before);
    // The fuzzing neither signed the customer nor the admin out.
    await expect(api(AuthService, bankd.url, { token: customer.token }).getCurrentUser({})).resolves.toBeTruthy();
    await expect(api(AuthService, bankd.url, { token: adminToken }).getCurrentUser({})).resolves.toBeTruthy();
    expect(unexpectedFailures(bankd.logLines())).toEqual([]);
  });
});

/** Row counts of every table, minus the rows bankd rightly writes for refused calls. */
async function countsThatMustNotChange(probe: Probe): Promise<Record<string, number>> {
  const counts = await tableCounts(probe);
  delete counts.login_throttle;
  const one = async (sql: string) => Number((await probe.all<{ n: unknown }>(sql))[0]?.n ?? 0);
  counts.audit_events = await one(`SELECT COUNT(*) AS n FROM audit_events WHERE outcome = 'SUCCESS'`);
  counts.idempotency_keys = await one(`SELECT COUNT(*) AS n FROM idempotency_keys WHERE outcome NOT LIKE '{"error"%'`);
  return counts;
}

