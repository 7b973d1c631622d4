// grpc.health.v1.Health: "" and every bank.v1 service are SERVING until the process drains,
// then NOT_SERVING (also while a multi-host database has no writable host, and SERVING again when
// it has); an unknown service is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch).
//
// Watch sends the status, then every change, until its call ends: the client cancels, its
// deadline passes (deadline_exceeded), the process drains, or the stream has lived
// limits.anonymousStreamMsMax: then it ends with OK and the client re-opens (issue 25: a watch
// costs its holder nothing and must give its slot back; docs/api.md). A drain first turns the status
// NOT_SERVING and then aborts the call; the change is sent before the stream ends (with the
// drain's unavailable), because a balancer that watches must learn it.
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb";
import { EventEmitter } from "node:events";
import { limits } from "../limits";

export class HealthState {
  private serving = true;
  /** False while the database has no host that accepts writes (a multi-host BANK_DATABASE_URL
   * during a failover, src/db/primary.ts): NOT_SERVING until one does, so that a balancer sends
   * calls elsewhere and a client knows to wait. */
  private databaseAvailable = true;
  private readonly events = new EventEmitter();
  constructor(readonly services: readonly string[]) {
    this.events.setMaxListeners(0);
  }
  get isServing(): boolean {
    return this.serving;
  }
  setServing(serving: boolean): void {
    if (this.serving === serving) return;
    this.serving = serving;
    this.events.emit("change");
  }
  setDatabaseAvailable(available: boolean): void {
    if (this.databaseAvailable === available) return;
    this.databaseAvailable = available;
    this.events.emit("change");
  }
  status(service: string): Status | undefined {
    if (service !== "" && !this.services.includes(service)) return undefined;
    return this.serving && this.databaseAvailable ? Status.SERVING : Status.NOT_SERVING;
  }
  onChange(listener: () => void): () => void {
    this.events.on("change", listener);
    return () => this.events.off("change", listener);
  }
}

/** `watchMsMax`: a Watch's longest life (limits.anonymousStreamMsMax; tests shorten it). */
export function healthRoutes(state: HealthState, watchMsMax: number = limits.anonymousStreamMsMax) {
  return (router: ConnectRouter) =>
    router.service(Health, {
      check(req) {
        const status = state.status(req.service);
        if (status === undefined) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
        return create(HealthCheckResponseSchema, { status });
      },
      list() {
        const statuses: Record<string, HealthCheckResponse> = {};
        for (const name of ["", ...state.services]) statuses[name] = create(HealthCheckResponseSchema, { status: state.status(name)! });
        return { statuses };
      },
      async *watch(req, ctx: HandlerContext) {
        let last: Status | undefined;
        let wake: (() => void) | undefined;
        const off = state.onChange(() => wake?.());
        const aborted = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        let lived = false;
        const life = setTimeout(() => {
          lived = true;
          wake?.();
        }, watchMsMax);
        life.unref();
        try {
          for (;;) {
            // The status is read before the abort is looked at: a drain changes it and aborts in
            // the same tick, and the change must still go out.
            const status = state.status(req.service) ?? Status.SERVICE_UNKNOWN;
            if (status !== last) {
              last = status;
              yield create(HealthCheckResponseSchema, { status });
            }
            if (ctx.signal.aborted) break;
            // Its life is over: the stream ends with OK.
            if (lived) return;
            await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          }
        } finally {
          off();
          clearTimeout(life);
        }
        // Ends with why the call ended: deadline_exceeded, canceled, or the drain's unavailable.
        throw ctx.signal.reason;
      },
    });
}
