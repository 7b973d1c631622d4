// Goal (issue 6, scenario 2): the invariant load on two bankd processes over PostgreSQL while one
// of them is SIGKILLed twice at random moments and restarted; clients retry with the same
// request_id on UNAVAILABLE or a broken connection. Every acknowledged transfer is present exactly
// once, every unacknowledged one zero or one time, totals are unchanged and the audit chain
// verifies (`bankd verify-audit` exits 0).
import { runCrashScenario } from "./support/crash";
import { describeOnPostgres, mainClusterDatabase, MINUTE } from "./support/scenario";
import type { TestDatabase } from "../support/db";

describeOnPostgres("system: crash mid-flight (PostgreSQL, two processes)", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await mainClusterDatabase();
  });
  afterAll(async () => db?.drop(), MINUTE);

  test(
    "SIGKILL twice under load: acknowledged = exactly once, unacknowledged = at most once",
    () => runCrashScenario({ scenario: "crash-mid-flight", databaseUrl: db.url, dataDir: db.dataDir, processCount: 2, kills: 2 }),
    8 * MINUTE,
  );
});
