// The admin module: AdminService's routes. It ends users' sessions through the auth module's
// `sessions` (role changes and disables), so it is built after the auth module.
import type { AppContext, AppModule } from "../app";
import type { AuthSessions } from "../auth";
import { adminRoutes } from "../services/admin-service";

export function createAdminModule(ctx: AppContext, auth: { sessions: AuthSessions }): AppModule {
  return { routes: adminRoutes({ db: ctx.db, sessions: auth.sessions }) };
}
