// A bounded least-recently-used map whose entries also die at their own expiry time.
export class ExpiringLru<K, V> {
  private readonly entries = new Map<K, { value: V; expireMs: number }>();

  constructor(private readonly entriesMax: number) {}

  get(key: K, nowMs: number = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expireMs <= nowMs) return undefined;
    // Re-inserting moves the key to the young end of the Map's insertion order.
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, expireMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expireMs });
    while (this.entries.size > this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
