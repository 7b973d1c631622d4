// Goal (issue 29): the parts of following a primary that need no pg_auto_failover, on a throwaway
// cluster and its streaming replica (so they run wherever PostgreSQL does, not only as root with
// pg_autoctl): the writable host is found by asking, whatever the order of the list; a standby and
// a primary whose sessions are read-only (how pg_auto_failover holds a just-promoted node) are
// never chosen; a write refused as read-only (SQLSTATE 25006) fails UNAVAILABLE, not INTERNAL, and
// sends bankd looking again: no host fits (hostAvailable false, the next unit of work fails
// UNAVAILABLE after limits.dbPrimaryWaitMs), then writes succeed once the host accepts them again.
import { Database } from "../../src/db/database";
import { DatabaseUnavailableError } from "../../src/db/errors";
import { parseMultiHostUrl, type MultiHostUrl } from "../../src/db/postgres-url";
import { DatabaseHostsError, probeAll } from "../../src/db/primary";
import { limits } from "../../src/limits";
import { waitUntil } from "../support/wait";
import { PgCluster } from "./support/pg-cluster";
import { freePort } from "./support/ports";
import { describeOnPostgres, MINUTE } from "./support/scenario";

function multiHost(url: string): MultiHostUrl {
  const parsed = parseMultiHostUrl("BANK_DATABASE_URL", url, { roles: ["primary", "standby"] });
  if (!parsed.ok || !parsed.value) throw new Error(`not a multi-host URL: ${url}`);
  return parsed.value;
}

describeOnPostgres("system: following the writable host of a multi-host URL (throwaway primary and replica)", () => {
  let primary: PgCluster | undefined;
  let replica: PgCluster | undefined;

  beforeAll(async () => {
    primary = await PgCluster.create();
    replica = await primary.createReplica();
  }, 2 * MINUTE);

  afterAll(async () => {
    await replica?.destroy();
    await primary?.destroy();
  }, MINUTE);

  const list = (first: PgCluster, second: PgCluster, attrs = "read-write") => `postgres://postgres@127.0.0.1:${first.port},127.0.0.1:${second.port}/postgres?target_session_attrs=${attrs}`;

  test("the writable host is found by asking, in either order; a standby URL finds the replica", async () => {
    for (const url of [list(replica!, primary!), list(primary!, replica!)]) {
      const { chosen, results } = await probeAll(multiHost(url), "primary");
      expect(chosen?.host.port).toBe(primary!.port);
      expect(results.find((r) => r.host.port === replica!.port)?.state).toBe("standby");
    }
    expect((await probeAll(multiHost(list(primary!, replica!, "standby")), "standby")).chosen?.host.port).toBe(replica!.port);
  });

  test("only the standby and a closed port: the start is refused, naming both", async () => {
    const closed = await freePort();
    const url = `postgres://postgres@127.0.0.1:${replica!.port},127.0.0.1:${closed}/postgres?target_session_attrs=read-write`;
    const opening = Database.open({ kind: "postgres", url, multiHost: multiHost(url) });
    await expect(opening).rejects.toThrow(DatabaseHostsError);
    await expect(opening).rejects.toThrow(new RegExp(`none of its 2 hosts accepts writes \\(127\\.0\\.0\\.1:${replica!.port}: a standby \\(in recovery\\); 127\\.0\\.0\\.1:${closed}: unreachable`));
  });

  test("a primary turned read-only: writes fail UNAVAILABLE, no host is used, then writes resume when it accepts them again", async () => {
    const url = list(replica!, primary!);
    const db = await Database.open({ kind: "postgres", url, multiHost: multiHost(url) });
    try {
      expect(db.hostAvailable).toBe(true);
      await db.transaction((tx) => tx.run("CREATE TABLE IF NOT EXISTS follower_probe (x INTEGER)"));
      await db.transaction((tx) => tx.run("INSERT INTO follower_probe VALUES (1)"));
      const changes: boolean[] = [];
      db.onHostChange((available) => changes.push(available));

      // How pg_auto_failover holds a promoted node until the old primary is down.
      await primary!.query("ALTER SYSTEM SET default_transaction_read_only = on");
      await primary!.query("SELECT pg_reload_conf()");
      await waitUntil("the primary's sessions are read-only", async () => (await primary!.query("SHOW transaction_read_only"))[0]!.transaction_read_only === "on", { timeoutMs: 10_000, intervalMs: 50 });
      await expect(db.transaction((tx) => tx.run("INSERT INTO follower_probe VALUES (2)"), { retry: false })).rejects.toThrow(DatabaseUnavailableError);
      await waitUntil("no host is used", () => !db.hostAvailable, { timeoutMs: 10_000, intervalMs: 20 });
      const started = Date.now();
      await expect(db.transaction((tx) => tx.run("INSERT INTO follower_probe VALUES (3)"), { retry: false })).rejects.toThrow(DatabaseUnavailableError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(limits.dbPrimaryWaitMs - 50);

      // The host accepts writes again: the next probe round (every dbPrimaryProbeIntervalMs) finds it.
      await primary!.query("ALTER SYSTEM RESET default_transaction_read_only");
      await primary!.query("SELECT pg_reload_conf()");
      await waitUntil("the host is used again", () => db.hostAvailable, { timeoutMs: 10_000, intervalMs: 20 });
      await db.transaction((tx) => tx.run("INSERT INTO follower_probe VALUES (4)"));
      const rows = await db.read((tx) => tx.all<{ x: number }>("SELECT x FROM follower_probe ORDER BY x"));
      // Nothing refused was written.
      expect(rows.map((r) => Number(r.x))).toEqual([1, 4]);
      expect(changes).toEqual([false, true]);
    } finally {
      await primary!.query("ALTER SYSTEM RESET default_transaction_read_only").catch(() => undefined);
      await primary!.query("SELECT pg_reload_conf()").catch(() => undefined);
      await db.close();
    }
  }, MINUTE);
});
