// Who may call a method, read from the method option named by the `access_option` plugin option
// (bank.v1.access): found by name among the request's descriptors and decoded with the protobuf
// runtime, so nothing here depends on file paths or on generated code.
import * as path from "node:path";
import type * as Protobuf from "@bufbuild/protobuf";
import type { DescExtension, DescFile, DescMethod, TypesInFile } from "./descriptors";

export type Access =
  /** The server does not govern the method's package: no credentials needed. */
  | { kind: "open" }
  /** Declared public: no credentials needed. */
  | { kind: "public" }
  /** A bearer token with at least one of these roles (empty: nobody may call it). */
  | { kind: "roles"; roles: string[] }
  /** Governed but undeclared: the server refuses it (deny by default). */
  | { kind: "undeclared" };

export function findExtension(files: readonly DescFile[], types: TypesInFile, typeName: string): DescExtension | undefined {
  for (const file of files) {
    for (const type of types(file)) {
      if (type.kind === "extension" && type.typeName === typeName) return type;
    }
  }
  return undefined;
}

export function accessOf(method: DescMethod, extension: DescExtension | undefined, governedPackages: readonly string[]): Access {
  if (!governedPackages.includes(method.parent.file.proto.package)) return { kind: "open" };
  const json = optionJson(method, extension);
  if (json === undefined) return { kind: "undeclared" };
  if (json.public === true) return { kind: "public" };
  return { kind: "roles", roles: (json.roles ?? []).filter((r) => !r.endsWith("_UNSPECIFIED")) };
}

/** The @bufbuild/protobuf that protoplugin itself depends on (2.13; the app's is 2.17), loaded
 * by its public entry point. protoplugin's descriptors are objects of that version, and
 * descriptors must be read by the functions of the version that made them (2.17's toJson, for
 * one, expects a property that 2.13's enum values do not have). */
const runtime = require(
  require.resolve("@bufbuild/protobuf", { paths: [path.dirname(require.resolve("@bufbuild/protoplugin"))] }),
) as typeof Protobuf;

/** The option's value in its proto3 JSON form (enum values by name: ROLE_TELLER, as clients
 * spell them), or undefined when the method does not set it. */
function optionJson(method: DescMethod, extension: DescExtension | undefined): { public?: boolean; roles?: string[] } | undefined {
  if (!extension) return undefined;
  // Types only: the values are of `runtime`'s version (see above).
  const m = method as unknown as Protobuf.DescMethod;
  const ext = extension as unknown as Protobuf.DescExtension;
  if (!runtime.hasOption(m, ext)) return undefined;
  if (ext.fieldKind !== "message") throw new Error(`${ext.typeName} must be a message option`);
  return runtime.toJson(ext.message, runtime.getOption(m, ext) as Protobuf.Message) as { public?: boolean; roles?: string[] };
}
