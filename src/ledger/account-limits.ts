// SetAccountLimits (admin): an account's own daily limits (daily-limits.ts has the rules), set
// in one audited command. Its own file so that the posting path (engine/batch-state.ts -> daily-limits.ts)
// does not import the command machinery that imports the ledger (no import cycle).
import { failedPrecondition, invalidArgument, notFound } from "../errors";
import { limits } from "../limits";
import { requireAdmin } from "./access";
import { audit, auditedCommand } from "./audit";
import { DIRECTION_FIELDS } from "./daily-limits";
import type { Ledger } from "./ledger";
import { readAccount, saveAccountLimits } from "./store/accounts";
import { withoutCount } from "./store/columns";
import type { AccountView, Actor, Direction, LimitSetting } from "./types";
import { parseCurrency, parseId, parseText } from "./validate";

export type LimitInput = { limit: { currency: string; minorUnits: bigint } } | { unlimited: boolean } | undefined;

export interface SetAccountLimitsInput {
  accountId: string;
  deposit: LimitInput;
  withdrawal: LimitInput;
  transferOut: LimitInput;
  incoming: LimitInput;
  reason: string;
  /** update_mask.paths (AIP-134): the directions to change; empty is INVALID_ARGUMENT. */
  updateMask: readonly string[] | undefined;
}

/** The update_mask path of each direction ("*" names them all). */
const MASK_PATHS: Record<string, Direction> = { deposit: "deposit", withdrawal: "withdrawal", transfer_out: "transferOut", incoming: "incoming" };

/** The directions an update_mask names. */
function maskedDirections(paths: readonly string[] | undefined): Set<Direction> {
  if (!paths || paths.length === 0) {
    throw invalidArgument("UPDATE_MASK_REQUIRED", "update_mask must name the directions to change: deposit, withdrawal, transfer_out, incoming (or \"*\" for all).", { field: "update_mask" });
  }
  const named = new Set<Direction>();
  for (const path of paths) {
    if (path === "*") for (const d of Object.values(MASK_PATHS)) named.add(d);
    else if (Object.hasOwn(MASK_PATHS, path)) named.add(MASK_PATHS[path]!);
    else throw invalidArgument("UPDATE_MASK_INVALID", `update_mask path ${JSON.stringify(path.slice(0, 64))} is not a direction (deposit, withdrawal, transfer_out, incoming).`, { field: "update_mask" });
  }
  return named;
}

/** SetAccountLimits (admin): a patch (AIP-134) of the directions update_mask names, each set to a
 * limit, no limit, or (named but unset) the default; the others keep their setting. Audited. */
export async function setAccountLimits(ledger: Ledger, actor: Actor, input: SetAccountLimitsInput): Promise<AccountView> {
  requireAdmin(actor);
  const id = parseId(input.accountId, "account_id");
  const reason = parseText(input.reason, "reason", limits.reasonCharsMax, true);
  const named = maskedDirections(input.updateMask);
  // Directions not named are not read at all: a field outside the mask is not applied.
  const wanted: Partial<Record<Direction, { setting: LimitSetting; currency?: string }>> = {};
  if (named.has("deposit")) wanted.deposit = parseSetting(ledger, input.deposit, "deposit");
  if (named.has("withdrawal")) wanted.withdrawal = parseSetting(ledger, input.withdrawal, "withdrawal");
  if (named.has("transferOut")) wanted.transferOut = parseSetting(ledger, input.transferOut, "transfer_out");
  if (named.has("incoming")) wanted.incoming = parseSetting(ledger, input.incoming, "incoming");
  return auditedCommand(ledger, actor, "account.set_limits", id, async (tx) => {
    const account = await readAccount(tx, id, true);
    if (!account || account.kind !== "CUSTOMER") throw notFound("ACCOUNT_NOT_FOUND", "No such account.", { field: "account_id" });
    for (const [direction, setting] of Object.entries(wanted) as [Direction, { setting: LimitSetting; currency?: string }][]) {
      if (setting.currency !== undefined && setting.currency !== account.currency) {
        throw failedPrecondition("CURRENCY_MISMATCH", `The account holds ${account.currency}.`, { field: `${DIRECTION_FIELDS[direction]}.limit.currency`, account_currency: account.currency });
      }
    }
    const next = {
      deposit: wanted.deposit ? wanted.deposit.setting : account.limits.deposit,
      withdrawal: wanted.withdrawal ? wanted.withdrawal.setting : account.limits.withdrawal,
      transferOut: wanted.transferOut ? wanted.transferOut.setting : account.limits.transferOut,
      incoming: wanted.incoming ? wanted.incoming.setting : account.limits.incoming,
    };
    const updateTimeMs = Math.max(ledger.now(), account.updateTimeMs);
    await saveAccountLimits(tx, id, next, updateTimeMs);
    const describe = (s: LimitSetting) => (s === null ? "default" : s === "unlimited" ? "unlimited" : s.toString());
    await audit(tx, actor, {
      action: "account.set_limits",
      targetId: id,
      details: {
        reason,
        update_mask: [...named].map((d) => DIRECTION_FIELDS[d]).join(","),
        deposit: describe(next.deposit), withdrawal: describe(next.withdrawal), transfer_out: describe(next.transferOut), incoming: describe(next.incoming),
        previous_deposit: describe(account.limits.deposit), previous_withdrawal: describe(account.limits.withdrawal), previous_transfer_out: describe(account.limits.transferOut), previous_incoming: describe(account.limits.incoming),
      },
    }, ledger.now());
    return { ...withoutCount(account), limits: next, version: account.version + 1, updateTimeMs };
  });
}

function parseSetting(ledger: Ledger, input: LimitInput, field: string): { setting: LimitSetting; currency?: string } {
  if (input === undefined) return { setting: null };
  if ("unlimited" in input) {
    if (!input.unlimited) throw invalidArgument("LIMIT_INVALID", `${field}.unlimited must be true when set; leave ${field} unset for the default.`, { field: `${field}.unlimited` });
    return { setting: "unlimited" };
  }
  const currency = parseCurrency(ledger.currencies, input.limit.currency, `${field}.limit.currency`);
  if (input.limit.minorUnits < 0n || input.limit.minorUnits > limits.dailyLimitMinorMax) {
    throw invalidArgument("LIMIT_INVALID", `${field}.limit must be from 0 to ${limits.dailyLimitMinorMax} minor units.`, { field: `${field}.limit` });
  }
  return { setting: input.limit.minorUnits, currency };
}
