// The optional second and third PostgreSQL URLs: BANK_DATABASE_DIRECT_URL (the session-needing
// connection, LISTEN, of a deployment whose BANK_DATABASE_URL is a transaction pooler) and
// BANK_DATABASE_REPLICA_URL (a read replica for the reads that may be stale). Both are only for
// PostgreSQL and validated like the main URL.
import { ConfigError, loadConfig } from "../../src/config";

const main = "postgres://bankd@pgbouncer:6432/bankd";
const other = "postgres://bankd@postgres:5432/bankd";

describe.each([
  ["BANK_DATABASE_DIRECT_URL", "directUrl"],
  ["BANK_DATABASE_REPLICA_URL", "replicaUrl"],
] as const)("%s", (name, field) => {
  test("set: the database configuration carries it", () => {
    expect(loadConfig({ BANK_DATABASE_URL: main, [name]: other }).database).toEqual({ kind: "postgres", url: main, [field]: other });
  });

  test("unset: none (BANK_DATABASE_URL serves)", () => {
    expect(loadConfig({ BANK_DATABASE_URL: main }).database).toEqual({ kind: "postgres", url: main });
  });

  test.each([
    [{ [name]: other }, new RegExp(`${name} is for PostgreSQL`)],
    [{ BANK_DATABASE_URL: "sqlite:./x.db", [name]: other }, new RegExp(`${name} is for PostgreSQL`)],
    [{ BANK_DATABASE_URL: main, [name]: "mysql://x/y" }, new RegExp(`${name} must start with postgres://`)],
    [{ BANK_DATABASE_URL: main, [name]: "postgres://h:5432" }, new RegExp(`${name} names no database`)],
  ])("refused: %j", (env, problem) => {
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems.join("\n")).toMatch(problem);
  });
});
