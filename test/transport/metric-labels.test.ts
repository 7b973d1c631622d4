// Goal (issue 25, attack 3): a client cannot grow /metrics by asking for methods that do not
// exist. Before, each unknown path (`POST /bank.v1.X<random>/M`, no token) became a label value of
// bankd_rpc_total and bankd_rpc_duration_seconds: 20,000 paths made /metrics 81 MB. Now unknown
// services and methods count under one label ("unknown"), and every label value in /metrics comes
// from a finite list. Hostile side: 10,000 random paths, without a token, over the Connect
// protocol (HTTP/1.1), gRPC (HTTP/2) on the main port, and gRPC on the gRPC port (grpc-js); the
// scrape grows by at most 2 KB, and each answer is still UNIMPLEMENTED.
import * as http from "node:http";
import * as http2 from "node:http2";
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { metricsText } from "../support/metrics";
import { startTestApp, type TestApp } from "../support/app";

const PATHS = 10_000;
const randomPath = () => `/bank.v1.X${randomBytes(12).toString("hex")}/M${randomBytes(6).toString("hex")}`;

/** The bytes of a scrape, less the families that change by themselves while the test runs (the
 * process's own metrics, and the database's, which a background task such as the audit sealer
 * may add a series to): what is left is what calls can grow. */
function bytesOf(scrape: string): number {
  return Buffer.byteLength(scrape.split("\n").filter((line) => !/^(# (HELP|TYPE) )?(process_|nodejs_|bankd_db_)/.test(line)).join("\n"));
}

/** Runs `n` calls of `one`, `width` at a time; returns how many answered as expected. */
async function pool(n: number, width: number, one: () => Promise<boolean>): Promise<number> {
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next++ < n) if (await one()) ok++;
    }),
  );
  return ok;
}

describe("metrics labels stay bounded whatever paths clients ask for", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("sqlite");
  });
  afterAll(async () => t.stop());

  test(`${PATHS} random method paths without a token grow /metrics by at most 2 KB`, async () => {
    const before = await metricsText(t.baseUrl);
    const url = new URL(t.baseUrl);

    // Connect protocol, HTTP/1.1 keep-alive connections.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const connectOne = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, path: randomPath(), method: "POST", agent, headers: { "content-type": "application/json", "connect-protocol-version": "1" } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 501));
        });
        req.on("error", reject);
        req.end("{}");
      });
    // gRPC on the main port: one HTTP/2 connection, many streams.
    const session = http2.connect(t.baseUrl);
    const grpcOne = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": randomPath(), "content-type": "application/grpc", te: "trailers" });
        let status: string | undefined;
        req.on("response", (h) => (status = h["grpc-status"] as string | undefined));
        req.on("trailers", (h) => (status ??= h["grpc-status"] as string | undefined));
        req.on("data", () => undefined);
        req.on("end", () => resolve(status === "12"));
        req.on("error", reject);
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    // gRPC port (grpc-js): it answers unknown methods itself.
    const grpcClient = new grpc.Client(t.app.grpcPort!.target, grpc.credentials.createInsecure());
    const grpcPortOne = () =>
      new Promise<boolean>((resolve) => {
        grpcClient.makeUnaryRequest(randomPath(), (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err) => resolve(err?.code === grpc.status.UNIMPLEMENTED));
      });

    const third = Math.floor(PATHS / 3);
    const answered = [await pool(third, 16, connectOne), await pool(third, 32, grpcOne), await pool(PATHS - 2 * third, 32, grpcPortOne)];
    agent.destroy();
    session.close();
    grpcClient.close();
    expect(answered).toEqual([third, third, PATHS - 2 * third]);

    const after = await metricsText(t.baseUrl);
    const growth = bytesOf(after) - bytesOf(before);
    console.log(`metric labels: ${PATHS} random paths; /metrics ${Buffer.byteLength(before)} -> ${Buffer.byteLength(after)} bytes in all; +${growth} bytes in the series a call can touch`);
    expect(growth).toBeLessThanOrEqual(2048);
    expect(after).toMatch(/bankd_rpc_total\{method="unknown",code="Unimplemented"\} [1-9]/);
    expect(after).not.toMatch(/bank\.v1\.X[0-9a-f]{24}/);
  });
});
