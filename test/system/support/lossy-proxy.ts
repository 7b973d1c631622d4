// A loopback TCP proxy that loses responses: it forwards bytes both ways between a client and
// bankd, and when the first bytes of a response come back from bankd it may instead destroy both
// sockets. The server has then processed the request (a response was on its way, and bankd
// acknowledges nothing before commit) but the client never hears of it: exactly the case
// AIP-155 request ids exist for. Decisions come from a seeded generator.
//
// One request at a time per connection is assumed (HTTP/1.1 keep-alive, which is what the
// Connect transport of the scenarios uses): "a response begins" = the first server bytes after
// the client sent something.
import * as net from "node:net";
import { Rng } from "./rng";

export interface ProxyStats {
  connections: number;
  responses: number;
  dropped: number;
}

export class LossyProxy {
  readonly stats: ProxyStats = { connections: 0, responses: 0, dropped: 0 };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `targetPort`; `dropFraction` of responses
   * are lost. */
  static async start(targetPort: number, dropFraction: number, rng: Rng): Promise<LossyProxy> {
    let proxy: LossyProxy | undefined;
    const server = net.createServer((client) => proxy!.handle(client, targetPort, dropFraction, rng));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new LossyProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(client: net.Socket, targetPort: number, dropFraction: number, rng: Rng): void {
    this.stats.connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    this.sockets.add(client);
    this.sockets.add(upstream);
    let awaitingResponse = false;
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      awaitingResponse = true;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (awaitingResponse) {
        awaitingResponse = false;
        this.stats.responses++;
        if (rng.chance(dropFraction)) {
          this.stats.dropped++;
          destroyBoth();
          return;
        }
      }
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.on("error", destroyBoth);
    upstream.on("error", destroyBoth);
    client.on("close", () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
  }
}
