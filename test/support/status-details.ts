// The bank.v1.ErrorInfo inside a grpc-status-details-bin value (a binary google.rpc.Status whose
// details, field 3, are google.protobuf.Any), decoded by hand so that the tests read the wire as a
// plain gRPC client would, without bankd's own code. Base64 text (raw HTTP/2 trailers) or bytes
// (grpc-js metadata).
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ErrorInfoSchema, type ErrorInfo } from "../../gen/bank/v1/error_info_pb";

export function errorInfoInStatus(bin: string | Uint8Array | undefined): ErrorInfo | undefined {
  if (bin === undefined || bin.length === 0) return undefined;
  const status = new BinaryReader(typeof bin === "string" ? Buffer.from(bin, "base64") : bin);
  while (status.pos < status.len) {
    const [field, wireType] = status.tag();
    if (field !== 3) {
      status.skip(wireType);
      continue;
    }
    const any = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [f, t] = any.tag();
      if (f === 1) typeUrl = any.string();
      else if (f === 2) value = any.bytes();
      else any.skip(t);
    }
    if (typeUrl.endsWith("/bank.v1.ErrorInfo")) return fromBinary(ErrorInfoSchema, value);
  }
  return undefined;
}
