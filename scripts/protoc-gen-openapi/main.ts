// Entry point that buf runs (buf.gen.yaml): reads a CodeGeneratorRequest on stdin, writes the
// response on stdout.
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenOpenApi } from "./plugin";

runNodeJs(protocGenOpenApi);
