// Goal: the recipes in README.md work as written, so the docs cannot rot: the buf curl ones
// (between <!-- recipes:start --> and <!-- recipes:end -->) and the plain curl ones of the Connect
// protocol (<!-- curl-recipes:start --> ... <!-- curl-recipes:end -->). Every ```sh block of a
// section is run in order in one bash (with `set -euo pipefail`, the base URL swapped for a real
// test server's), each must finish, and each section runs twice in a row, as a reader may (a new
// email each time). What they did is checked through the API for both runs: a customer with a
// checking and a savings account, 100.00 deposited, 12.34 transferred once (despite the retry in
// the buf curl recipes), the refused transfer refused with INSUFFICIENT_FUNDS.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionType } from "../../gen/bank/v1/transaction_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { fromBinary } from "@bufbuild/protobuf";
import { recipeBlocks } from "./doc-markdown";

const README = path.resolve("README.md");
const DOC_BASE_URL = "http://127.0.0.1:8080";
const MARKER = "@@recipe-block";

/** One bash script that runs the blocks in order, twice, marking each block and the email of
 * each run on stdout. */
function twiceScript(blocks: string[], baseUrl: string): string {
  const once = (run: number) => [
    ...blocks.flatMap((block, i) => [`echo "${MARKER} ${run}.${i}"`, block.split(DOC_BASE_URL).join(baseUrl)]),
    `echo "${MARKER} ${run}.email $EMAIL"`,
  ];
  return [
    "set -euo pipefail",
    // `npx buf` as written, minus npm's start-up cost per call (about a second each).
    `export PATH="${path.resolve("node_modules/.bin")}:$PATH"`,
    'npx() { "$@"; }',
    ...once(1),
    ...once(2),
    `echo "${MARKER} done"`,
  ].join("\n");
}

/** Runs the script; throws with the failing block when it fails. Returns stdout, stderr and the
 * output of each run (between its markers). */
async function runTwice(blocks: string[], baseUrl: string): Promise<{ stdout: string; stderr: string; runs: string[]; emails: string[] }> {
  const run = await runBash(twiceScript(blocks, baseUrl));
  const reached = [...run.stdout.matchAll(new RegExp(`^${MARKER} (\\S+)`, "gm"))].map((m) => m[1]!);
  const failed = reached[reached.length - 1] ?? "none";
  if (run.code !== 0) throw new Error(`recipe block ${failed} failed (exit ${run.code}):\n${blocks[Number(failed.split(".")[1])]}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  const expected = [1, 2].flatMap((r) => [...blocks.map((_, i) => `${r}.${i}`), `${r}.email`]);
  expect(reached).toEqual([...expected, "done"]);
  const emails = [...run.stdout.matchAll(new RegExp(`^${MARKER} \\d\\.email (\\S+)$`, "gm"))].map((m) => m[1]!);
  const runs = run.stdout.split(new RegExp(`^${MARKER} 2\\.0$`, "m"));
  return { stdout: run.stdout, stderr: run.stderr, runs, emails };
}

function runBash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Run from the repository, as a reader would: npx finds the buf of node_modules.
    const child = spawn("bash", ["-c", script], { cwd: path.dirname(README), env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.each(engines())("README buf curl recipes on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  test("the buf curl recipes run in order, twice, and do what they say", async () => {
    const blocks = recipeBlocks(fs.readFileSync(README, "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const text = blocks.join("\n");
    for (const method of ["--list-services", "AuthService/Register", "AuthService/Login", "AuthService/GetCurrentUser", "AccountService/CreateAccount", "TransactionService/Deposit", "TransactionService/Transfer", "TransactionService/ListTransactions"]) {
      expect(text).toContain(method);
    }
    const run = await runTwice(blocks, t.baseUrl);
    const listed = run.stdout.split(new RegExp(`^${MARKER} 1\\.1$`, "m"))[0]!;
    expect(listed).toContain("bank.v1.TransactionService");
    expect(listed).toContain("grpc.reflection.v1.ServerReflection");
    // The refusal prints its code and its ErrorInfo reason (Connect: bankd puts it under "debug").
    expect(run.stderr).toContain('"code": "failed_precondition"');
    expect(run.stderr).toContain('"reason": "INSUFFICIENT_FUNDS"');
    for (const output of run.runs) {
      expect(output).toContain("refused, as expected");
      // The retried transfer printed the same transaction id twice.
      const transferIds = output.split("\n").filter((line) => /^[0-9a-f]{8}-[0-9a-f-]{27}$/.test(line));
      expect(transferIds).toHaveLength(2);
      expect(transferIds[0]).toBe(transferIds[1]);
    }
    expect(run.emails).toHaveLength(2);
    expect(run.emails[0]).not.toBe(run.emails[1]);
    for (const email of run.emails) await checkState(t, text, email);
  }, 240_000);

  test("the curl recipes (the Connect protocol, no other tool) run in order, twice, and do what they say", async () => {
    const blocks = recipeBlocks(fs.readFileSync(README, "utf8"), "curl-recipes");
    const text = blocks.join("\n");
    expect(text).toMatch(/^BANK_URL=http:\/\/127\.0\.0\.1:8080$/m);
    expect(text).not.toContain("buf curl");
    for (const method of ["AuthService/Register", "AuthService/Login", "AccountService/CreateAccount", "TransactionService/Deposit", "TransactionService/Transfer", "AccountService/GetBalance"]) {
      expect(text).toContain(method);
    }
    const run = await runTwice(blocks, t.baseUrl);
    for (const output of run.runs) {
      expect(output).toContain('"type": "TRANSACTION_TYPE_TRANSFER"');
      expect(output).toMatch(/^failed_precondition INSUFFICIENT_FUNDS$/m);
      expect(output).toContain('"minorUnits": "8766"');
    }
    expect(run.emails).toHaveLength(2);
    expect(run.emails[0]).not.toBe(run.emails[1]);
    for (const email of run.emails) await checkState(t, text, email);
  }, 120_000);
});

describe.each(engines())("README's word on buf curl over gRPC, on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  // README: with --protocol grpc, buf curl prints the ErrorInfo detail's type and bytes but no
  // decoded reason. The bytes are the ErrorInfo all the same.
  test("--protocol grpc: the detail is bank.v1.ErrorInfo, printed as bytes", async () => {
    const run = await runBash(
      `export PATH="${path.resolve("node_modules/.bin")}:$PATH"; buf curl --http2-prior-knowledge --protocol grpc -d '{"email": "nobody@example.com", "password": "not the password 42"}' ${t.baseUrl}/bank.v1.AuthService/Login`,
    );
    expect(run.code).not.toBe(0);
    const printed = JSON.parse(run.stderr) as { code: string; details: { type: string; value: string; debug?: unknown }[] };
    expect(printed.code).toBe("unauthenticated");
    expect(printed.details[0]!.type).toBe("bank.v1.ErrorInfo");
    expect(printed.details[0]!.debug).toBeUndefined();
    expect(fromBinary(ErrorInfoSchema, Buffer.from(printed.details[0]!.value, "base64")).reason).toBe("INVALID_CREDENTIALS");
  }, 60_000);
});

/** What one run of the recipes did, seen through the API: one transfer in the statement, even
 * where the recipe sent it twice (a retry with the same request id). */
async function checkState(t: TestApp, text: string, email: string): Promise<void> {
  const password = /^PASSWORD='([^']+)'$/m.exec(text)![1]!;
  const login = await client(t.baseUrl, AuthService).login({ email, password });
  const { accounts } = await client(t.baseUrl, AccountService, { token: login.accessToken }).listAccounts({});
  const byName = new Map(accounts.map((a) => [a.displayName, a]));
  expect(byName.get("Everyday")?.ledgerBalance?.minorUnits).toBe(100_00n - 12_34n);
  expect(byName.get("Rainy day")?.ledgerBalance?.minorUnits).toBe(12_34n);
  const statement = await client(t.baseUrl, TransactionService, { token: login.accessToken }).listTransactions({ accountId: byName.get("Everyday")!.id });
  expect(statement.entries.map((e) => [e.transaction?.type, e.amount?.minorUnits, e.balanceAfter?.minorUnits])).toEqual([
    [TransactionType.TRANSFER, -12_34n, 87_66n],
    [TransactionType.DEPOSIT, 100_00n, 100_00n],
  ]);
}
