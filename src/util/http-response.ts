// The one response type every HTTP route and wrapper of the main port writes to: Node's HTTP/1.1
// ServerResponse or its HTTP/2 compatibility response. Both take writeHead(status, headers), but
// @types/node spells their overloads differently, so a call on the union does not type-check:
// writeHead() below is that call, spelled once.
import type * as http from "node:http";
import type * as http2 from "node:http2";

export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Sends the status line and headers (the same call on both response kinds). */
export function writeHead(res: NodeResponse, status: number, headers: http.OutgoingHttpHeaders = {}): void {
  (res as http.ServerResponse).writeHead(status, headers);
}
