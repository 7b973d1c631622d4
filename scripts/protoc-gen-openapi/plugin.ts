// protoc-gen-openapi: an OpenAPI 3.1 document of the Connect protocol for the services of a
// buf/protoc run, written with @bufbuild/protoplugin (as protoc-gen-es is). It must see every
// service at once (buf.gen.yaml: `strategy: all` over one input) to write one document.
import { createEcmaScriptPlugin } from "@bufbuild/protoplugin";
import { buildDocument, selectServices } from "./document";
import { parseOptions } from "./options";

export const protocGenOpenApi = createEcmaScriptPlugin({
  name: "protoc-gen-openapi",
  version: "v1",
  parseOptions,
  // The document is JSON, not code: it is printed as is, with no preamble and no transpiling
  // (buf.gen.yaml sets target=ts so that protoplugin asks for nothing else).
  generateTs(schema) {
    const services = selectServices(schema.files, schema.options);
    if (services.length === 0) return;
    const document = buildDocument(services, schema.allFiles, schema.typesInFile, schema.options);
    schema.generateFile(schema.options.file).print(JSON.stringify(document, null, 2));
  },
});
