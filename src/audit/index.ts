// The audit domain's public face: recordAudit (recorder.ts) needs no module, mutations call it
// with their own transaction. The module (AuditService routes, the background sealer) is wired
// in src/modules.ts.
export { recordAudit, auditBase, type AuditInput, type AuditOutcome } from "./recorder";
