// Goal (issue 13, items 4-7): clients that know bankd only through server reflection work.
// - file_by_filename finds files by the names their descriptors and dependency lists carry
//   ("bank/v1/money.proto", "google/protobuf/timestamp.proto");
// - a request reflection cannot answer gets error_response NOT_FOUND and the stream goes on;
// - health and reflection publish their canonical file names (grpc/health/v1/health.proto);
// - a gRPC client that is not connect-es (@grpc/grpc-js with grpc-js-reflection-client, no .proto
//   file at hand; field names as the descriptors spell them) registers, signs in, opens an account, moves money, and decodes the
//   bank.v1.ErrorInfo of a refusal from grpc-status-details-bin with the descriptors reflection
//   gave it (ErrorInfo is reachable from TransactionService's file).
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { GrpcReflection } from "grpc-js-reflection-client";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { strongPassword, uniqueEmail } from "../support/users";

type Reply = {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
  listServicesResponse?: { service: { name: string }[] };
  messageResponse: string;
};

/** A raw ServerReflectionInfo stream (grpc-js, the reflection protocol's own .proto). */
function reflectionStream(port: number) {
  const def = protoLoader.loadSync(path.resolve("node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto"), { keepCase: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { serverReflectionInfo(): grpc.ClientDuplexStream<object, Reply> } } } } };
  const stub = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = stub.serverReflectionInfo();
  const replies: Reply[] = [];
  let waiting: ((r: Reply) => void) | undefined;
  call.on("data", (r: Reply) => (waiting ? waiting(r) : replies.push(r)));
  const errors: Error[] = [];
  call.on("error", (e: Error) => errors.push(e));
  return {
    ask: (req: object) =>
      new Promise<Reply>((resolve, reject) => {
        if (errors.length > 0) return reject(errors[0]);
        waiting = (r) => {
          waiting = undefined;
          resolve(r);
        };
        call.once("error", reject);
        call.write(req);
      }),
    close: () => {
      call.end();
      stub.close();
    },
  };
}

const names = (r: Reply) => r.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);

describe.each(engines())("reflection-only clients on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  test("file_by_filename takes .proto names; bad requests answer NOT_FOUND and the stream goes on", async () => {
    const s = reflectionStream(t.app.server.port);
    try {
      expect(names(await s.ask({ fileByFilename: "bank/v1/money.proto" }))[0]).toBe("bank/v1/money.proto");
      expect(names(await s.ask({ fileByFilename: "google/protobuf/timestamp.proto" }))[0]).toBe("google/protobuf/timestamp.proto");
      // Every dependency named in a descriptor can be fetched by that very name.
      const service = await s.ask({ fileContainingSymbol: "bank.v1.TransactionService" });
      const deps = service.fileDescriptorResponse!.fileDescriptorProto.flatMap((b) => fromBinary(FileDescriptorProtoSchema, b).dependency);
      expect(deps).toContain("bank/v1/error_info.proto");
      for (const dep of new Set(deps)) expect(names(await s.ask({ fileByFilename: dep }))[0]).toBe(dep);
      // Unknown things: error_response NOT_FOUND (5), on the same stream, which keeps answering.
      const ext = await s.ask({ fileContainingExtension: { containingType: "no.such.Type", extensionNumber: 7 } });
      expect(ext.errorResponse?.errorCode).toBe(5);
      expect((await s.ask({ fileByFilename: "no/such/file.proto" })).errorResponse?.errorCode).toBe(5);
      expect((await s.ask({ fileContainingSymbol: "no.such.Symbol" })).errorResponse?.errorCode).toBe(5);
      const list = await s.ask({ listServices: "" });
      expect(list.listServicesResponse!.service.map((x) => x.name)).toContain("bank.v1.TransactionService");
    } finally {
      s.close();
    }
  });

  test("health and reflection are published under their canonical file names", async () => {
    const s = reflectionStream(t.app.server.port);
    try {
      expect(names(await s.ask({ fileContainingSymbol: "grpc.health.v1.Health" }))[0]).toBe("grpc/health/v1/health.proto");
      expect(names(await s.ask({ fileByFilename: "grpc/health/v1/health.proto" }))[0]).toBe("grpc/health/v1/health.proto");
      expect(names(await s.ask({ fileContainingSymbol: "grpc.reflection.v1.ServerReflection" }))[0]).toBe("grpc/reflection/v1/reflection.proto");
    } finally {
      s.close();
    }
  });

  test("grpc-js with grpc-js-reflection-client, no .proto file: register, sign in, deposit, and a refusal's ErrorInfo", async () => {
    const address = `127.0.0.1:${t.app.server.port}`;
    const reflection = new GrpcReflection(address, grpc.credentials.createInsecure(), {}, "v1");
    expect(await reflection.listServices()).toEqual(expect.arrayContaining(["bank.v1.AuthService", "bank.v1.TransactionService"]));
    const load = async (symbol: string) => (await reflection.getDescriptorBySymbol(symbol)).getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    type Stub = grpc.Client & Record<string, (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void>;
    const stub = (pkg: grpc.GrpcObject, name: string): Stub => {
      const Ctor = ((pkg.bank as grpc.GrpcObject).v1 as grpc.GrpcObject)[name] as unknown as new (a: string, c: grpc.ChannelCredentials) => Stub;
      return new Ctor(address, grpc.credentials.createInsecure());
    };
    const callOf = (s: Stub, method: string, req: object, token?: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const md = new grpc.Metadata();
        if (token) md.set("authorization", `Bearer ${token}`);
        s[method]!(req, md, (err, res) => (err ? reject(err) : resolve(res)));
      });
    const auth = stub(await load("bank.v1.AuthService"), "AuthService");
    const accounts = stub(await load("bank.v1.AccountService"), "AccountService");
    const txPkg = await load("bank.v1.TransactionService");
    const transactions = stub(txPkg, "TransactionService");
    try {
      const email = uniqueEmail("reflect");
      const password = strongPassword();
      await callOf(auth, "register", { email, password, full_name: "Reflection Client" });
      const login = await callOf(auth, "login", { email, password });
      const token = login.access_token as string;
      const open = async () => ((await callOf(accounts, "createAccount", { request_id: randomUUID(), currency: "USD", type: "ACCOUNT_TYPE_CHECKING", display_name: "via reflection" }, token)).account as { id: string }).id;
      const [a, b] = [await open(), await open()];
      const deposit = await callOf(transactions, "deposit", { request_id: randomUUID(), account_id: a, amount: { currency: "USD", minor_units: "5000" } }, token);
      expect((deposit.transaction as { amount: { minor_units: string } }).amount.minor_units).toBe("5000");
      const refused = await callOf(transactions, "transfer", { request_id: randomUUID(), from_account_id: a, to_account_id: b, amount: { currency: "USD", minor_units: "999999" } }, token).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(refused?.code).toBe(grpc.status.FAILED_PRECONDITION);
      // google.rpc.Status from grpc-status-details-bin, decoded with types reflection gave us:
      // ErrorInfo comes with TransactionService's file (it imports error_info.proto).
      const root = (await reflection.getDescriptorBySymbol("bank.v1.TransactionService")).getProtobufJsRoot();
      const statusBytes = refused!.metadata.get("grpc-status-details-bin")[0] as Buffer;
      const details = decodeStatusDetails(statusBytes);
      const info = details.find((d) => d.typeUrl.endsWith("/bank.v1.ErrorInfo"));
      const decoded = root.lookupType("bank.v1.ErrorInfo").toObject(root.lookupType("bank.v1.ErrorInfo").decode(info!.value)) as { reason: string };
      expect(decoded.reason).toBe("INSUFFICIENT_FUNDS");
    } finally {
      for (const s of [auth, accounts, transactions]) s.close();
    }
  });
});

/** google.rpc.Status.details (field 3, each an Any { type_url = 1, value = 2 }), read by hand. */
function decodeStatusDetails(bytes: Buffer): { typeUrl: string; value: Buffer }[] {
  const out: { typeUrl: string; value: Buffer }[] = [];
  const varint = (buf: Buffer, at: number): [number, number] => {
    let value = 0;
    let shift = 0;
    let i = at;
    for (;;) {
      const b = buf[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return [value, i];
      shift += 7;
    }
  };
  const fields = (buf: Buffer) => {
    const result: [number, Buffer | number][] = [];
    for (let i = 0; i < buf.length; ) {
      const [tag, next] = varint(buf, i);
      const [field, wire] = [Math.floor(tag / 8), tag % 8];
      if (wire === 2) {
        const [length, start] = varint(buf, next);
        result.push([field, buf.subarray(start, start + length)]);
        i = start + length;
      } else {
        const [value, after] = varint(buf, next);
        result.push([field, value]);
        i = after;
      }
    }
    return result;
  };
  for (const [field, value] of fields(bytes)) {
    if (field !== 3 || typeof value === "number") continue;
    const any = fields(value);
    out.push({ typeUrl: String(any.find(([f]) => f === 1)?.[1] ?? ""), value: (any.find(([f]) => f === 2)?.[1] as Buffer) ?? Buffer.alloc(0) });
  }
  return out;
}
