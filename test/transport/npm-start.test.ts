// Goal (issue 13, item 15): SIGTERM to what the README starts, the `npm start` process itself,
// drains and stops the server: as `npm start &` + `kill $!` does, and with npm as the first
// process (PID 1) of its own PID namespace, as in a container. The server must log the drain,
// exit, and leave nothing listening on its port (before the fix, npm and its shell died and the
// server went on serving, orphaned). On the way it says, once, that it runs with development
// defaults (issue 28).
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { client } from "../support/app";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitUntil } from "../support/wait";

const REPO = path.resolve(__dirname, "../..");

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns `command` (which runs `npm start`) and waits for the server's "bankd serving" line. */
async function startNpm(command: string[], db: TestDatabase): Promise<Started> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO,
    env: { ...process.env, BANK_PORT: "0", BANK_DATA_DIR: db.dataDir, BANK_LOG_LEVEL: "info", BANK_ARGON2_MEMORY_KIB: "4096", BANK_ARGON2_TIME_COST: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"bankd serving"/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    void exited.then(() => reject(new Error(`npm start exited before serving:\n${output}`)));
  });
  return { child, url, output: () => output, exited };
}

function portOpen(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** The host pid of the first child of `pid` (unshare's forked child: npm as PID 1). */
function firstChild(pid: number): number {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
  return Number(children[0]);
}

describe("npm start and SIGTERM", () => {
  let db: TestDatabase;
  let started: Started | undefined;
  beforeEach(async () => {
    db = await createTestDatabase("sqlite");
  });
  afterEach(async () => {
    // Whatever happened, nothing of this test keeps running.
    if (started && (await portOpen(started.url))) {
      started.child.kill("SIGKILL");
      throw new Error("the server was still listening after the test");
    }
    await db.drop();
  });

  test.each([
    ["npm start & kill $!", ["npm", "start"], (s: Started) => s.child.pid!],
    ["npm as PID 1 of its namespace (a container)", ["unshare", "--pid", "--fork", "--mount-proc", "npm", "start"], (s: Started) => firstChild(s.child.pid!)],
  ])("%s: SIGTERM to npm drains and stops the server", async (_name, command, npmPid) => {
    started = await startNpm(command as string[], db);
    const health = await client(started.url, Health).check({ service: "" });
    expect(health.status).toBe(Status.SERVING);
    // Issue 28: one line says it runs with development defaults (here the embedded SQLite file).
    expect(started.output().match(/running with development defaults: embedded SQLite [^"]*bank\.db \(BANK_DATABASE_URL unset\)/g)).toHaveLength(1);

    process.kill((npmPid as (s: Started) => number)(started), "SIGTERM");
    await started.exited;
    await waitUntil("the port closed", async () => !(await portOpen(started!.url)), { timeoutMs: 30_000, intervalMs: 100 });
    expect(started.output()).toContain('"signal":"SIGTERM","msg":"draining"');
    expect(started.output()).toContain("bankd stopped");
  }, 120_000);
});
