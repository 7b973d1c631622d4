// gRPC server reflection, v1 and v1alpha (same messages, two packages), so buf curl and grpcurl
// work without .proto files. Answers from the descriptors compiled into gen/.
//
// Files are found by the names their descriptors carry ("bank/v1/money.proto", the names in every
// dependency list), so clients that resolve imports one file at a time find them. A request that
// cannot be answered gets an error_response on the same stream, which goes on: one bad question
// must not end a client's session.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  createRegistry,
  toBinary,
  type DescFile,
  type DescService,
  type Registry,
  type MessageInitShape,
  create,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb";
import { limits } from "../limits";

/** gRPC status code NOT_FOUND, used in ErrorResponse.error_code. */
const GRPC_NOT_FOUND = 5;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_INTERNAL = 13;

type Request = v1.ServerReflectionRequest;
type Response = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;
type Base = { validHost: string; originalRequest: Request };

export class ReflectionIndex {
  private readonly registry: Registry;
  private readonly filesByName: Map<string, DescFile>;
  private readonly services: string[];

  /** `extraFiles`: files no service imports but clients need, such as the error details. */
  constructor(services: readonly DescService[], extraFiles: readonly DescFile[] = []) {
    // Keyed by the descriptor's own name (with ".proto"); protobuf-es's DescFile.name drops it.
    const files = new Map<string, DescFile>();
    const add = (file: DescFile) => {
      if (files.has(file.proto.name)) return;
      files.set(file.proto.name, file);
      file.dependencies.forEach(add);
    };
    services.forEach((s) => add(s.file));
    extraFiles.forEach(add);
    add(v1.file_grpc_reflection_v1_reflection);
    add(v1alpha.file_grpc_reflection_v1alpha_reflection);
    this.registry = createRegistry(...files.values());
    this.filesByName = files;
    this.services = [
      ...services.map((s) => s.typeName),
      v1.ServerReflection.typeName,
      v1alpha.ServerReflection.typeName,
    ];
  }

  answer(req: Request): Response {
    const base = { validHost: req.host, originalRequest: req };
    try {
      return this.lookup(base, req);
    } catch {
      // A descriptor lookup that throws is a bug on our side, not the client's; the stream goes on.
      return this.error(base, GRPC_INTERNAL, "reflection lookup failed");
    }
  }

  private lookup(base: Base, req: Request): Response {
    const mr = req.messageRequest;
    switch (mr.case) {
      case "listServices":
        return { ...base, messageResponse: { case: "listServicesResponse", value: { service: this.services.map((name) => ({ name })) } } };
      case "fileByFilename":
        return this.files(base, this.fileNamed(mr.value), `file ${mr.value}`);
      case "fileContainingSymbol":
        return this.files(base, this.fileOfSymbol(mr.value), `symbol ${mr.value}`);
      case "fileContainingExtension": {
        const extendee = this.registry.getMessage(mr.value.containingType);
        const ext = extendee ? this.registry.getExtensionFor(extendee, mr.value.extensionNumber) : undefined;
        return this.files(base, ext?.file, `extension ${mr.value.extensionNumber} of ${mr.value.containingType}`);
      }
      case "allExtensionNumbersOfType": {
        const message = this.registry.getMessage(mr.value);
        if (!message) return this.error(base, GRPC_NOT_FOUND, `type ${mr.value} not found`);
        const numbers: number[] = [];
        for (const type of this.registry) {
          if (type.kind === "extension" && type.extendee.typeName === message.typeName) numbers.push(type.number);
        }
        return { ...base, messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: message.typeName, extensionNumber: numbers } } };
      }
      default:
        return this.error(base, GRPC_INVALID_ARGUMENT, "unsupported reflection request");
    }
  }

  /** By the descriptor's name; the name without ".proto" is accepted too (older bankd answered
   * only that form, and some scripts may use it). */
  private fileNamed(name: string): DescFile | undefined {
    return this.filesByName.get(name) ?? this.filesByName.get(`${name}.proto`);
  }

  private fileOfSymbol(symbol: string): DescFile | undefined {
    const desc = this.registry.get(symbol);
    if (desc) return desc.file;
    // A method: "pkg.Service.Method".
    const cut = symbol.lastIndexOf(".");
    const service = cut > 0 ? this.registry.getService(symbol.slice(0, cut)) : undefined;
    return service?.methods.some((m) => m.name === symbol.slice(cut + 1)) ? service.file : undefined;
  }

  /** The file and everything it imports, dependencies first. */
  private files(base: Base, file: DescFile | undefined, what: string): Response {
    if (!file) return this.error(base, GRPC_NOT_FOUND, `${what} not found`);
    const ordered: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      ordered.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    const fileDescriptorProto = ordered.map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
    return { ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto } } };
  }

  private error(base: Base, errorCode: number, errorMessage: string): Response {
    return { ...base, messageResponse: { case: "errorResponse", value: { errorCode, errorMessage } } };
  }
}

/** `streamMsMax`: a stream's longest life (limits.anonymousStreamMsMax; tests shorten it). */
export function reflectionRoutes(index: ReflectionIndex, streamMsMax: number = limits.anonymousStreamMsMax) {
  return (router: ConnectRouter) => {
    router.service(v1.ServerReflection, {
      async *serverReflectionInfo(requests, ctx) {
        for await (const req of untilAborted(requests, ctx, streamMsMax)) yield create(v1.ServerReflectionResponseSchema, index.answer(req));
      },
    });
    // v1alpha has the same wire format; only the package differs.
    router.service(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests, ctx) {
        for await (const req of untilAborted(requests, ctx, streamMsMax)) {
          const answer = index.answer(req as unknown as Request);
          yield create(v1alpha.ServerReflectionResponseSchema, { ...answer, originalRequest: req } as unknown as MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>);
        }
      },
    });
  };
}

/** The client's requests until the call's signal fires (its deadline, the client going away, or
 * the drain); then the signal's reason is thrown, so the stream ends with that code instead of
 * waiting for a request that may never come. After `lifeMs` the stream ends normally (OK), as
 * when the client ends its requests: a silent stream gives its slot back (issue 25), and the
 * client re-opens (docs/api.md). */
async function* untilAborted<T>(requests: AsyncIterable<T>, ctx: HandlerContext, lifeMs: number): AsyncGenerator<T> {
  const it = requests[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<IteratorResult<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: true, value: undefined }), lifeMs);
    timer.unref();
  });
  const aborted = new Promise<never>((_, reject) => {
    const fire = () => reject(ctx.signal.reason);
    if (ctx.signal.aborted) fire();
    else ctx.signal.addEventListener("abort", fire, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted, over]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    void it.return?.();
  }
}
