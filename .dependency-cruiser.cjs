// The dependency rules of src/ (docs/architecture.md, "Rooms"): domain folders import no
// transport, no Connect and no generated code, and no module imports itself back through a chain
// of imports.
// Run by `npm run lint` and by test/foundation/dependencies.test.ts.
const domain = "^src/(ledger|auth|audit|admin)/";
const transport = "^src/(services/|transport/|app\\.ts$|modules\\.ts$)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "domain-imports-no-transport",
      comment: "Domain folders (ledger, auth, audit, admin) are wired to Connect by the composition root (src/modules.ts); they never import services/, transport/, app.ts or modules.ts.",
      severity: "error",
      from: { path: domain },
      to: { path: transport },
    },
    {
      name: "domain-imports-no-connect",
      comment: "Domain folders know nothing of the wire (issue 30): no @connectrpc/* (errors carry a domain kind, mapped to Connect codes in src/transport/errors.ts; the auth interceptor lives in src/transport/).",
      severity: "error",
      from: { path: domain },
      to: { path: "node_modules/@connectrpc/" },
    },
    {
      name: "domain-imports-no-generated-code",
      comment: "Domain folders know nothing of the contract's generated code (issue 30): roles are the domain's (src/roles.ts), mapped to bank.v1.Role in src/services/mapping/roles.ts.",
      severity: "error",
      from: { path: domain },
      to: { path: "^gen/" },
    },
    {
      name: "ledger-commands-do-no-io",
      comment: "A money command's parse, locks and apply are pure rules over the locked batch (issue 30): src/ledger/commands/ never imports the database (src/db/) or the ledger's SQL (src/ledger/store/); its submit function reaches them only through the posting engine. Type-only imports are allowed.",
      severity: "error",
      from: { path: "^src/ledger/commands/" },
      to: { path: "^src/(db/|ledger/store/)", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-cycles",
      comment: "Imports run one way: a module never reaches itself again through its imports (type-only imports included).",
      severity: "error",
      from: { path: "^(src|web/src)/" },
      to: { circular: true },
    },
  ],
  options: {
    // node_modules and gen/ stay in the graph as leaves (not followed), so that a rule can name them.
    doNotFollow: { path: "(^|/)node_modules/|^gen/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
