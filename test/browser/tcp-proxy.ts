// A TCP proxy between the browser and bankd, so a test can do what networks and load balancers
// do: drop every open connection at once (as a network failure would), and send new connections
// to another bankd process (as a load balancer does when one drains). It forwards bytes only, so
// the page's origin, HTTP and streams are exactly what the browser and server make of them.
import * as net from "node:net";

export interface TcpProxy {
  /** http://127.0.0.1:<proxy port> */
  url: string;
  /** Where new connections go. */
  targetPort: number;
  /** Connections open now. */
  readonly open: number;
  /** Destroys every open connection, both sides, without a word (a network failure). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const proxy = {
    targetPort,
    get open() {
      return pairs.size;
    },
  } as TcpProxy;
  const server = net.createServer((client) => {
    const upstream = net.connect(proxy.targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.cut = () => {
    for (const [client, upstream] of [...pairs]) {
      // resetAndDestroy sends RST, as a dropped connection or a crashed middlebox does.
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  proxy.close = () => {
    proxy.cut();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
