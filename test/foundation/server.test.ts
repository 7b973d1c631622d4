// Goal: one port serves gRPC over cleartext HTTP/2 and Connect/gRPC-Web over HTTP/1.1, with the
// standard health and reflection services, explicit limits, metrics, and UNIMPLEMENTED (with an
// ErrorInfo reason) for methods no later issue has filled yet.
import { httpGet as get } from "../support/http";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { engines } from "../support/db";
import { metricsText } from "../support/metrics";
import { client, startTestApp, type TestApp } from "../support/app";
import { limits } from "../../src/limits";

const run = promisify(execFile);
const BUF = path.resolve("node_modules/.bin/buf");

describe.each(engines())("server on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  test("health answers SERVING over gRPC (HTTP/2), Connect and gRPC-Web (HTTP/1.1)", async () => {
    for (const protocol of ["grpc", "connect", "grpcweb"] as const) {
      const res = await client(t.baseUrl, Health, { protocol }).check({ service: "" });
      expect(res.status).toBe(Status.SERVING);
    }
    const res = await client(t.baseUrl, Health).check({ service: "bank.v1.TransactionService" });
    expect(res.status).toBe(Status.SERVING);
  });

  test("health: an unknown service is NOT_FOUND", async () => {
    await expect(client(t.baseUrl, Health, { protocol: "grpc" }).check({ service: "nope.v1.Nope" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  test("a @grpc/grpc-js client over h2c gets SERVING", async () => {
    const def = protoLoader.loadSync(path.resolve("node_modules/grpc-health-check/proto/health/v1/health.proto"), { enums: String });
    type Callback = (err: Error | null, value: { status: string }) => void;
    type HealthClient = grpc.Client & { check(req: { service: string }, cb: Callback): void };
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } } };
    const health = new pkg.grpc.health.v1.Health(`127.0.0.1:${t.app.server.port}`, grpc.credentials.createInsecure());
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: "" }, (err, value) => (err ? reject(err) : resolve(value))),
    );
    health.close();
    expect(res.status).toBe("SERVING");
  });

  test("buf curl lists every service by reflection and checks health, with no .proto at hand", async () => {
    const list = await run(BUF, ["curl", "--http2-prior-knowledge", "--reflect", "--list-services", t.baseUrl], { cwd: "/" });
    const services = list.stdout.trim().split("\n");
    for (const name of ["bank.v1.AuthService", "bank.v1.AccountService", "bank.v1.TransactionService", "bank.v1.AdminService", "bank.v1.AuditService", "grpc.health.v1.Health"]) {
      expect(services).toContain(name);
    }
    const check = await run(BUF, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", "--reflect", `${t.baseUrl}/grpc.health.v1.Health/Check`], { cwd: "/" });
    expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
    // The v1alpha reflection service answers too (older grpcurl builds use it).
    const alpha = await run(BUF, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", "--reflect-protocol", "grpc-v1alpha", "--list-methods", t.baseUrl], { cwd: "/" });
    expect(alpha.stdout).toContain("grpc.health.v1.Health/Check");
    expect(alpha.stdout).toContain("bank.v1.TransactionService/Transfer");
  });

  test("GET /metrics serves Prometheus text with RPC counts by method and code, only with its token", async () => {
    await client(t.baseUrl, Health).check({ service: "" });
    // Not public (security W12): no token or a wrong one is a 404, as if the route did not exist.
    expect((await get(`${t.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(404);
    const text = { body: await metricsText(t.baseUrl) };
    expect(text.body).toMatch(/bankd_rpc_total\{method="grpc.health.v1.Health\/Check",code="OK"\} \d+/);
    expect(text.body).toContain("bankd_rpc_duration_seconds_bucket");
    expect(text.body).toContain("bankd_db_pool_connections");
    expect(text.body).toContain("process_cpu_user_seconds_total");
  });

  test("a message above the size limit is refused with RESOURCE_EXHAUSTED", async () => {
    const huge = "x".repeat(limits.messageBytesMax + 10);
    const err = await client(t.baseUrl, Health).check({ service: huge }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.ResourceExhausted);
  });

  test("a deadline above the maximum is clamped to it, not refused (test/transport/deadlines.test.ts checks the handler's view)", async () => {
    const res = await client(t.baseUrl, Health, { protocol: "grpc" }).check({ service: "" }, { timeoutMs: limits.deadlineMsMax + 60_000 });
    expect(res.status).toBe(Status.SERVING);
  });

  test("unknown paths are 404; responses carry x-request-id", async () => {
    expect((await get(`${t.baseUrl}/no/such/path`)).status).toBe(404);
    let requestId: string | null = null;
    let cacheControl: string | null = null;
    let hsts: string | null = "unset";
    await client(t.baseUrl, Health).check({ service: "" }, { onHeader: (h) => ((requestId = h.get("x-request-id")), (cacheControl = h.get("cache-control")), (hsts = h.get("strict-transport-security"))) });
    // API answers are never cached (security W12); no HSTS without TLS.
    expect([cacheControl, hsts]).toEqual(["no-store", null]);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

