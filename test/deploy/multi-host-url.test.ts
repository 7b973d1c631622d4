// Goal (issue 29): BANK_DATABASE_URL in libpq's multi-host form names every node of a formation;
// bankd reads the host list itself (node-postgres does not) and accepts only what it implements:
// target_session_attrs=read-write or primary (standby for a replica's URL). Anything else that
// would change which host libpq picks is refused at start with a sentence naming the parameter,
// never read as something else; hostile host lists (empty entries, bad ports, socket paths,
// duplicates, a thousand hosts, injected characters) are refused the same way. A start on a list
// whose hosts are all unreachable exits non-zero, naming each host.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { ConfigError, loadConfig } from "../../src/config";
import { limits } from "../../src/limits";
import { parseMultiHostUrl } from "../../src/db/postgres-url";
import { isHostLoss } from "../../src/db/primary";
import { classifyDbError } from "../../src/db/errors";
import { freePort } from "../system/support/ports";

const primary = { roles: ["primary"] as const };

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join("\n");
  }
  throw new Error("the configuration was accepted");
}

describe("accepted", () => {
  test("two hosts with ports and read-write: each host's own URL keeps user, password, database and the other parameters", () => {
    const r = parseMultiHostUrl("X", "postgres://bank:p%40ss@db1.internal:5432,10.0.0.2:5433/bank?target_session_attrs=read-write&sslmode=require&connect_timeout=5", primary);
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    const url = r.value;
    expect(url.role).toBe("primary");
    expect(url.hosts).toEqual([{ host: "db1.internal", port: 5432 }, { host: "10.0.0.2", port: 5433 }]);
    expect(url.urlFor(url.hosts[1]!)).toBe("postgres://bank:p%40ss@10.0.0.2:5433/bank?sslmode=require&connect_timeout=5");
  });

  test("primary means read-write; a missing port is 5432; IPv6 in brackets; postgresql:// too", () => {
    const r = parseMultiHostUrl("X", "postgresql://u@[::1]:6001,h2/db?target_session_attrs=primary", primary);
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    expect(r.value.hosts).toEqual([{ host: "::1", port: 6001 }, { host: "h2", port: 5432 }]);
    expect(r.value.urlFor(r.value.hosts[0]!)).toBe("postgresql://u@[::1]:6001/db");
  });

  test("one host without target_session_attrs is the plain URL node-postgres reads (unchanged)", () => {
    expect(parseMultiHostUrl("X", "postgres://u@h:5432/db?sslmode=disable", primary)).toEqual({ ok: true, value: undefined });
    expect(loadConfig({ BANK_DATABASE_URL: "postgres://u@h:5432/db" }).database).toEqual({ kind: "postgres", url: "postgres://u@h:5432/db" });
  });

  test("one host with read-write follows it too; load_balance_hosts=disable (libpq's default) is accepted", () => {
    const r = parseMultiHostUrl("X", "postgres://u@h:5432/db?target_session_attrs=read-write&load_balance_hosts=disable", primary);
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    expect(r.value.hosts).toEqual([{ host: "h", port: 5432 }]);
    expect(r.value.urlFor(r.value.hosts[0]!)).toBe("postgres://u@h:5432/db");
  });

  test("the configuration carries the parsed list for BANK_DATABASE_URL, the direct URL and (standby) the replica URL", () => {
    const db = loadConfig({
      BANK_DATABASE_URL: "postgres://u@a:1,b:2/db?target_session_attrs=read-write",
      BANK_DATABASE_DIRECT_URL: "postgres://u@a:3,b:4/db?target_session_attrs=read-write",
      BANK_DATABASE_REPLICA_URL: "postgres://u@a:1,b:2/db?target_session_attrs=standby",
    }).database;
    if (db.kind !== "postgres") throw new Error("not postgres");
    expect(db.multiHost?.hosts.map((h) => h.port)).toEqual([1, 2]);
    expect(db.directMultiHost?.hosts.map((h) => h.port)).toEqual([3, 4]);
    expect(db.replicaMultiHost?.role).toBe("standby");
  });
});

describe("refused with a sentence naming the problem", () => {
  test.each([
    ["postgres://u@a:1,b:2/db", /names 2 hosts without target_session_attrs: add \?target_session_attrs=read-write/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=any", /target_session_attrs=any, which bankd does not support here: use read-write or primary/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-only", /target_session_attrs=read-only, which bankd does not support/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=standby", /target_session_attrs=standby, which bankd does not support/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=prefer-standby", /target_session_attrs=prefer-standby, which bankd does not support/],
    ["postgres://u@a:5432/db?target_session_attrs=any", /target_session_attrs=any, which bankd does not support/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-write&target_session_attrs=read-only", /more than once/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-write&load_balance_hosts=random", /load_balance_hosts, which bankd does not support/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-write&host=c", /sets host= in its query next to its host list/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-write&port=5,6", /sets port= in its query/],
    ["postgres://u@a:1,b:2/db?target_session_attrs=read-write&hostaddr=10.0.0.1", /sets hostaddr= in its query/],
    ["postgres://u@a:1,,b:2/db?target_session_attrs=read-write", /an empty entry in its host list/],
    ["postgres://u@a:1,/db?target_session_attrs=read-write", /an empty entry in its host list/],
    ["postgres://u@a:0,b:2/db?target_session_attrs=read-write", /invalid port "0" for host a/],
    ["postgres://u@a:65536,b:2/db?target_session_attrs=read-write", /invalid port "65536"/],
    ["postgres://u@a:1x,b:2/db?target_session_attrs=read-write", /invalid port "1x"/],
    ["postgres://u@a:-1,b:2/db?target_session_attrs=read-write", /invalid port "-1"/],
    ["postgres://u@a:1,a:1/db?target_session_attrs=read-write", /names a:1 twice/],
    ["postgres://u@%2Fvar%2Frun,b:2/db?target_session_attrs=read-write", /socket directory in its host list/],
    ["postgres://u@a b:1,c:2/db?target_session_attrs=read-write", /invalid host "a b"/],
    ["postgres://u@a'; DROP TABLE x;--:1,c:2/db?target_session_attrs=read-write", /invalid host/],
    ["postgres://u@[zz::1]:1,c:2/db?target_session_attrs=read-write", /invalid IPv6 address/],
    ["postgres://u@[::1:1,c:2/db?target_session_attrs=read-write", /invalid (IPv6 address|host)/],
    ["postgres://u@a:1,b:2?target_session_attrs=read-write", /names no database/],
    ["postgres://u@a:1,b:2/?target_session_attrs=read-write", /names no database/],
    ["postgres://u@a:1,b:2/db#frag?target_session_attrs=read-write", /#fragment/],
    [`postgres://u@${Array.from({ length: 1000 }, (_, i) => `h${i}:5432`).join(",")}/db?target_session_attrs=read-write`, new RegExp(`names 1000 hosts; at most ${limits.dbHostsMax}`)],
    [`postgres://u@${"a".repeat(300)}:1,b:2/db?target_session_attrs=read-write`, /invalid host/],
  ])("%s", (url, problem) => {
    expect(problemsOf({ BANK_DATABASE_URL: url })).toMatch(problem);
    expect(problemsOf({ BANK_DATABASE_URL: url })).toMatch(/^BANK_DATABASE_URL /);
  });

  test("a replica URL may ask for a standby but not for the writable host; the others may not ask for a standby", () => {
    const main = "postgres://u@a:1,b:2/db?target_session_attrs=read-write";
    expect(problemsOf({ BANK_DATABASE_URL: main, BANK_DATABASE_REPLICA_URL: "postgres://u@a:1,b:2/db?target_session_attrs=read-write" })).toMatch(/BANK_DATABASE_REPLICA_URL sets target_session_attrs=read-write, which bankd does not support here: use standby/);
    expect(problemsOf({ BANK_DATABASE_URL: main, BANK_DATABASE_DIRECT_URL: "postgres://u@a:1,b:2/db?target_session_attrs=standby" })).toMatch(/BANK_DATABASE_DIRECT_URL sets target_session_attrs=standby/);
  });
});

describe("errors that send bankd looking for the primary", () => {
  test.each([
    [{ code: "25006", message: "cannot execute INSERT in a read-only transaction" }, true],
    [{ code: "57P01", message: "terminating connection due to administrator command" }, true],
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:6001" }, true],
    [{ message: "Connection terminated unexpectedly" }, true],
    [{ code: "08006", message: "connection failure" }, true],
    [new Error("wrapped", { cause: { code: "25006" } }), true],
    [{ code: "23505", message: "duplicate key" }, false],
    [{ code: "57014", message: "canceling statement due to statement timeout" }, false],
    [{ code: "40001", message: "could not serialize access" }, false],
  ])("%j -> %s", (err, loss) => {
    expect(isHostLoss(err)).toBe(loss);
  });

  test("a write refused as read-only (25006) is UNAVAILABLE, retryable: nothing of it committed", () => {
    expect(classifyDbError({ code: "25006", message: "cannot execute UPDATE in a read-only transaction" })).toBe("unavailable");
  });
});

test("a multi-host URL whose hosts all refuse connections: bankd exits non-zero naming every host", async () => {
  const [a, b] = [await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-multihost-"));
  try {
    const res = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: path.resolve(__dirname, "../.."),
      env: { ...process.env, BANK_PORT: "0", BANK_GRPC_PORT: "off", BANK_DATA_DIR: dir, BANK_DATABASE_URL: `postgres://postgres@127.0.0.1:${a},127.0.0.1:${b}/bank?target_session_attrs=read-write`, BANK_LOG_LEVEL: "warn" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain(`BANK_DATABASE_URL: none of its 2 hosts answers (127.0.0.1:${a}: unreachable`);
    expect(res.stderr).toContain(`127.0.0.1:${b}: unreachable`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
