// The descriptor types the plugin works on, taken from protoplugin's Schema. protoplugin 2.13
// (the version protoc-gen-es 2.13 runs on Node 20) brings its own @bufbuild/protobuf 2.13,
// while the server uses 2.17: the descriptors in a Schema are 2.13 objects, so their types are
// named from the Schema rather than imported from the app's @bufbuild/protobuf.
import type { Schema } from "@bufbuild/protoplugin";

export type DescFile = Schema["allFiles"][number];
export type DescService = DescFile["services"][number];
export type DescMethod = DescService["methods"][number];
export type DescMessage = DescMethod["input"];
export type DescField = DescMessage["fields"][number];
export type DescOneof = DescMessage["oneofs"][number];
export type DescEnum = DescFile["enums"][number];
export type DescExtension = DescFile["extensions"][number];
/** Every message, enum, extension and service of a file, nested ones included. */
export type TypesInFile = Schema["typesInFile"];
