// One at a time per key, in arrival order, with a bounded queue per key. Sign-in attempts for one
// account from one address take turns in this process, so that a burst of them (an attacker's
// parallel guesses, or a client signing in many times at once) is checked one after the other
// against the throttle instead of racing it; the throttle's reservation (throttle.ts) covers
// attempts spread over several processes.
import { ok as assert } from "node:assert/strict";

interface Queue {
  tail: Promise<void>;
  /** Jobs of this key queued or running. */
  pending: number;
}

export class KeyedTurns {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly pendingMax: number,
    /** The error for a job that finds its key's queue full. */
    private readonly busy: () => Error,
  ) {}

  async run<T>(key: string, job: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (queue && queue.pending >= this.pendingMax) throw this.busy();
    if (!queue) {
      queue = { tail: Promise.resolve(), pending: 0 };
      this.queues.set(key, queue);
    }
    const previous = queue.tail;
    let done!: () => void;
    queue.tail = new Promise<void>((resolve) => (done = resolve));
    queue.pending += 1;
    try {
      await previous;
      return await job();
    } finally {
      queue.pending -= 1;
      assert(queue.pending >= 0, "turns: more jobs finished than started");
      // Nobody queued behind this job: the key is forgotten, so the map holds only live keys.
      if (queue.pending === 0) this.queues.delete(key);
      done();
    }
  }

  /** Keys with jobs queued or running. */
  get size(): number {
    return this.queues.size;
  }
}
