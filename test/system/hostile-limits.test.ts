// Goal (issue 6, scenario 6, second half): resource limits hold against hostile clients. A
// message above the 1 MiB limit (Connect and gRPC, and a gRPC length prefix that lies), a
// compression bomb (a small gzip body that inflates far beyond the limit), 1,000 concurrent
// streams on one HTTP/2 connection and 200 concurrent logins (production argon2 costs) are
// refused cleanly (RESOURCE_EXHAUSTED or a refused stream, never INTERNAL), bankd's resident
// memory (process_resident_memory_bytes from /metrics) stays bounded, bankd stays up, and a
// bystander client on its own connection is served throughout.
import * as http2 from "node:http2";
import * as zlib from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { GetBalanceRequestSchema } from "../../gen/bank/v1/account_service_pb";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb";
import { limits } from "../../src/limits";
import { BankdProcess } from "./support/bankd-process";
import { api, setupBank, viewError, type Bank } from "./support/bank-api";
import { connectCode, connectJson, grpcCall, grpcFrame, postHttp1, type RawResponse } from "./support/raw-calls";
import { report, scenarioSeed, sleep } from "./support/rng";
import { describeOnPostgres, mainClusterDatabase, MINUTE, unexpectedFailures } from "./support/scenario";
import type { TestDatabase } from "../support/db";

const SCENARIO = "hostile-limits";
const MiB = 1024 * 1024;
/** Resident memory may grow this much above its level before a storm, never more. */
const RSS_GROWTH_MAX = 256 * MiB;
/** While a storm runs (its loops stop with it): how often RSS is sampled, and the bystander's
 * pause between its calls (the bystander is a light client, not part of the storm). */
const RSS_SAMPLE_EVERY_MS = 100;
const BYSTANDER_PAUSE_MS = 100;

const GRPC_NAMES: Record<string, string> = { "0": "ok", "8": "resource_exhausted", "12": "unimplemented", "13": "internal", "14": "unavailable", "3": "invalid_argument", "2": "unknown", "16": "unauthenticated" };
const grpcCode = (res: RawResponse) => GRPC_NAMES[res.trailers["grpc-status"] ?? res.headers["grpc-status"] ?? ""] ?? `grpc-${res.trailers["grpc-status"] ?? res.headers["grpc-status"] ?? "none"}`;

describeOnPostgres("system: resource limits against hostile clients (PostgreSQL)", () => {
  let db: TestDatabase;
  let bankd: BankdProcess;
  let bank: Bank;
  let seed: number;
  const peaks: Record<string, number> = {};

  beforeAll(async () => {
    seed = scenarioSeed(SCENARIO);
    db = await mainClusterDatabase();
    // Production argon2 costs: the login storm must meet the real hashing price.
    bankd = await BankdProcess.start({ databaseUrl: db.url, dataDir: db.dataDir, env: { BANK_ARGON2_MEMORY_KIB: "19456", BANK_ARGON2_TIME_COST: "2" } });
    bank = await setupBank(bankd.url, { users: 1, accountsPerUser: 1, currencies: ["USD"], fundingMinor: 1_000n, label: `s${seed}` });
  }, 2 * MINUTE);

  afterAll(async () => {
    report(SCENARIO, { seed, peakRssMiB: peaks, kills: 0, retries: 0 });
    await bankd?.stop();
    await db?.drop();
  }, MINUTE);

  /** Runs `storm` while sampling RSS and serving a bystander; checks both afterwards. */
  async function underStorm<T>(name: string, storm: () => Promise<T>): Promise<T> {
    const baseline = await bankd.residentBytes();
    let peak = baseline;
    let running = true;
    const bystander = { ok: 0, failed: [] as string[] };
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, await bankd.residentBytes().catch(() => peak));
        await sleep(RSS_SAMPLE_EVERY_MS);
      }
    })();
    const user = bank.users[0]!;
    const served = (async () => {
      while (running) {
        try {
          await api(AuthService, bankd.url, { token: user.token }).getCurrentUser({}, { timeoutMs: 10_000 });
          bystander.ok++;
        } catch (err) {
          const e = viewError(err);
          bystander.failed.push(`${e.codeName} ${e.reason ?? ""} ${e.message}`);
        }
        await sleep(BYSTANDER_PAUSE_MS);
      }
    })();
    try {
      return await storm();
    } finally {
      running = false;
      await Promise.all([sampler, served]);
      peaks[name] = Math.round(peak / MiB);
      expect(bankd.running).toBe(true);
      expect(bystander.failed).toEqual([]);
      expect(bystander.ok).toBeGreaterThan(0);
      expect(peak - baseline).toBeLessThan(RSS_GROWTH_MAX);
      expect(unexpectedFailures(bankd.logLines())).toEqual([]);
    }
  }

  test("a message above the size limit is RESOURCE_EXHAUSTED (Connect, gRPC, lying length prefix)", async () => {
    const codes = await underStorm("oversized", async () => {
      const big = "A".repeat(limits.messageBytesMax + 512 * 1024);
      const connect = await connectJson(bankd.url, "bank.v1.AuthService/Register", { email: "x@example.test", password: "p", fullName: big });
      const grpc = await grpcCall(bankd.url, "grpc.health.v1.Health/Check", grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: big }))));
      // Claims 2 GiB but sends 3 bytes: refused from the prefix, without waiting for the rest.
      const lying = grpcFrame(Buffer.from("abc"));
      lying.writeUInt32BE(0x7fffffff, 1);
      const prefix = await grpcCall(bankd.url, "bank.v1.AuthService/GetJwks", lying);
      // 20 MiB: bankd answers at once and closes; the client may see the answer or, still
      // writing, a reset connection. (Errors from Node's core fail instanceof under jest.)
      const twenty = await postHttp1(bankd.url, "/bank.v1.AuthService/Login", Buffer.alloc(20 * MiB, 0x20), { "content-type": "application/json", "connect-protocol-version": "1" }).catch((e: { code?: string }) => e);
      return { connect: connectCode(connect), grpc: grpcCode(grpc), prefix: grpcCode(prefix), twentyMiB: "status" in twenty ? connectCode(twenty as RawResponse) : `closed ${twenty.code}` };
    });
    report(SCENARIO, { case: "oversized", codes });
    expect(codes.connect).toBe("resource_exhausted");
    expect(codes.grpc).toBe("resource_exhausted");
    expect(codes.prefix).toBe("resource_exhausted");
    expect(codes.twentyMiB).toMatch(/^(resource_exhausted|closed (ECONNRESET|EPIPE))$/);
  }, 3 * MINUTE);

  test("a compression bomb (gzip, 1000:1) is refused without inflating it", async () => {
    // 256 MiB of 'A' inside a JSON string, gzipped to a few hundred KiB.
    const inflated = 256 * MiB;
    const gz = zlib.createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on("data", (c: Buffer) => chunks.push(c));
    const done = new Promise((resolve) => gz.on("end", resolve));
    gz.write('{"email":"bomb@example.test","password":"x","fullName":"');
    const block = Buffer.alloc(MiB, 0x41);
    for (let i = 0; i < inflated / MiB; i++) gz.write(block);
    gz.end('"}');
    await done;
    const bomb = Buffer.concat(chunks);
    const codes = await underStorm("compression-bomb", async () => {
      const connect = await Promise.all(
        Array.from({ length: 8 }, () =>
          postHttp1(bankd.url, "/bank.v1.AuthService/Register", bomb, { "content-type": "application/json", "content-encoding": "gzip", "connect-protocol-version": "1" }),
        ),
      );
      const grpc = await grpcCall(bankd.url, "bank.v1.AuthService/Register", grpcFrame(bomb, true), undefined, { "grpc-encoding": "gzip" });
      return { connect: [...new Set(connect.map(connectCode))], grpc: grpcCode(grpc), compressedBytes: bomb.length };
    });
    report(SCENARIO, { case: "compression-bomb", codes });
    for (const code of [...codes.connect, codes.grpc]) expect(["resource_exhausted", "unimplemented", "invalid_argument"]).toContain(code);
  }, 3 * MINUTE);

  test("1,000 concurrent streams on one HTTP/2 connection: served or refused cleanly", async () => {
    const user = bank.users[0]!;
    const account = bank.accounts[0]!;
    const outcomes = await underStorm("streams", async () => {
      const session = http2.connect(bankd.url, { peerMaxConcurrentStreams: 10_000 });
      session.on("error", () => undefined);
      const frame = grpcFrame(toBinary(GetBalanceRequestSchema, create(GetBalanceRequestSchema, { accountId: account.id })));
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () =>
          new Promise<string>((resolve) => {
            let req: http2.ClientHttp2Stream;
            try {
              req = session.request({ ":method": "POST", ":path": "/bank.v1.AccountService/GetBalance", "content-type": "application/grpc+proto", te: "trailers", authorization: `Bearer ${user.token}` });
            } catch (err) {
              resolve(`client refused: ${(err as { code?: string }).code ?? (err as Error).message}`);
              return;
            }
            let status = "";
            req.on("response", (h) => (status = String(h["grpc-status"] ?? status)));
            req.on("trailers", (t) => (status = String(t["grpc-status"] ?? status)));
            req.on("data", () => undefined);
            req.on("close", () => resolve(status !== "" ? GRPC_NAMES[status] ?? `grpc-${status}` : `reset ${req.rstCode}`));
            req.on("error", () => undefined);
            req.end(frame);
          }),
        ),
      );
      session.close();
      const counts: Record<string, number> = {};
      for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
      return counts;
    });
    report(SCENARIO, { case: "1000-streams", outcomes });
    // Each stream was served or refused as a stream (REFUSED_STREAM = 7, or a clean gRPC code).
    const unclean = Object.keys(outcomes).filter((k) => !["ok", "resource_exhausted", "unavailable", "reset 7", "reset 11"].includes(k));
    expect(unclean).toEqual([]);
    expect(outcomes.ok ?? 0).toBeGreaterThan(0);
  }, 3 * MINUTE);

  test("200 concurrent logins: served or RESOURCE_EXHAUSTED, never INTERNAL", async () => {
    const user = bank.users[0]!;
    const outcomes = await underStorm("logins", async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, () =>
          connectJson(bankd.url, "bank.v1.AuthService/Login", { email: user.email, password: user.password }).then(connectCode, (e: Error) => `no answer: ${e.message}`),
        ),
      );
      const counts: Record<string, number> = {};
      for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
      return counts;
    });
    report(SCENARIO, { case: "200-logins", outcomes });
    expect(Object.keys(outcomes).filter((k) => !["ok", "resource_exhausted"].includes(k))).toEqual([]);
    expect(outcomes.ok ?? 0).toBeGreaterThan(0);
  }, 3 * MINUTE);
});
