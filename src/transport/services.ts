// The service implementations of the app, recorded once and mounted on both ports: the main port
// hands them to connect-es's router (src/transport/server.ts, rpc-adapter.ts), the gRPC port to grpc-js
// (grpc-port.ts). Feature modules register through the ConnectRouter interface they already
// know; the recording router keeps what they register, in order.
import type { ConnectRouter, MethodImpl, ServiceImpl } from "@connectrpc/connect";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import type { DescMethod, DescService } from "@bufbuild/protobuf";

export interface ServiceRegistration {
  service: DescService;
  impl: Partial<ServiceImpl<DescService>>;
  /** Set when one method was registered alone (router.rpc). */
  method?: DescMethod;
  options?: Partial<UniversalHandlerOptions>;
}

/** What `routes` registers, without building any handler. */
export function recordServices(routes: (router: ConnectRouter) => void): ServiceRegistration[] {
  const registrations: ServiceRegistration[] = [];
  const recorder: ConnectRouter = {
    handlers: [],
    service(service, implementation, options) {
      registrations.push({ service, impl: implementation as Partial<ServiceImpl<DescService>>, options });
      return this;
    },
    rpc<M extends DescMethod>(method: M, impl: MethodImpl<M>, options?: Partial<UniversalHandlerOptions>) {
      registrations.push({ service: method.parent, impl: { [method.localName]: impl } as unknown as Partial<ServiceImpl<DescService>>, method, options });
      return this;
    },
  };
  routes(recorder);
  return registrations;
}

/** Registers `registrations` on a connect-es router (the main port). */
export function mountServices(registrations: readonly ServiceRegistration[]): (router: ConnectRouter) => void {
  return (router) => {
    for (const r of registrations) {
      if (r.method) router.rpc(r.method, (r.impl as Record<string, MethodImpl<DescMethod>>)[r.method.localName]!, r.options);
      else router.service(r.service, r.impl, r.options);
    }
  };
}
