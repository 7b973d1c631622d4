// Goal: with BANK_TLS_CERT and BANK_TLS_KEY the same port speaks TLS, negotiating h2 (gRPC) or
// http/1.1 (Connect) by ALPN.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { execFileSync } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { startTestApp, type TestApp } from "../support/app";

let t: TestApp;
let ca: Buffer;

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "bankd-tls-"));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  ca = fs.readFileSync(cert);
  t = await startTestApp("sqlite", { BANK_TLS_CERT: cert, BANK_TLS_KEY: key });
});
afterAll(async () => t.stop());

test("gRPC over TLS (ALPN h2) and Connect over TLS (ALPN http/1.1) on one port", async () => {
  expect(t.baseUrl.startsWith("https://")).toBe(true);
  const grpc = createClient(Health, createGrpcTransport({ baseUrl: t.baseUrl, nodeOptions: { ca } }));
  expect((await grpc.check({ service: "" })).status).toBe(Status.SERVING);
  const connect = createClient(Health, createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", nodeOptions: { ca } }));
  let headers: Headers | undefined;
  expect((await connect.check({ service: "" }, { onHeader: (h) => (headers = h) })).status).toBe(Status.SERVING);
  // Security W12: under TLS every answer asks browsers to stay on HTTPS; API answers are not cached.
  expect(headers?.get("strict-transport-security")).toBe("max-age=31536000");
  expect(headers?.get("cache-control")).toBe("no-store");
  const negotiate = (protocols: string[]) =>
    new Promise<string | false | null>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port: t.app.server.port, ca, ALPNProtocols: protocols }, () => {
        resolve(socket.alpnProtocol);
        socket.end();
      });
      socket.on("error", reject);
    });
  expect(await negotiate(["h2", "http/1.1"])).toBe("h2");
  const alpn = await negotiate(["http/1.1"]);
  expect(alpn).toBe("http/1.1");
});
