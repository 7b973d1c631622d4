// Goal: imports in src/ run one way. Domain folders (ledger, auth, audit, admin) import no
// transport (services/, server.ts, app.ts, rpc-adapter.ts, the composition root modules.ts), no
// @connectrpc/* package and no generated code (gen/), and no module of src/ or web/src reaches itself again through its imports. The rules are .dependency-cruiser.cjs, also
// run by `npm run lint`; this test runs them on src/, and on a small tree that breaks each rule
// to show that they catch what they claim to.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");
const depcruise = path.join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs");

function cruise(cwd: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [depcruise, "src", "web/src", "--config", path.join(root, ".dependency-cruiser.cjs"), "--output-type", "err"], { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test("src/ has no domain -> transport, Connect or gen/ import, and src/ and web/src no import cycle", () => {
  const { status, output } = cruise(root);
  expect(output).toContain("no dependency violations found");
  expect(status).toBe(0);
});

test("the rules fail on a domain importing a service, Connect or gen/, a money command importing the store or the database, and on a cycle in src/ or web/src", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-deps-"));
  try {
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "commonjs", strict: true } }));
    write("src/ledger/rules.ts", 'import { handler } from "../services/ledger-service";\nexport const rule = handler;\n');
    write("src/services/ledger-service.ts", "export const handler = 1;\n");
    write("src/first.ts", 'import type { Second } from "./second";\nexport type First = { second?: Second };\n');
    write("src/second.ts", 'import type { First } from "./first";\nexport type Second = { first?: First };\n');
    write("node_modules/@connectrpc/connect/package.json", JSON.stringify({ name: "@connectrpc/connect", main: "index.js" }));
    write("node_modules/@connectrpc/connect/index.js", "exports.Code = {};\n");
    write("src/auth/wire.ts", 'import { Code } from "@connectrpc/connect";\nexport const code = Code;\n');
    write("gen/bank/v1/access_pb.ts", "export enum Role { ADMIN = 4 }\n");
    write("src/admin/roles.ts", 'import { Role } from "../../gen/bank/v1/access_pb";\nexport const admin = Role.ADMIN;\n');
    write("src/ledger/store/accounts.ts", "export async function readAccount(): Promise<void> {}\nexport type Row = { id: string };\n");
    write("src/db/database.ts", "export class Database {}\n");
    write("src/ledger/commands/freeze.ts", 'import { readAccount } from "../store/accounts";\nimport { Database } from "../../db/database";\nexport const io = [readAccount, Database];\n');
    // A type-only import is allowed: it brings no statement into the command.
    write("src/ledger/commands/typed.ts", 'import type { Row } from "../store/accounts";\nexport type Typed = Row;\n');
    write("web/src/panel.ts", 'import type { Form } from "./form";\nexport type Panel = { form?: Form };\n');
    write("web/src/form.ts", 'import type { Panel } from "./panel";\nexport type Form = { panel?: Panel };\n');
    const { status, output } = cruise(dir);
    expect(output).toMatch(/domain-imports-no-transport: src\/ledger\/rules\.ts → src\/services\/ledger-service\.ts/);
    expect(output).toMatch(/domain-imports-no-connect: src\/auth\/wire\.ts → node_modules\/@connectrpc\/connect\/index\.js/);
    expect(output).toMatch(/domain-imports-no-generated-code: src\/admin\/roles\.ts → gen\/bank\/v1\/access_pb\.ts/);
    expect(output).toMatch(/ledger-commands-do-no-io: src\/ledger\/commands\/freeze\.ts → src\/ledger\/store\/accounts\.ts/);
    expect(output).toMatch(/ledger-commands-do-no-io: src\/ledger\/commands\/freeze\.ts → src\/db\/database\.ts/);
    expect(output).not.toMatch(/commands\/typed\.ts/);
    expect(output).toMatch(/no-cycles: src\/(first|second)\.ts/);
    expect(output).toMatch(/no-cycles: web\/src\/(panel|form)\.ts/);
    expect(status).not.toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
