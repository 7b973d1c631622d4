// The in-process baselines' own process (forked once by the bench, with an IPC channel), so that
// their CPU use is not mixed with the bench's bookkeeping. It runs jobs one after the other --
// raw argon2 verifications, or raw SQLite transfers -- reporting progress every 200 ms and
// sending each measurement back. It exits when the bench disconnects. (Calls to bankd are wrk's:
// bench/wrk.ts.)
import * as argon2 from "argon2";
import { randomBytes } from "node:crypto";
import { runClosedLoop, type Progress } from "./closed-loop";
import { readFixture } from "./seed";
import { sqliteTransferOperation } from "./sqlite-transfer";
import type { Measurement } from "./stats";

export type Job =
  | { type: "argon2"; concurrency: number; memoryCostKib: number; timeCost: number; parallelism: number; warmupMs: number; durationMs: number }
  | { type: "sqlite-transfer"; file: string; fixtureFile: string; hot: boolean; warmupMs: number; durationMs: number };

export type ChildMessage =
  | { kind: "progress"; progress: Progress }
  | { kind: "result"; measurement: Measurement }
  | { kind: "error"; message: string };

const send = (message: ChildMessage) => process.send?.(message);
const onProgress = (progress: Progress) => send({ kind: "progress", progress });

async function run(job: Job): Promise<Measurement> {
  if (job.type === "argon2") return argon2Baseline(job);
  const op = await sqliteTransferOperation(job.file, readFixture(job.fixtureFile), job.hot);
  try {
    // SQLite has one writer: one connection, one transfer at a time (as bankd's own pool of 1).
    return await runClosedLoop({ name: job.hot ? "sqlite-hot" : "sqlite-uniform", concurrency: 1, warmupMs: job.warmupMs, durationMs: job.durationMs, op: op.run, onProgress });
  } finally {
    await op.close();
  }
}

/** Raw argon2id verifications of a correct password with bankd's costs, at most `concurrency`
 * at once (bankd's argon2ConcurrencyMax): the ceiling of Login. */
async function argon2Baseline(job: Extract<Job, { type: "argon2" }>): Promise<Measurement> {
  const password = `Bench-${randomBytes(18).toString("base64url")}`;
  const options = { type: argon2.argon2id, memoryCost: job.memoryCostKib, timeCost: job.timeCost, parallelism: job.parallelism, hashLength: 32 } as const;
  const hash = await argon2.hash(password, options);
  return runClosedLoop({
    name: "argon2",
    concurrency: job.concurrency,
    warmupMs: job.warmupMs,
    durationMs: job.durationMs,
    op: async () => {
      if (!(await argon2.verify(hash, password))) throw new Error("argon2 verification failed");
      return "verify";
    },
    onProgress,
  });
}

process.on("message", (job: Job) => {
  run(job).then(
    (measurement) => send({ kind: "result", measurement }),
    (err: unknown) => send({ kind: "error", message: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
