// The audit module: AuditService's routes and the background sealer (stopped, after a last
// sealing pass, when the app shuts down). recordAudit (recorder.ts) needs no module: mutations
// call it with their own transaction.
import type { AppContext, AppModule } from "../app";
import { auditRoutes } from "../services/audit-service";
import { AuditSealer } from "./sealer";

export interface AuditModule extends AppModule {
  sealer: AuditSealer;
}

export function createAuditModule(ctx: AppContext): AuditModule {
  const sealer = new AuditSealer(ctx.db, ctx.metrics, ctx.logger);
  sealer.start();
  return { routes: auditRoutes({ db: ctx.db, replica: ctx.replica }), stop: () => sealer.stop(), sealer };
}

export { recordAudit, auditBase, type AuditInput, type AuditOutcome } from "./recorder";
