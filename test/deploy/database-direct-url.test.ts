// BANK_DATABASE_DIRECT_URL: the session-needing connection (LISTEN) of a deployment whose
// BANK_DATABASE_URL is a transaction pooler. Only for PostgreSQL, and validated like the main URL.
import { ConfigError, loadConfig } from "../../src/config";

const pooler = "postgres://bankd@pgbouncer:6432/bankd";
const direct = "postgres://bankd@postgres:5432/bankd";

test("set: the database configuration carries it (declaring the main URL pooled)", () => {
  expect(loadConfig({ BANK_DATABASE_URL: pooler, BANK_DATABASE_DIRECT_URL: direct }).database).toEqual({ kind: "postgres", url: pooler, directUrl: direct });
});

test("unset: none (LISTEN uses BANK_DATABASE_URL)", () => {
  expect(loadConfig({ BANK_DATABASE_URL: direct }).database).toEqual({ kind: "postgres", url: direct });
});

test.each([
  [{ BANK_DATABASE_DIRECT_URL: direct }, /BANK_DATABASE_DIRECT_URL is for PostgreSQL/],
  [{ BANK_DATABASE_URL: pooler, BANK_DATABASE_DIRECT_URL: "mysql://x/y" }, /BANK_DATABASE_DIRECT_URL must start with postgres:\/\//],
  [{ BANK_DATABASE_URL: pooler, BANK_DATABASE_DIRECT_URL: "postgres://h:5432" }, /BANK_DATABASE_DIRECT_URL names no database/],
])("refused: %j", (env, problem) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  try {
    loadConfig(env);
  } catch (err) {
    expect((err as ConfigError).problems.join("\n")).toMatch(problem);
  }
});
