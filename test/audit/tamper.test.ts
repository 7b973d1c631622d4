// Goal: a stored audit event edited, deleted or reordered by hand in the database (plain SQL on a
// connection of its own, as an intruder or a careless operator would) is pointed at, by event id
// and seq, both by AuditService.VerifyAuditLog over a real server and by the verify-audit
// command — on SQLite and on PostgreSQL. The command runs as a spawned
// `npx tsx src/cli.ts verify-audit` for the intact chain and one tampering; the other cases run
// the same command in-process through cli.main(), because each spawn costs seconds of startup.
import * as path from "node:path";
import { execFile } from "node:child_process";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { Database } from "../../src/db/database";
import { recordAudit } from "../../src/audit/recorder";
import { main } from "../../src/cli";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { idAtSeq, restore, sampleEvent, snapshot, swapSeq, type Snapshot } from "./support";

const ROOT = path.resolve(__dirname, "../..");

/** Runs `npx tsx src/cli.ts verify-audit` against the test database. */
function verifyAuditCli(t: TestApp): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "src/cli.ts", "verify-audit"],
      { cwd: ROOT, env: { ...process.env, BANK_DATABASE_URL: t.db.url, BANK_DATA_DIR: t.db.dataDir, BANK_LOG_LEVEL: "silent" }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `bankd verify-audit` in this process, capturing what it prints. */
async function verifyAuditInProcess(t: TestApp): Promise<{ code: number; stdout: string }> {
  const saved = { url: process.env.BANK_DATABASE_URL, dir: process.env.BANK_DATA_DIR };
  process.env.BANK_DATABASE_URL = t.db.url;
  process.env.BANK_DATA_DIR = t.db.dataDir;
  const lines: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
  try {
    return { code: await main(["verify-audit"]), stdout: lines.join("\n") };
  } finally {
    log.mockRestore();
    for (const [name, value] of [["BANK_DATABASE_URL", saved.url], ["BANK_DATA_DIR", saved.dir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe.each(engines())("tampering on %s", (engine) => {
  let t: TestApp;
  let raw: Database;
  let auditor: TestUser;
  let snap: Snapshot;
  let headSeq: number;
  const verify = () => client(t.baseUrl, AuditService, { token: auditor.token }).verifyAuditLog({});
  const sql = (statement: string) => raw.transaction((tx) => tx.run(statement));

  beforeAll(async () => {
    t = await startTestApp(engine);
    raw = await Database.open(t.db.config);
    auditor = await createTestUser(t, [Role.AUDITOR]);
    for (let i = 0; i < 10; i++) await t.app.db.transaction((tx) => recordAudit(tx, sampleEvent(i)));
    const verified = await verify();
    expect(verified.ok).toBe(true);
    snap = await snapshot(raw);
    headSeq = Number(snap.head.seq);
  });
  afterEach(() => restore(raw, snap));
  afterAll(async () => {
    await raw.close();
    await t.stop();
  });

  test("an intact chain verifies: VerifyAuditLog ok, verify-audit exits 0 with a one-line summary", async () => {
    const verified = await verify();
    expect(verified).toMatchObject({ ok: true, eventsChecked: BigInt(headSeq), firstBadEventId: "" });
    const cli = await verifyAuditCli(t);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split("\n")).toHaveLength(1);
    expect(cli.stdout).toMatch(new RegExp(`^audit chain OK: ${headSeq} events verified \\(head seq ${headSeq}, head hash [0-9a-f]{64}\\)$`, "m"));
  });

  // [what, tamper, seq of the event the report must name (before tampering), problem pattern].
  // The swap case also spawns the real command.
  const cases: [string, () => Promise<unknown>, () => number, RegExp][] = [
    ["edit an event's details", () => sql(`UPDATE audit_events SET details = '{"amount_minor":"1"}' WHERE seq = 3`), () => 3, /edited/],
    ["edit an event's outcome", () => sql(`UPDATE audit_events SET outcome = CASE WHEN outcome = 'SUCCESS' THEN 'FAILED' ELSE 'SUCCESS' END WHERE seq = 4`), () => 4, /edited/],
    ["delete a middle event", () => sql(`DELETE FROM audit_events WHERE seq = 5`), () => 5, /deleted: seq 5 is missing/],
    ["delete the last event", () => sql(`DELETE FROM audit_events WHERE seq = ${headSeq}`), () => headSeq, /deleted: seq \d+ is missing/],
    ["swap two events' seq", () => swapSeq(raw, 6, 7), () => 7, /reordered/],
  ];

  test.each(cases)("%s: VerifyAuditLog and verify-audit name the event", async (_what, tamper, seqOf, problem) => {
    const seq = seqOf();
    const id = snap.rows.find((r) => Number(r.seq) === seq)!.id;
    // The event the report names sits at this seq after tampering (the swap moved it to 6).
    const shownSeq = _what.startsWith("swap") ? 6 : seq;
    await tamper();

    const verified = await verify();
    expect(verified.ok).toBe(false);
    expect(verified.firstBadEventId).toBe(id);
    expect(verified.problem).toMatch(problem);
    expect(verified.problem).toMatch(new RegExp(`^seq ${shownSeq}: `));

    const cli = _what.startsWith("swap") ? await verifyAuditCli(t) : await verifyAuditInProcess(t);
    expect(cli.code).toBe(3);
    expect(cli.stdout).toMatch(new RegExp(`^audit chain BROKEN at event ${id} \\(seq ${shownSeq}\\): .+`, "m"));
    expect(cli.stdout).toMatch(problem);
  });

  test("after restoring the rows the chain verifies again (the cases above did not leak)", async () => {
    expect((await verify()).ok).toBe(true);
    expect(await idAtSeq(raw, headSeq)).toBe(snap.rows[headSeq - 1]!.id);
  });
});
