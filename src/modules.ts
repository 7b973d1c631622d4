// The product's feature modules, in the order their interceptors run.
import type { AppContext, AppModule } from "./app";

export async function productModules(_ctx: AppContext): Promise<AppModule[]> {
  return [];
}
