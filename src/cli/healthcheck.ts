// `bankd healthcheck [SERVICE]`: grpc.health.v1 Check against this server; exit 0 when SERVING.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import type { Config } from "../config";
import { limits } from "../limits";

export async function healthcheckCommand(config: Readonly<Config>, args: string[]): Promise<number> {
  const result = await healthcheck(config, args[0] ?? "");
  (result.serving ? console.log : console.error)(`bankd healthcheck: ${result.detail}`);
  return result.serving ? 0 : 1;
}

/** grpc.health.v1 Check against the configured listener, for probes that cannot speak gRPC
 * themselves (Docker's HEALTHCHECK). A wildcard BANK_HOST is probed on loopback. With TLS the
 * certificate is not verified: the probe runs beside the server, sends no credentials, and the
 * certificate names the public host, not 127.0.0.1. */
export async function healthcheck(config: Pick<Config, "host" | "port" | "tls">, service = ""): Promise<{ serving: boolean; detail: string }> {
  const host = config.host === "0.0.0.0" || config.host === "" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
  const baseUrl = `${config.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
  const transport = createGrpcTransport({ baseUrl, nodeOptions: config.tls ? { rejectUnauthorized: false } : undefined, idleConnectionTimeoutMs: 1 });
  try {
    const res = await createClient(Health, transport).check({ service }, { timeoutMs: limits.healthcheckTimeoutMs });
    return { serving: res.status === Status.SERVING, detail: `${baseUrl}: ${Status[res.status] ?? res.status}` };
  } catch (err) {
    return { serving: false, detail: `${baseUrl}: ${firstLine(String((err as Error)?.message ?? err))}` };
  }
}

/** The first line of an error message, at most 300 characters: one line per failure. */
export function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}
