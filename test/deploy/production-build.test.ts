// The production path: `npm run build` into a fresh directory (the migrations' SQL included),
// production dependencies only (`npm prune --omit=dev`), then `node dist/src/main.js` there on
// SQLite (its start applies the migrations from dist/). It must serve (health over gRPC,
// `bankd healthcheck`, a sign-up and a transfer through a real client, a call on the gRPC port
// (@grpc/grpc-js is a production dependency), the prebuilt console and API explorer) with no
// devDependency installed, and write nothing outside BANK_DATA_DIR. `bankd healthcheck` is also
// checked against the stopped server (exit 1).
import * as fs from "node:fs";
import * as path from "node:path";
import { builtinModules } from "node:module";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { api, signUp } from "../system/support/bank-api";
import { freePort } from "../system/support/ports";
import { FAST_ARGON2, LENIENT_REGISTRATION } from "../support/app";
import { installProduction, REPO_ROOT, runNode, startNode, treeChanges, treeSnapshot, type NodeProcess, type ProductionInstall } from "./support/production-app";

let install: ProductionInstall;

beforeAll(async () => {
  install = await installProduction();
}, 120_000);

afterAll(() => install?.remove());

test("the build holds the server, its migrations' SQL, the console, the explorer's assets and its document", () => {
  const dist = path.join(install.appDir, "dist");
  for (const file of ["src/main.js", "src/cli.js", "gen/openapi/bankd.openapi.json", "console/index.html", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css"]) {
    expect(fs.existsSync(path.join(dist, file))).toBe(true);
  }
  const assets = fs.readdirSync(path.join(dist, "console", "assets"));
  expect(assets.some((n) => /^app-.*\.js$/.test(n))).toBe(true);
  // No source maps ship with the console (security W12), nor does its bundle point at one.
  expect(assets.filter((n) => n.endsWith(".map"))).toEqual([]);
  const app = assets.find((n) => /^app-.*\.js$/.test(n))!;
  expect(fs.readFileSync(path.join(dist, "console", "assets", app), "utf8")).not.toMatch(/sourceMappingURL/);
  // Every migration folder's SQL and migration.json ship beside the compiled loader, unchanged
  // (src/db/migrations/index.ts reads them at run time; the start below applies them).
  const source = path.join(REPO_ROOT, "src", "db", "migrations");
  const folders = fs.readdirSync(source, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  expect(folders.length).toBeGreaterThan(0);
  expect(fs.existsSync(path.join(dist, "src", "db", "migrations", "index.js"))).toBe(true);
  for (const folder of folders) {
    for (const file of fs.readdirSync(path.join(source, folder)).filter((f) => !f.endsWith(".ts"))) {
      expect({ file: `${folder}/${file}`, same: fs.readFileSync(path.join(dist, "src", "db", "migrations", folder, file), "utf8") === fs.readFileSync(path.join(source, folder, file), "utf8") })
        .toEqual({ file: `${folder}/${file}`, same: true });
    }
  }
  // The pruned install really lacks the devDependencies (so the run below proves something).
  for (const dev of ["esbuild", "tsx", "typescript", "jest"]) expect(fs.existsSync(path.join(install.appDir, "node_modules", dev))).toBe(false);
});

test("the compiled server imports only Node's modules and production dependencies", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const allowed = new Set(Object.keys(pkg.dependencies));
  const builtins = new Set(builtinModules);
  const offending: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".js")) {
        const text = fs.readFileSync(full, "utf8");
        for (const match of text.matchAll(/require\("([^"]+)"\)|import\("([^"]+)"\)/g)) {
          const spec = match[1] ?? match[2]!;
          if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
          if (!allowed.has(name)) offending.push(`${path.relative(install.appDir, full)}: ${spec}`);
        }
      }
    }
  };
  walk(path.join(install.appDir, "dist", "src"));
  walk(path.join(install.appDir, "dist", "gen"));
  // src/web/build.ts loads esbuild only when the development server builds the console.
  expect(offending.filter((o) => !/src\/web\/build\.js: esbuild$/.test(o))).toEqual([]);
});

describe("node dist/src/main.js with production dependencies only", () => {
  let server: NodeProcess | undefined;
  afterEach(() => server?.child.kill("SIGKILL"));

  test("serves health, a sign-up and a transfer, writes only under BANK_DATA_DIR, and healthcheck follows it", async () => {
    const dataDir = path.join(install.root, "data");
    const port = await freePort();
    const grpcPort = await freePort();
    const env = {
      BANK_HOST: "127.0.0.1",
      BANK_PORT: String(port),
      BANK_GRPC_PORT: String(grpcPort),
      BANK_DATA_DIR: dataDir,
      BANK_LOG_LEVEL: "info",
      HOME: path.join(install.root, "data", "home-unused"),
      ...FAST_ARGON2,
      ...LENIENT_REGISTRATION,
    };
    const before = treeSnapshot(install.appDir);
    const rootBefore = fs.readdirSync(install.root).sort();

    server = startNode(["dist/src/main.js"], install.appDir, env);
    const s = server;
    await new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (/"msg":"bankd serving"/.test(s.output())) resolve();
      };
      s.child.stdout!.on("data", onData);
      s.child.stderr!.on("data", onData);
      void s.exited.then((exit) => reject(new Error(`bankd exited during start (${JSON.stringify(exit)}):\n${s.output()}`)));
    });
    const baseUrl = `http://127.0.0.1:${port}`;

    // grpc.health.v1 over gRPC (HTTP/2), as a balancer or Kubernetes probes it.
    const health = await createClient(Health, createGrpcTransport({ baseUrl, idleConnectionTimeoutMs: 1_000 })).check({ service: "" });
    expect(health.status).toBe(Status.SERVING);
    const live = await runNode(["dist/src/main.js", "healthcheck"], install.appDir, env);
    expect(live).toMatchObject({ code: 0 });
    expect(live.output).toMatch(/SERVING/);

    // A customer signs up, opens two accounts, deposits, and transfers between them.
    const user = await signUp(baseUrl, "prod");
    const accounts = api(AccountService, baseUrl, { token: user.token });
    const money = api(TransactionService, baseUrl, { token: user.token });
    const a = (await accounts.createAccount({ requestId: "prod-open-a", currency: "USD", type: AccountType.CHECKING, displayName: "a" })).account!;
    const b = (await accounts.createAccount({ requestId: "prod-open-b", currency: "USD", type: AccountType.CHECKING, displayName: "b" })).account!;
    await money.deposit({ requestId: "prod-dep", accountId: a.id, amount: { currency: "USD", minorUnits: 10_000n }, description: "funding" });
    await money.transfer({ requestId: "prod-xfer", fromAccountId: a.id, target: { case: "toAccountId", value: b.id }, amount: { currency: "USD", minorUnits: 2_500n }, description: "rent" });
    expect((await accounts.getAccount({ accountId: a.id })).account?.ledgerBalance?.minorUnits).toBe(7_500n);
    expect((await accounts.getAccount({ accountId: b.id })).account?.ledgerBalance?.minorUnits).toBe(2_500n);

    // The gRPC port of the built server, served by grpc-js from the production dependencies.
    const getAccount = AccountService.method.getAccount;
    const viaGrpcPort = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${user.token}`);
    const onPort = await new Promise<{ error: grpc.ServiceError | null; balance?: bigint }>((resolve) =>
      viaGrpcPort.makeUnaryRequest(`/${AccountService.typeName}/${getAccount.name}`, (m: Buffer) => m, (b: Buffer) => fromBinary(getAccount.output, b), Buffer.from(toBinary(getAccount.input, create(getAccount.input, { accountId: b.id }))), md, (error, res) =>
        resolve({ error, balance: res?.account?.ledgerBalance?.minorUnits }),
      ),
    );
    viaGrpcPort.close();
    expect(onPort).toEqual({ error: null, balance: 2_500n });

    // The prebuilt console and the explorer, from dist/ (no esbuild, no web/ here).
    for (const [url, type] of [["/", /text\/html/], ["/docs", /text\/html/], ["/openapi.json", /application\/json/]] as const) {
      const res = await fetch(`${baseUrl}${url}`);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
      expect(res.headers.get("content-type")).toMatch(type);
      await res.arrayBuffer();
    }
    // And no source map is served (W12).
    const html = await (await fetch(`${baseUrl}/`)).text();
    const appJs = /src="(\/assets\/app-[^"]+\.js)"/.exec(html)?.[1];
    expect(appJs).toBeDefined();
    expect((await fetch(`${baseUrl}${appJs}.map`)).status).toBe(404);

    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const stopped = await runNode(["dist/src/main.js", "healthcheck"], install.appDir, env);
    expect(stopped.code).toBe(1);
    expect(stopped.output).toMatch(/ECONNREFUSED|unavailable/i);

    // Nothing changed in the installation; the temporary root gained only BANK_DATA_DIR.
    expect(treeChanges(before, treeSnapshot(install.appDir))).toEqual([]);
    expect(fs.readdirSync(install.root).sort()).toEqual([...rootBefore, "data"].sort());
    expect(fs.existsSync(path.join(dataDir, "bank.db"))).toBe(true);
  });
});
