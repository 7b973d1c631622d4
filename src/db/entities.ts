// MikroORM entity schemas (one set for SQLite and PostgreSQL). Hot paths use atomic SQL
// through the same transaction (see database.ts); entities serve the simple reads and writes.
import type { EntitySchema } from "@mikro-orm/core";

export const entities: EntitySchema[] = [];
