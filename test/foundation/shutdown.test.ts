// Goal: a graceful drain — health turns NOT_SERVING, new calls get UNAVAILABLE, the call in
// flight completes and is acknowledged, the process exits 0 — and a bad start fails with one clear
// line and a non-zero exit.
import * as path from "node:path";
import * as net from "node:net";
import { spawn } from "node:child_process";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { client, startTestApp } from "../support/app";
import { createTestDatabase } from "../support/db";
import { waitUntil } from "../support/wait";

const TSX = path.resolve("node_modules/.bin/tsx");

test("drain: in-flight call completes, new calls UNAVAILABLE, health NOT_SERVING", async () => {
  let release!: () => void;
  let started!: () => void;
  const inHandler = new Promise<void>((resolve) => (started = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const t = await startTestApp("sqlite", {}, {
    modules: async () => [
      {
        routes: (router) =>
          router.service(AuthService, {
            async getJwks() {
              started();
              await gate;
              return { keysJson: "{\"keys\":[]}" };
            },
          }),
      },
    ],
  });
  const grpc = client(t.baseUrl, AuthService, { protocol: "grpc" });
  const watched: Status[] = [];
  const watch = (async () => {
    try {
      for await (const res of client(t.baseUrl, Health, { protocol: "grpc" }).watch({ service: "bank.v1.AccountService" })) {
        watched.push(res.status);
        if (res.status === Status.NOT_SERVING) return;
      }
    } catch {
      // The stream is cut when the server closes; what it saw before is what counts.
    }
  })();
  await waitUntil("the watch saw its first status", () => watched.length > 0);
  expect(watched).toEqual([Status.SERVING]);
  const slow = grpc.getJwks({});
  await inHandler;
  const stopping = t.app.shutdown();
  const health = await client(t.baseUrl, Health, { protocol: "grpc" }).check({ service: "" });
  expect(health.status).toBe(Status.NOT_SERVING);
  const refused = await client(t.baseUrl, AuthService).getJwks({}).catch((e: unknown) => ConnectError.from(e));
  expect(refused).toBeInstanceOf(ConnectError);
  expect((refused as ConnectError).code).toBe(Code.Unavailable);
  release();
  await expect(slow).resolves.toMatchObject({ keysJson: "{\"keys\":[]}" });
  await stopping;
  await watch;
  expect(watched).toEqual([Status.SERVING, Status.NOT_SERVING]);
  await t.db.drop();
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBankd(args: string[], env: Record<string, string>, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(TSX, ["src/cli.ts", ...args], { env: { ...process.env, BANK_LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("the process serves, then exits 0 on SIGTERM", async () => {
  const db = await createTestDatabase("sqlite");
  let signalled = false;
  const exit = await runBankd(["serve"], { BANK_PORT: "0", BANK_DATA_DIR: db.dataDir }, (out, child) => {
    const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (match && !signalled) {
      signalled = true;
      void client(match[1]!, Health).check({ service: "" }).then((res) => {
        expect(res.status).toBe(Status.SERVING);
        child.kill("SIGTERM");
      });
    }
  });
  expect(signalled).toBe(true);
  expect(exit.code).toBe(0);
  expect(exit.stdout).toContain("bankd stopped");
  await db.drop();
});

test.each([
  [{ BANK_PORT: "eighty" }, /BANK_PORT="eighty" is invalid/],
  [{ BANK_DATABASE_URL: "postgres://postgres@127.0.0.1:1/bank" }, /cannot open the database at postgres:\/\/postgres@127.0.0.1:1\/bank/],
])("a bad start prints one clear line and exits non-zero: %j", async (env, pattern) => {
  const exit = await runBankd(["serve"], env as Record<string, string>);
  expect(exit.code).not.toBe(0);
  const lines = exit.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
});

test("a port in use is one clear line", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const db = await createTestDatabase("sqlite");
  const exit = await runBankd(["serve"], { BANK_PORT: String(port), BANK_DATA_DIR: db.dataDir });
  blocker.close();
  await db.drop();
  expect(exit.code).toBe(1);
  expect(exit.stderr.trim()).toBe(`bankd: cannot listen on 127.0.0.1:${port}: the port is in use (set BANK_PORT).`);
});
