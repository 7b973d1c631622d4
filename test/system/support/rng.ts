// Seeded randomness for the system scenarios: every random choice a scenario makes (which
// accounts, which amounts, when to kill, which responses to drop) comes from one seed, printed at
// the start, so that a failing run can be replayed with BANK_TEST_SEED=<seed>.

/** A small, fast, seedable PRNG (mulberry32). Not for cryptography: for reproducible tests. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** An independent generator derived from this one (one per client, so that clients do not
   * depend on each other's interleaving for their own choices). */
  fork(salt: number): Rng {
    return new Rng((this.seed ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

/** The scenario's seed: BANK_TEST_SEED when set (replay), otherwise a fresh one. Printed. */
export function scenarioSeed(scenario: string): number {
  const fromEnv = process.env.BANK_TEST_SEED;
  const seed = fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  report(scenario, { seed, replay: `BANK_TEST_SEED=${seed}` });
  return seed;
}

/** One line of a scenario's counts on stdout (seed, operations, retries, kills, durations). */
export function report(scenario: string, fields: Record<string, unknown>): void {
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))}`)
    .join(" ");
  process.stdout.write(`[system:${scenario}] ${text}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
