// Structured JSON logs (pino). Secrets never reach a log line: the redact list covers every
// field that could carry one, and callers log ids and codes, not payloads.
import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      // A worker of BANK_WORKERS > 1 names itself, so that its lines can be told apart.
      base: process.env.BANK_WORKER_INDEX === undefined ? { service: "bankd" } : { service: "bankd", worker: Number(process.env.BANK_WORKER_INDEX), pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every logged `err` goes through loggableError: no SQL values, no driver detail.
      serializers: { err: loggableError },
      redact: {
        paths: ["password", "token", "authorization", "refreshToken", "accessToken", "*.password", "*.token", "*.authorization"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

const SQL_TEXT = /\b(insert\s+into|select\s|update\s+\w+\s+set|delete\s+from|with\s+\w+\s+as)\b/i;

/** MikroORM's exceptions (a failed flush of the unit of work) append the driver's detail to the
 * message: "<sql> - <driver message>\n - detail: Failing row contains (<the row's values>)". */
const DRIVER_DETAIL = /\n - (detail|hint|where): [\s\S]*$/;

/**
 * An error as it may be logged. Database drivers put the failed statement, with its values, in
 * the message (knex and MikroORM: "<sql with values> - <driver message>") and the offending
 * values in `detail` (MikroORM also appends it to the message): those values can be password
 * hashes or token hashes. So the statement and the detail are dropped and only the driver's own
 * message, codes and the stack frames are kept.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: "non-error thrown" };
  const e = err as Error & { code?: unknown; constraint?: unknown; table?: unknown; routine?: unknown; cause?: unknown };
  const text = e.message.replace(DRIVER_DETAIL, "");
  const message = SQL_TEXT.test(text) ? `[statement removed] ${text.slice(text.lastIndexOf(" - ") + 3)}` : text;
  const frames = (e.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line)).join("\n");
  const out: Record<string, unknown> = { type: e.name, message, stack: frames };
  for (const key of ["code", "constraint", "table", "routine"] as const) if (e[key] !== undefined) out[key] = e[key];
  if (e.cause !== undefined && e.cause !== err) out.cause = loggableError(e.cause);
  return out;
}
