// Goal (issue 6, scenario 9): the crash scenario against the embedded SQLite default (WAL,
// synchronous=FULL), one process: SIGKILLed twice under the invariant load and restarted, nothing
// acknowledged is lost, nothing is applied twice, the ledger stays consistent and the audit chain
// verifies. This scenario needs no PostgreSQL and runs on every `npm test`.
import * as fs from "node:fs";
import * as path from "node:path";
import { runCrashScenario } from "./support/crash";
import { MINUTE, tempDir } from "./support/scenario";

describe("system: SQLite durability (embedded default, one process)", () => {
  const dataDir = tempDir();
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test(
    "SIGKILL twice under load: nothing acknowledged is lost",
    // BANK_DATABASE_URL as the default would resolve it: BANK_DATA_DIR/bank.db.
    () => runCrashScenario({ scenario: "sqlite-durability", databaseUrl: `sqlite:${path.join(dataDir, "bank.db")}`, dataDir, processCount: 1, kills: 2 }),
    8 * MINUTE,
  );
});
