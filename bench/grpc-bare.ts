// The bare @grpc/grpc-js reference of the gRPC port's bench (bench/grpc-port.ts): a grpc-js
// Server answering grpc.health.v1.Health/Check with fixed bytes (status SERVING), nothing else.
// Its server CPU per call is the floor the gRPC port is compared with in the same run.
// Usage: node dist/bench/grpc-bare.js PORT   (prints "ready" when listening)
import * as grpc from "@grpc/grpc-js";

const port = Number(process.argv[2] ?? "0");
const serving = Buffer.from([0x08, 0x01]);
const identity = (b: Buffer) => b;
const server = new grpc.Server();
server.addService(
  { check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  { check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, serving) },
);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  console.log(`ready ${bound}`);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
