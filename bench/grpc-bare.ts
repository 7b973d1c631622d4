// The bare references of the gRPC port's bench (bench/grpc-port.ts), each answering
// grpc.health.v1.Health/Check over gRPC (h2c) and nothing else, so that bankd's server CPU per
// call is read beside the floor of what it is built on, measured in the same run:
//   grpc-js   a @grpc/grpc-js Server, a unary method answering fixed bytes (status SERVING);
//   http2     Node's http2 core API answering fixed bytes: headers, one message, trailers;
//   connect   connect-node's connectNodeAdapter on an http2 server, a Health.check
//             implementation and nothing else (the floor of bankd's main port).
// Usage: node dist/bench/grpc-bare.js grpc-js|http2|connect   (prints "ready PORT")
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";

const kind = process.argv[2] ?? "grpc-js";
/** HealthCheckResponse { status: SERVING }. */
const serving = Buffer.from([0x08, 0x01]);

if (kind === "grpc-js") {
  const identity = (b: Buffer) => b;
  const server = new grpc.Server();
  server.addService(
    { check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, serving) },
  );
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) throw err;
    console.log(`ready ${bound}`);
  });
  process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
} else {
  let server: http2.Http2Server;
  if (kind === "http2") {
    const message = Buffer.concat([Buffer.from([0, 0, 0, 0, serving.length]), serving]);
    server = http2.createServer();
    server.on("stream", (stream) => {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(message);
      });
    });
  } else if (kind === "connect") {
    server = http2.createServer(connectNodeAdapter({ routes: (router) => router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) }) }));
  } else {
    throw new Error(`unknown reference ${kind}: grpc-js, http2 or connect`);
  }
  server.listen(0, "127.0.0.1", () => console.log(`ready ${(server.address() as AddressInfo).port}`));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
