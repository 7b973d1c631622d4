// `bankd migrate`: apply pending database migrations and exit.
import type { Config } from "../config";
import { Database } from "../db/database";

export async function migrateCommand(config: Readonly<Config>): Promise<number> {
  const db = await Database.open(config.database);
  try {
    const applied = await db.migrate();
    console.log(applied.length === 0 ? "database is up to date" : `applied ${applied.length} migration(s): ${applied.join(", ")}`);
    return 0;
  } finally {
    await db.close();
  }
}
