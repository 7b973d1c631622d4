// Bounded concurrency with a short, bounded wait: at most `concurrencyMax` jobs run at once,
// at most `queueMax` wait, and none waits longer than `waitMsMax`. Used for argon2, whose
// hashes would otherwise fill libuv's thread pool and starve every other RPC (DNS, file and
// crypto work share that pool).
import { assert } from "./assert";

export interface WorkQueueOptions {
  concurrencyMax: number;
  queueMax: number;
  waitMsMax: number;
  /** The error for a job that cannot be queued or waited too long. */
  busy: () => Error;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  /** Jobs running now. */
  get runningCount(): number {
    return this.running;
  }

  /** Jobs waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  constructor(private readonly opts: WorkQueueOptions) {
    assert(opts.concurrencyMax >= 1, "a work queue runs at least one job at a time");
    assert(opts.queueMax >= 0, "a work queue's bound is not negative");
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.opts.concurrencyMax) {
      // Nobody waits while a slot is free: a release hands its slot to the first waiter.
      assert(this.waiting.length === 0, "no job waits while a slot is free");
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.opts.queueMax) return Promise.reject(this.opts.busy());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(this.opts.busy());
        }, this.opts.waitMsMax),
      };
      this.waiting.push(waiter);
      assert(this.waiting.length <= this.opts.queueMax, "the queue holds at most queueMax waiters");
    });
  }

  private release(): void {
    assert(this.running > 0, "a release follows an acquire");
    assert(this.running <= this.opts.concurrencyMax, "at most concurrencyMax jobs run at once");
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `running` stays the same.
    if (next) next.start();
    else this.running--;
  }
}
