// The gRPC port (BANK_GRPC_PORT): gRPC only, over HTTP/2, served by @grpc/grpc-js for internal
// callers, who pay a fraction of the main port's per-call cost (docs/clients.md). It mounts the
// same service implementations as the main port (services.ts) through grpc-js's public
// Server.addService, with @bufbuild/protobuf (de)serializing the messages, and runs each call
// through the same interceptors (observe, then auth and the modules' own), so the bearer check,
// the roles of the `bank.v1.access` option, the log line, the metrics, the drain and the error
// mapping are the main port's own code. What this file adds per call (grpc-call.ts): the deadline
// policy, the error contract in grpc-status-details-bin, and the refusal of undecodable messages.
//
// What grpc-js answers before any of it (wrong content type, unknown method, malformed
// grpc-timeout, oversized messages) and the transport guards this port has and lacks are listed
// in docs/api.md ("The gRPC port").
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { createServiceImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import type { Config } from "../config";
import type { Limits } from "../limits";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { methodHandler, type GrpcCallLimits } from "./grpc-call";
import type { ServiceRegistration } from "./services";

export type GrpcPortLimits = GrpcCallLimits & {
  readonly [K in keyof Pick<
    Limits,
    | "messageBytesMax"
    | "http2MaxConcurrentStreams"
    | "connectionIdleMs"
    | "grpcConnectionAgeMs"
    | "grpcConnectionAgeGraceMs"
    | "grpcKeepaliveTimeMs"
    | "grpcKeepaliveTimeoutMs"
    | "http2SessionMemoryMb"
  >]: number;
};

export interface GrpcPortOptions {
  config: Pick<Config, "host" | "tls"> & { grpcPort: number };
  registrations: readonly ServiceRegistration[];
  interceptors: Interceptor[];
  shutdownSignal: AbortSignal;
  logger: Logger;
  metrics?: Metrics;
  limits: GrpcPortLimits;
}

export interface ListeningGrpcPort {
  host: string;
  port: number;
  /** host:port, as grpc-js and grpcio clients name a target. */
  target: string;
  /** Stops accepting calls, lets calls in flight end (tryShutdown), then closes what is left. */
  close(graceMs: number): Promise<void>;
}

/** The grpc-js server options: the main port's transport guards, where grpc-js has them. */
export function grpcServerOptions(limits: GrpcPortLimits): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": limits.messageBytesMax,
    "grpc.max_send_message_length": limits.messageBytesMax,
    "grpc.max_concurrent_streams": limits.http2MaxConcurrentStreams,
    "grpc.max_connection_idle_ms": limits.connectionIdleMs,
    "grpc.max_connection_age_ms": limits.grpcConnectionAgeMs,
    "grpc.max_connection_age_grace_ms": limits.grpcConnectionAgeGraceMs,
    "grpc.keepalive_time_ms": limits.grpcKeepaliveTimeMs,
    "grpc.keepalive_timeout_ms": limits.grpcKeepaliveTimeoutMs,
    "grpc-node.max_session_memory": limits.http2SessionMemoryMb,
  };
}

export async function listenGrpc(opts: GrpcPortOptions): Promise<ListeningGrpcPort> {
  const server = new grpc.Server(grpcServerOptions(opts.limits));
  for (const [service, impl] of mergeByService(opts.registrations)) {
    const spec = createServiceImplSpec(service, impl as ServiceImpl<DescService>);
    const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      definition[method.localName] = {
        path: `/${service.typeName}/${method.name}`,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        // Bytes in, decoded by the call (grpc-call.ts), so that an undecodable message gets the
        // error contract instead of grpc-js's own INTERNAL.
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
        originalName: method.localName,
      };
      handlers[method.localName] = methodHandler(spec.methods[method.localName]!, {
        interceptors: opts.interceptors,
        shutdownSignal: opts.shutdownSignal,
        logger: opts.logger,
        metrics: opts.metrics,
        limits: opts.limits,
      });
    }
    server.addService(definition as grpc.ServiceDefinition, handlers);
  }

  const credentials = opts.config.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(opts.config.tls.certFile), private_key: fs.readFileSync(opts.config.tls.keyFile) }], false)
    : grpc.ServerCredentials.createInsecure();
  const host = opts.config.host.includes(":") ? `[${opts.config.host}]` : opts.config.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.config.grpcPort}`, credentials, (err, bound) => (err ? reject(bindError(err, `${host}:${opts.config.grpcPort}`)) : resolve(bound)));
  });
  return {
    host: opts.config.host,
    port,
    target: `${host}:${port}`,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** One implementation per service: grpc-js takes each method path once. */
function mergeByService(registrations: readonly ServiceRegistration[]): Map<DescService, Record<string, unknown>> {
  const byName = new Map<string, { service: DescService; impl: Record<string, unknown> }>();
  for (const r of registrations) {
    const impl = r.impl as Record<string, unknown>;
    const entry = byName.get(r.service.typeName);
    if (!entry) {
      // The implementation object itself (its methods may use `this`).
      byName.set(r.service.typeName, { service: r.service, impl });
      continue;
    }
    const merged: Record<string, unknown> = {};
    for (const m of r.service.methods) {
      const fn = (impl[m.localName] ?? entry.impl[m.localName]) as ((...args: unknown[]) => unknown) | undefined;
      if (fn) merged[m.localName] = fn.bind(impl[m.localName] ? impl : entry.impl);
    }
    entry.impl = merged;
  }
  return new Map([...byName.values()].map((e) => [e.service, e.impl]));
}

/** grpc-js reports a failed bind as "No address added ... [listen EADDRINUSE: ...]", without a
 * code: one line that names the variable to change (cli.ts prints it as is). */
function bindError(err: Error, address: string): Error {
  const code = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(err.message)?.[1];
  if (code === "EADDRINUSE") return new Error(`cannot listen on ${address} for the gRPC port: the port is in use (set BANK_GRPC_PORT, or BANK_GRPC_PORT=off).`, { cause: err });
  if (code === "EACCES") return new Error(`cannot listen on ${address} for the gRPC port: permission denied (set BANK_GRPC_PORT above 1023).`, { cause: err });
  if (code === "EADDRNOTAVAIL") return new Error(`cannot listen on ${address} for the gRPC port: no such local address (set BANK_HOST).`, { cause: err });
  return err;
}
