// `bankd verify-audit`: seals the events committed so far, then verifies the whole chain.
// Prints one line and exits 0 when the chain holds, 3 when it is broken (1 when it could not be
// checked at all, e.g. the database is unreachable: see cli.ts).
import type { Config } from "../config";
import { Database } from "../db/database";
import { sealAll } from "../audit/sealer";
import { verifyChain } from "../audit/verifier";

export const EXIT_CHAIN_BROKEN = 3;

export async function verifyAuditCommand(config: Readonly<Config>): Promise<number> {
  const db = await Database.open(config.database);
  try {
    // Same schema as the server would have: a fresh database verifies as an empty chain.
    await db.migrate();
    await sealAll(db);
    const result = await verifyChain(db);
    if (result.ok) {
      console.log(`audit chain OK: ${result.eventsChecked} events verified (head seq ${result.head.seq}, head hash ${result.head.hash})`);
      return 0;
    }
    console.log(`audit chain BROKEN at event ${result.firstBadEventId || "(unknown)"} (seq ${result.badSeq}): ${result.problem}`);
    return EXIT_CHAIN_BROKEN;
  } finally {
    await db.close();
  }
}
