// Refuses JSON requests that nest deeper than limits.jsonDepthMax, by counting brackets in one
// pass over the bytes before anything parses them. A 1 MiB body can nest half a million levels;
// parsing that and walking it into a message costs about a second of CPU before authentication,
// while counting costs a millisecond.
import { Code, type ConnectError } from "@connectrpc/connect";
import { connectError } from "./errors";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Tracks nesting across chunks. Bytes of multi-byte UTF-8 characters are all >= 0x80, so they
 * are never mistaken for brackets or quotes. */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly depthMax: number) {}

  /** Scans more bytes of the same document; false as soon as the nesting passes the limit. */
  scan(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) {
        this.inString = true;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (++this.depth > this.depthMax) return false;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth--;
      }
    }
    return true;
  }
}

export function jsonTooDeep(depthMax: number): ConnectError {
  return connectError(Code.InvalidArgument, "JSON_TOO_DEEP", `The JSON request nests objects and arrays deeper than ${depthMax} levels.`);
}

/** True when the whole document `bytes` nests at most `depthMax` levels. */
export function jsonDepthWithin(bytes: Uint8Array, depthMax: number): boolean {
  return new JsonDepthScanner(depthMax).scan(bytes);
}

/**
 * Passes an enveloped body (5-byte prefix + message, repeated) through, checking the nesting of
 * each JSON message before the chunk that completes it goes on; throws jsonTooDeep otherwise.
 * Compressed messages are decompressed to be checked, once whole; one larger than
 * `messageBytesMax` is not held (connect-es refuses it by its prefix anyway). `check`, when
 * given, sees each whole JSON message (decompressed) before the chunk that completes it goes on,
 * and may refuse it (strict int64: json-int64.ts).
 */
export async function* guardEnvelopedJson(
  body: AsyncIterable<Uint8Array>,
  depthMax: number,
  messageBytesMax: number,
  decompress: ((bytes: Uint8Array) => Promise<Uint8Array>) | undefined,
  check?: (bytes: Uint8Array) => ConnectError | undefined,
): AsyncGenerator<Uint8Array> {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let compressed = false;
  let hold = false;
  let scanner = new JsonDepthScanner(depthMax);
  let held: Uint8Array[] = [];
  for await (const chunk of body) {
    let offset = 0;
    while (offset < chunk.length) {
      if (remaining === 0 && header.length < 5) {
        const take = Math.min(5 - header.length, chunk.length - offset);
        header = Buffer.concat([header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (header.length < 5) break;
        remaining = header.readUInt32BE(1);
        compressed = (header[0]! & 1) === 1 && remaining <= messageBytesMax && decompress !== undefined;
        hold = compressed || (check !== undefined && (header[0]! & 1) === 0 && remaining <= messageBytesMax);
        scanner = new JsonDepthScanner(depthMax);
        held = [];
        header = remaining === 0 ? Buffer.alloc(0) : header;
        continue;
      }
      const take = Math.min(remaining, chunk.length - offset);
      const part = chunk.subarray(offset, offset + take);
      offset += take;
      remaining -= take;
      if (hold) held.push(part);
      if (!compressed && (header[0]! & 1) === 0 && !scanner.scan(part)) throw jsonTooDeep(depthMax);
      if (remaining === 0) {
        header = Buffer.alloc(0);
        if (!hold) continue;
        const message = compressed && decompress ? await decompress(Buffer.concat(held)) : Buffer.concat(held);
        if (compressed && !jsonDepthWithin(message, depthMax)) throw jsonTooDeep(depthMax);
        const refusal = check?.(message);
        if (refusal) throw refusal;
      }
    }
    yield chunk;
  }
}
