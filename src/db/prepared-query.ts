// Prepared entity queries: a statement written once with MikroORM's QueryBuilder over an entity
// (a read, or a plain UPDATE or DELETE), turned into SQL once per ORM instance (so per engine),
// and then run many times through the unit of work's own connection and transaction (Tx.one /
// Tx.all / Tx.run), read rows mapped back to the entity's property names and JS types by the
// entity's metadata.
//
// Why: building a QueryBuilder costs ~0.1-0.2 ms of CPU per call (MikroORM's builder and its
// criteria processing), about what the statement itself costs; on the reads that run on almost
// every request (the account of GetAccount, the authenticator's session re-check) that was most of
// a 10% throughput budget. bench/coldpaths-micro.ts measures the forms side by side. The
// statement stays the entity's (its table, columns, joins and custom-type SQL such as money's
// CAST come from the metadata); only the building is done once.
//
// This belongs with the database layer (src/db); it lives here while src/db is being rewritten.
import type { EntityProperty, EntitySchema, Platform } from "@mikro-orm/core";
import type { QueryBuilder } from "@mikro-orm/sql";
import type { Row, Tx } from "./database";

/** Stands for the i-th parameter while the statement is built; never a value a caller can send
 * (a NUL byte and a marker), and checked: every binding of the built SQL must be one of these or
 * a constant the builder added itself (a LIMIT). */
const PARAM_MARK = "\u0000bankd-prepared-param:";

type Binding = { param: number } | { constant: unknown };

interface Compiled {
  sql: string;
  bindings: Binding[];
  /** Result column -> property of the root entity, with its type's conversion. */
  columns: Map<string, { name: string; prop: EntityProperty }>;
  platform: Platform;
}

/** Builds the statement on a fresh QueryBuilder; `param(i)` stands for the i-th parameter. A
 * select, update or delete builder: all that is used of it is its SQL. */
export type QueryBuild<E extends object> = (qb: QueryBuilder<E, string>, param: (index: number) => string) => { toQuery(): { sql: string; params: readonly unknown[] } };

export class PreparedQuery<E extends object, R extends object = E> {
  /** One compiled form per ORM instance: the SQL is spelled per engine. */
  private readonly compiled = new WeakMap<Platform, Compiled>();

  constructor(
    private readonly entity: EntitySchema<E, never, any>,
    private readonly alias: string,
    private readonly build: QueryBuild<E>,
  ) {}

  /** The first row, or undefined. */
  async one(tx: Tx, params: readonly unknown[]): Promise<R | undefined> {
    const c = this.compile(tx);
    const row = await tx.one(c.sql, bind(c, params));
    return row === undefined ? undefined : (mapRow(c, row) as R);
  }

  async all(tx: Tx, params: readonly unknown[]): Promise<R[]> {
    const c = this.compile(tx);
    return (await tx.all(c.sql, bind(c, params))).map((row) => mapRow(c, row) as R);
  }

  /** For a prepared UPDATE or DELETE: the number of rows it changed. */
  async run(tx: Tx, params: readonly unknown[]): Promise<number> {
    const c = this.compile(tx);
    return tx.run(c.sql, bind(c, params));
  }

  private compile(tx: Tx): Compiled {
    const platform = tx.em.getPlatform();
    let c = this.compiled.get(platform);
    if (!c) {
      c = compile(tx, this.entity, this.alias, this.build);
      this.compiled.set(platform, c);
    }
    return c;
  }
}

/** A prepared query over `entity` (its QueryBuilder aliased `alias`). */
export function preparedQuery<E extends object, R extends object = E>(entity: EntitySchema<E, never, any>, alias: string, build: QueryBuild<E>): PreparedQuery<E, R> {
  return new PreparedQuery<E, R>(entity, alias, build);
}

function compile<E extends object>(tx: Tx, entity: EntitySchema<E, never, any>, alias: string, build: QueryBuild<E>): Compiled {
  const qb = build(tx.em.createQueryBuilder(entity, alias) as unknown as QueryBuilder<E, string>, (index) => `${PARAM_MARK}${index}`);
  const { sql, params: bindings } = qb.toQuery();
  const meta = tx.em.getMetadata().get<E>(entity);
  const columns = new Map<string, { name: string; prop: EntityProperty }>();
  for (const prop of meta.props) {
    const column = prop.fieldNames?.[0];
    if (column !== undefined) columns.set(column, { name: prop.name, prop: prop as EntityProperty });
  }
  return {
    sql,
    bindings: bindings.map((value: unknown): Binding => {
      if (typeof value === "string" && value.startsWith(PARAM_MARK)) return { param: Number(value.slice(PARAM_MARK.length)) };
      if (typeof value === "string" && value.includes("\u0000")) throw new Error(`prepared query: a parameter marker was transformed (${JSON.stringify(value)})`);
      return { constant: value };
    }),
    columns,
    platform: tx.em.getPlatform(),
  };
}

function bind(c: Compiled, params: readonly unknown[]): unknown[] {
  return c.bindings.map((b) => {
    if (!("param" in b)) return b.constant;
    if (b.param >= params.length) throw new Error(`prepared query: parameter ${b.param} missing`);
    return params[b.param];
  });
}

/** Column names -> property names, values -> the property type's JS form (money -> bigint,
 * epoch times -> number). Columns of joined entities keep their column name and raw value. */
function mapRow(c: Compiled, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const mapped = c.columns.get(column);
    if (!mapped) {
      out[column] = value;
      continue;
    }
    const type = mapped.prop.customType;
    out[mapped.name] = type && value !== null ? type.convertToJSValue(value, c.platform) : value;
  }
  return out;
}
