// A diagnostic, not part of `npm run bench`: how much CPU one argon2 verification costs (bankd's
// production costs, limits.argon2ConcurrencyMax at once) alone, and while one other process
// competes for the machine: a compute-only loop, then a loop that streams through 64 MiB of
// memory and allocates (as PostgreSQL and a busy Node server do). The login target compares bankd's logins
// with argon2 running alone; this shows what the sharing itself does to argon2's cost.
//   node dist/bench/argon2-contention.js [--seconds 8]
import { fork } from "node:child_process";
import * as argon2 from "argon2";
import { limits } from "../src/limits";

const PASSWORD = "correct horse battery staple";

async function measure(seconds: number): Promise<{ perSecond: number; cpuMsPerVerification: number }> {
  const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  let n = 0;
  const worker = async () => {
    while (Date.now() - started < seconds * 1000) {
      if (!(await argon2.verify(hash, PASSWORD))) throw new Error("argon2 verification failed");
      n++;
    }
  };
  await Promise.all(Array.from({ length: limits.argon2ConcurrencyMax }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: Math.round((n / seconds) * 10) / 10, cpuMsPerVerification: Math.round(((cpu.user + cpu.system) / 1000 / n) * 10) / 10 };
}

function burn(kind: string): never {
  if (kind === "cpu") {
    let y = 0;
    for (;;) for (let i = 0; i < 1e7; i++) y = (y * 31 + i) | 0;
  }
  // Streams through 64 MiB and allocates garbage, as a busy Node server or database does.
  const buffer = Buffer.alloc(64 << 20);
  let sum = 0;
  for (;;) {
    for (let i = 0; i < buffer.length; i += 64) sum += buffer[i]!++;
    JSON.stringify({ sum, list: [1, 2, 3] });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === "--burn") burn(process.argv[3] ?? "memory");
  const at = process.argv.indexOf("--seconds");
  const seconds = at > 0 ? Number(process.argv[at + 1]) : 8;
  console.log(`alone                          ${JSON.stringify(await measure(seconds))}`);
  for (const kind of ["cpu", "memory"]) {
    const competitor = fork(__filename, ["--burn", kind]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    console.log(`with one ${kind.padEnd(6)} process competing ${JSON.stringify(await measure(seconds))}`);
    competitor.kill();
  }
}

void main();
