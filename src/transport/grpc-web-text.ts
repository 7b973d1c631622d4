// gRPC-Web text mode (application/grpc-web-text, the default of the official grpc-web JavaScript
// client): the same frames as application/grpc-web, base64-encoded. The transport decodes the
// request into binary gRPC-Web for connect-es and encodes the answer back (PROTOCOL-WEB.md:
// each flushed chunk is encoded on its own, with its padding, so a message is never held back
// waiting for bytes of the next one; decoders accept padding inside the stream).
import { Code, ConnectError } from "@connectrpc/connect";

const BASE64_CHARS = /^[A-Za-z0-9+/=]*$/;

/** The binary gRPC-Web Content-Type for a text one (application/grpc-web-text+proto ->
 * application/grpc-web+proto). */
export function binaryContentType(textContentType: string): string {
  return textContentType.replace(/grpc-web-text/i, "grpc-web");
}

/** Decodes a base64 request body as it arrives. Whitespace is ignored; every complete group of
 * four characters is decoded on its own, so padding may appear between segments. */
export async function* decodeBase64Body(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending = "";
  for await (const chunk of body) {
    pending += Buffer.from(chunk).toString("latin1").replace(/\s+/g, "");
    if (!BASE64_CHARS.test(pending)) throw notBase64();
    const whole = pending.length - (pending.length % 4);
    if (whole > 0) {
      yield decodeGroups(pending.slice(0, whole));
      pending = pending.slice(whole);
    }
  }
  if (pending.length > 0) throw notBase64();
}

/** Encodes each chunk of a response body as base64, padded. */
export async function* encodeBase64Body(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    if (chunk.byteLength > 0) yield Buffer.from(Buffer.from(chunk).toString("base64"), "latin1");
  }
}

function decodeGroups(text: string): Uint8Array {
  // Padding may end a segment in the middle of the stream: decode segment by segment.
  const segments = text.split(/(?<==)(?=[^=])/);
  return Buffer.concat(segments.map((s) => Buffer.from(s, "base64")));
}

function notBase64(): ConnectError {
  return new ConnectError("protocol error: the grpc-web-text body is not base64", Code.InvalidArgument);
}
