// Structured JSON logs (pino). Secrets never reach a log line: the redact list covers every
// field that could carry one, and callers log ids and codes, not payloads.
import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "bankd" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["password", "token", "authorization", "refreshToken", "accessToken", "*.password", "*.token", "*.authorization"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
