// The product's feature modules, in the order their interceptors run.
import type { AppContext, AppModule } from "./app";
import { createAuthModule } from "./auth";
import { createAuditModule } from "./audit";
import { createAdminModule } from "./admin";
import { createLedgerModule } from "./ledger";
import { webModule } from "./web/web-module";
import { explorerModule } from "./web/explorer";

export async function productModules(ctx: AppContext): Promise<AppModule[]> {
  // Auth first: its interceptor sets the principal that later modules' interceptors may read.
  const auth = await createAuthModule(ctx);
  // Audit last: its stop() seals what the other modules recorded while stopping.
  return [auth, createAdminModule(ctx, { sessions: auth.sessions }), await createLedgerModule(ctx), await webModule(ctx), explorerModule(ctx), createAuditModule(ctx)];
}
