// gRPC server reflection, v1 and v1alpha (same messages, two packages), so buf curl and grpcurl
// work without .proto files. Answers from the descriptors compiled into gen/.
import type { ConnectRouter } from "@connectrpc/connect";
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

/** gRPC status code NOT_FOUND, used in ErrorResponse.error_code. */
const GRPC_NOT_FOUND = 5;
const GRPC_INVALID_ARGUMENT = 3;

type Request = v1.ServerReflectionRequest;
type Response = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;

export class ReflectionIndex {
  private readonly registry: Registry;
  private readonly filesByName: Map<string, DescFile>;
  private readonly services: string[];

  /** `extraFiles`: files no service imports but clients need, such as the error details. */
  constructor(services: readonly DescService[], extraFiles: readonly DescFile[] = []) {
    const files = new Map<string, DescFile>();
    const add = (file: DescFile) => {
      if (files.has(file.name)) return;
      files.set(file.name, file);
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
    const mr = req.messageRequest;
    switch (mr.case) {
      case "listServices":
        return { ...base, messageResponse: { case: "listServicesResponse", value: { service: this.services.map((name) => ({ name })) } } };
      case "fileByFilename":
        return this.files(base, this.filesByName.get(mr.value), `file ${mr.value}`);
      case "fileContainingSymbol":
        return this.files(base, this.fileOfSymbol(mr.value), `symbol ${mr.value}`);
      case "fileContainingExtension": {
        const ext = this.registry.getExtensionFor(this.registry.getMessage(mr.value.containingType)!, mr.value.extensionNumber);
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

  private fileOfSymbol(symbol: string): DescFile | undefined {
    const desc = this.registry.get(symbol);
    if (desc) return desc.file;
    // A method: "pkg.Service.Method".
    const cut = symbol.lastIndexOf(".");
    const service = cut > 0 ? this.registry.getService(symbol.slice(0, cut)) : undefined;
    return service?.methods.some((m) => m.name === symbol.slice(cut + 1)) ? service.file : undefined;
  }

  /** The file and everything it imports, dependencies first. */
  private files(base: { validHost: string; originalRequest: Request }, file: DescFile | undefined, what: string): Response {
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

  private error(base: { validHost: string; originalRequest: Request }, errorCode: number, errorMessage: string): Response {
    return { ...base, messageResponse: { case: "errorResponse", value: { errorCode, errorMessage } } };
  }
}

export function reflectionRoutes(index: ReflectionIndex) {
  return (router: ConnectRouter) => {
    router.service(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield create(v1.ServerReflectionResponseSchema, index.answer(req));
      },
    });
    // v1alpha has the same wire format; only the package differs.
    router.service(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const answer = index.answer(req as unknown as Request);
          yield create(v1alpha.ServerReflectionResponseSchema, { ...answer, originalRequest: req } as unknown as MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>);
        }
      },
    });
  };
}
