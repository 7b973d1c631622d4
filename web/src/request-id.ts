// Request ids for mutating calls (AIP-155): one fresh id per intent, reused by every retry of it
// (see safe-retry.ts), so that a retry after a lost response replays the original result instead
// of moving money twice.

/** A random UUIDv4. crypto.randomUUID exists only in secure contexts (https, localhost), so a
 * console reached over plain http on another host builds one from getRandomValues. */
export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = 0x40 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
