// compose.yaml, checked without a Docker engine: it parses, has PostgreSQL 15 with a volume, a
// one-shot `bankd migrate` that the two bankd replicas wait for, published ports, and every BANK_*
// variable it sets is one bankd reads (declared in src/config-variables.ts; a misspelt name would be silently ignored).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "./support/production-app";
import { VARIABLES } from "../../src/config-variables";

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}

const compose = parse(fs.readFileSync(path.join(REPO_ROOT, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
// The variables bankd reads, each declared once (src/config-variables.ts).
const configNames = new Set(Object.keys(VARIABLES));
const bankd = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith("bankd") === true);

test("config.ts names are found (the check below is not vacuous)", () => {
  for (const name of ["BANK_DATABASE_URL", "BANK_HOST", "BANK_PORT", "BANK_DATA_DIR"]) expect(configNames.has(name)).toBe(true);
});

test("PostgreSQL 15 keeps its data in a named volume and reports health", () => {
  const pg = compose.services.postgres!;
  expect(pg.image).toMatch(/^postgres:15(\.|$|-)/);
  const volume = pg.volumes?.find((v) => v.endsWith(":/var/lib/postgresql/data"));
  expect(volume).toBeDefined();
  expect(compose.volumes).toHaveProperty(volume!.split(":")[0]!);
  expect(pg).toHaveProperty("healthcheck");
});

test("a one-shot migrate, then two bankd replicas that wait for it, each on its own port", () => {
  const migrate = compose.services.migrate!;
  expect(migrate.command).toEqual(["migrate"]);
  expect(migrate.restart).toBe("no");
  const replicas = bankd.filter(([name]) => name !== "migrate");
  expect(replicas.length).toBe(2);
  const published = new Set<string>();
  for (const [, s] of replicas) {
    expect(s.depends_on?.migrate?.condition).toBe("service_completed_successfully");
    expect(s.depends_on?.postgres?.condition).toBe("service_healthy");
    expect(s.ports?.length).toBe(1);
    const [host, container] = s.ports![0]!.split(":");
    expect(container).toBe(s.environment?.BANK_PORT);
    published.add(host!);
    expect(s.environment?.BANK_DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
  }
  expect(published.size).toBe(2);
});

test("every BANK_* variable compose sets is one config.ts reads", () => {
  const names = bankd.flatMap(([, s]) => Object.keys(s.environment ?? {}));
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((n) => !n.startsWith("BANK_") && n !== "NODE_ENV")).toEqual([]);
  expect([...new Set(names)].filter((n) => n.startsWith("BANK_") && !configNames.has(n))).toEqual([]);
});
