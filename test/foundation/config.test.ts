// Goal: configuration comes only from the environment, has the documented defaults, and every
// problem is reported as one line that names the variable to set.
import * as path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  test("defaults: 127.0.0.1:8080, SQLite file under ./data, info logs", () => {
    const config = loadConfig({});
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe(path.resolve("./data"));
    expect(config.database).toEqual({ kind: "sqlite", file: path.resolve("./data/bank.db") });
    expect(config.logLevel).toBe("info");
    expect([...config.currencies.keys()]).toEqual(["USD", "EUR", "GBP", "JPY", "CHF"]);
    expect(config.currencies.get("JPY")?.exponent).toBe(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("BANK_ENV: production by default, nothing relaxed; development lifts Register's limits for loopback; anything else is a problem (issue 28)", () => {
    expect(loadConfig({}).environment).toBe("production");
    expect(loadConfig({}).registration.loopbackUnlimited).toBe(false);
    expect(loadConfig({ BANK_ENV: "development" }).registration.loopbackUnlimited).toBe(true);
    expect(problems({ BANK_ENV: "dev" })).toEqual([expect.stringMatching(/^BANK_ENV="dev" is invalid: set it to production .* or development/)]);
  });

  test("development defaults: what npm start runs on that only suits a developer's machine, listed for its one log line", () => {
    const data = path.resolve("./data");
    expect(loadConfig({}).developmentDefaults).toEqual([
      `embedded SQLite ${path.join(data, "bank.db")} (BANK_DATABASE_URL unset)`,
      `token signing keys and the TOTP key generated in ${data} (BANK_DATA_DIR unset)`,
    ]);
    expect(loadConfig({ BANK_ENV: "development", BANK_DATA_DIR: "/var/lib/bankd" }).developmentDefaults).toEqual([
      "embedded SQLite /var/lib/bankd/bank.db (BANK_DATABASE_URL unset)",
      "BANK_ENV=development: no registration limits for loopback clients",
    ]);
    // As the image and compose.yaml run it: nothing to say.
    expect(loadConfig({ BANK_DATABASE_URL: "postgres://bankd@db:5432/bankd", BANK_DATA_DIR: "/var/lib/bankd" }).developmentDefaults).toEqual([]);
    expect(loadConfig({ BANK_DATABASE_URL: "postgres://bankd@db:5432/bankd", BANK_JWT_KEYS_DIR: "/k", BANK_TOTP_KEY_FILE: "/t" }).developmentDefaults).toEqual([]);
  });

  test("BANK_GRPC_PORT: BANK_PORT + 1 by default (any free port with BANK_PORT=0), off, 0, or a port of its own", () => {
    expect(loadConfig({}).grpcPort).toBe(8081);
    expect(loadConfig({ BANK_PORT: "9000" }).grpcPort).toBe(9001);
    expect(loadConfig({ BANK_PORT: "0" }).grpcPort).toBe(0);
    expect(loadConfig({ BANK_GRPC_PORT: "off" }).grpcPort).toBeUndefined();
    expect(loadConfig({ BANK_GRPC_PORT: "0" }).grpcPort).toBe(0);
    expect(loadConfig({ BANK_GRPC_PORT: "50051" }).grpcPort).toBe(50051);
    expect(problems({ BANK_GRPC_PORT: "8080" })).toEqual([expect.stringMatching(/^BANK_GRPC_PORT=8080 is BANK_PORT too/)]);
    expect(problems({ BANK_GRPC_PORT: "no" })).toEqual([expect.stringMatching(/^BANK_GRPC_PORT="no" is invalid: .* or to off/)]);
    expect(problems({ BANK_GRPC_PORT: "70000" })).toEqual([expect.stringMatching(/^BANK_GRPC_PORT="70000" is invalid/)]);
    expect(problems({ BANK_PORT: "65535" })).toEqual([expect.stringMatching(/^BANK_GRPC_PORT has no default when BANK_PORT is 65535/)]);
  });

  test("BANK_DATABASE_URL selects PostgreSQL or another SQLite file", () => {
    expect(loadConfig({ BANK_DATABASE_URL: "postgres://u@h:5432/db" }).database).toEqual({ kind: "postgres", url: "postgres://u@h:5432/db" });
    expect(loadConfig({ BANK_DATABASE_URL: "sqlite:/tmp/x.db" }).database).toEqual({ kind: "sqlite", file: "/tmp/x.db" });
    expect(loadConfig({ BANK_DATA_DIR: "/srv/bank" }).database).toEqual({ kind: "sqlite", file: "/srv/bank/bank.db" });
  });

  test.each([
    [{ BANK_PORT: "http" }, /BANK_PORT/],
    [{ BANK_PORT: "70000" }, /BANK_PORT/],
    [{ BANK_PORT: "-1" }, /BANK_PORT/],
    [{ BANK_DATABASE_URL: "mysql://x/y" }, /BANK_DATABASE_URL/],
    [{ BANK_DATABASE_URL: "postgres://host:5432" }, /names no database/],
    [{ BANK_LOG_LEVEL: "loud" }, /BANK_LOG_LEVEL/],
    [{ BANK_TLS_CERT: "/x.pem" }, /BANK_TLS_CERT and BANK_TLS_KEY/],
    [{ BANK_CURRENCIES: "usd:2" }, /BANK_CURRENCIES/],
    [{ BANK_CORS_ORIGINS: "not a url" }, /BANK_CORS_ORIGINS/],
    [{ BANK_ARGON2_MEMORY_KIB: "12" }, /BANK_ARGON2_MEMORY_KIB/],
  ])("rejects %j with one line naming the variable", (env, pattern) => {
    const found = problems(env as Record<string, string>);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(pattern);
  });

  test("reports every problem at once", () => {
    expect(problems({ BANK_PORT: "x", BANK_LOG_LEVEL: "y" })).toHaveLength(2);
  });
});
