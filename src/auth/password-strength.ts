// zxcvbn-ts scoring off the event loop. Its pattern matching is superlinear: a crafted
// 64-character password costs hundreds of milliseconds of CPU, which on the main thread would
// stall every other call. So the estimator (and its dictionaries, loaded once) lives in one
// worker thread, and checks go through a bounded queue like argon2.
import { Worker } from "node:worker_threads";
import { limits } from "../limits";
import { resourceExhausted } from "../errors";
import { WorkQueue } from "../util/work-queue";

export interface Strength {
  score: number;
  warning: string;
}

// Plain JavaScript, evaluated in the worker, so that it runs the same under tsx, ts-jest and
// compiled output. Module paths are resolved in the main thread and passed in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { ZxcvbnFactory } = require(workerData.core);
const common = require(workerData.common);
const en = require(workerData.en);
const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...en.dictionary },
  graphs: common.adjacencyGraphs,
  translations: en.translations,
  maxLength: workerData.maxLength,
});
parentPort.on("message", ({ id, password, userInputs }) => {
  try {
    const result = zxcvbn.check(password, userInputs);
    parentPort.postMessage({ id, score: result.score, warning: result.feedback.warning || "" });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message) });
  }
});
`;

type Pending = { resolve: (s: Strength) => void; reject: (e: Error) => void };

class StrengthWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queue = new WorkQueue({
    concurrencyMax: 1,
    queueMax: limits.passwordCheckQueueMax,
    waitMsMax: limits.passwordCheckQueueWaitMs,
    busy: () => resourceExhausted("PASSWORD_CHECK_BUSY", "Too many password checks at once; retry shortly.", { retry_after_ms: String(limits.passwordCheckQueueWaitMs) }),
  });

  check(password: string, userInputs: string[]): Promise<Strength> {
    return this.queue.run(() => this.post(password, userInputs));
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private post(password: string, userInputs: string[]): Promise<Strength> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Strength>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive only while a check is in flight.
      worker.ref();
      worker.postMessage({ id, password, userInputs });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        core: require.resolve("@zxcvbn-ts/core"),
        common: require.resolve("@zxcvbn-ts/language-common"),
        en: require.resolve("@zxcvbn-ts/language-en"),
        maxLength: limits.passwordScoredCharsMax,
      },
    });
    worker.on("message", (msg: { id: number; score?: number; warning?: string; error?: string }) => this.settle(msg));
    worker.on("error", (err) => this.fail(worker, err));
    worker.on("exit", () => this.fail(worker, new Error("password strength worker exited")));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(msg: { id: number; score?: number; warning?: string; error?: string }): void {
    const pending = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (!pending) return;
    if (msg.error !== undefined || msg.score === undefined) pending.reject(new Error(`password strength check failed: ${msg.error ?? "no score"}`));
    else pending.resolve({ score: msg.score, warning: msg.warning ?? "" });
  }

  /** A dead worker fails its checks (INTERNAL) and is replaced on the next check. */
  private fail(worker: Worker, err: Error): void {
    if (this.worker === worker) this.worker = undefined;
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}

let shared: StrengthWorker | undefined;

/** Scores a password in the shared worker (started on first use). */
export function passwordStrength(password: string, userInputs: string[]): Promise<Strength> {
  shared ??= new StrengthWorker();
  return shared.check(password, userInputs);
}

/** Stops the worker; a later check starts a new one. */
export async function closePasswordStrength(): Promise<void> {
  const worker = shared;
  shared = undefined;
  await worker?.close();
}
