// Goal: `bankd create-service-account` registers a service's public key from a file through the
// same checks as AdminService.CreateServiceAccount, prints the new id, audits it (actor "system",
// from "cli"), and refuses bad arguments (exit 2) and bad keys or roles (exit 1, the reason on
// one line) without writing anything.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { Role } from "../../gen/bank/v1/access_pb";
import { createServiceAccountCommand, parseCreateServiceAccountArgs } from "../../src/cli/create-service-account";
import { engines } from "../support/db";
import { startAuthApp, type AuthTestApp } from "../auth/support";

async function run(t: AuthTestApp, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, "error").mockImplementation((line: string) => void err.push(line));
  try {
    const code = await createServiceAccountCommand(t.config, args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("create-service-account arguments", () => {
  test("roles are a service's, case-insensitive, with or without ROLE_; name and key file are required; unknown flags refused", () => {
    expect(parseCreateServiceAccountArgs(["--name", "p", "--role", "payment_service", "--role", "ROLE_AUDITOR", "--public-key-file", "k.pem"]).roles).toEqual([Role.PAYMENT_SERVICE, Role.AUDITOR]);
    expect(() => parseCreateServiceAccountArgs(["--name", "p", "--role", "admin", "--public-key-file", "k.pem"])).toThrow(/unknown role "admin"/);
    expect(() => parseCreateServiceAccountArgs(["--name", "p", "--role", "customer", "--public-key-file", "k.pem"])).toThrow(/unknown role/);
    expect(() => parseCreateServiceAccountArgs(["--role", "teller", "--public-key-file", "k.pem"])).toThrow(/--name/);
    expect(() => parseCreateServiceAccountArgs(["--name", "p", "--role", "teller"])).toThrow(/--public-key-file/);
    expect(() => parseCreateServiceAccountArgs(["--name", "p", "--public-key-file", "k.pem"])).toThrow(/--role/);
    expect(() => parseCreateServiceAccountArgs(["--name", "p", "--role", "teller", "--public-key-file", "k.pem", "--password", "x"])).toThrow(/password/);
  });
});

describe.each(engines())("create-service-account on %s", (engine) => {
  let t: AuthTestApp;
  let dir: string;
  const count = () => t.app.db.read(async (tx) => Number((await tx.one<{ n: number }>(`SELECT COUNT(*) AS n FROM service_accounts`, []))?.n ?? 0));
  beforeAll(async () => {
    t = await startAuthApp(engine);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-sa-cli-"));
  });
  afterAll(async () => t.stop());

  test("registers the key, prints the id, audits it as the CLI's", async () => {
    const file = path.join(dir, "ok.pem");
    fs.writeFileSync(file, generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }));
    const res = await run(t, ["--name", "payments", "--role", "payment_service", "--public-key-file", file]);
    expect(res).toMatchObject({ code: 0, err: "" });
    expect(res.out).toMatch(/^[0-9a-f-]{36}$/);
    const events = await t.app.db.read((tx) => tx.all<{ actor_id: string; client_address: string }>(`SELECT actor_id, client_address FROM audit_events WHERE action = 'admin.service_account_create' AND target_id = ?`, [res.out]));
    expect(events).toEqual([{ actor_id: "system", client_address: "cli" }]);
  });

  test("a private key, a non-Ed25519 key, a missing file: refused, nothing written", async () => {
    const before = await count();
    const pair = generateKeyPairSync("ed25519");
    const privateFile = path.join(dir, "private.pem");
    fs.writeFileSync(privateFile, pair.privateKey.export({ format: "pem", type: "pkcs8" }));
    const rsaFile = path.join(dir, "rsa.pem");
    fs.writeFileSync(rsaFile, generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "pem", type: "spki" }));
    const privateKey = await run(t, ["--name", "p", "--role", "payment_service", "--public-key-file", privateFile]);
    expect(privateKey.code).toBe(1);
    expect(privateKey.err).toMatch(/PRIVATE_KEY_SENT/);
    const rsa = await run(t, ["--name", "p", "--role", "payment_service", "--public-key-file", rsaFile]);
    expect(rsa.code).toBe(1);
    expect(rsa.err).toMatch(/PUBLIC_KEY_NOT_ED25519/);
    const missing = await run(t, ["--name", "p", "--role", "payment_service", "--public-key-file", path.join(dir, "nope.pem")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/ENOENT|no such file/);
    expect(await count()).toBe(before);
  });
});
