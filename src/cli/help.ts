// The `bankd` command's usage: every command, its arguments and what it does.

/** Exit status for a command line that names no known command (as the shells' usage errors). */
export const EXIT_USAGE = 2;

/** Usage of each command: its arguments and what it does. */
export const HELP: Record<string, { args: string; about: string }> = {
  serve: { args: "", about: "Serve gRPC, gRPC-Web and Connect on one port (BANK_PORT), and gRPC for internal callers on BANK_GRPC_PORT, until SIGTERM or SIGINT, then drain and exit 0 (npm start runs this). The API explorer is at /docs." },
  migrate: { args: "", about: "Apply pending database migrations and exit (serve also applies them at start)." },
  "create-user": {
    args: "--email EMAIL --full-name NAME --role ROLE [--role ROLE ...] --password-stdin",
    about: "Add a user with roles, reading the password from stdin; prints the new user's id. ROLE is ROLE_CUSTOMER, ROLE_TELLER, ROLE_AUDITOR or ROLE_ADMIN, as the API spells them (customer, teller, auditor, admin also work).",
  },
  "create-service-account": {
    args: "--name NAME --role ROLE [--role ROLE ...] --public-key-file FILE [--allowed-owner USER_ID ...] [--allowed-account ACCOUNT_ID ...]",
    about: "Register an internal service's Ed25519 public key (PEM or JWK file) as a service account; prints its id. ROLE is ROLE_PAYMENT_SERVICE, ROLE_TELLER or ROLE_AUDITOR (payment_service, teller, auditor also work); the allow-lists bound a payment service to those owners' or accounts' money. The private key never leaves the service (docs/clients.md).",
  },
  healthcheck: {
    args: "[SERVICE]",
    about: "Ask the server at BANK_HOST:BANK_PORT (TLS when BANK_TLS_CERT is set) for grpc.health.v1 Check: exit 0 when SERVING, 1 otherwise (not serving, unreachable, or no answer within limits.healthcheckTimeoutMs). The container's HEALTHCHECK runs it.",
  },
  "verify-audit": { args: "", about: "Seal pending audit events and verify the hash chain: exit 0 when it holds, 3 when it is broken." },
  help: { args: "[COMMAND]", about: "Print this help, or one command's." },
};

/** The whole usage text. */
export function usage(): string {
  const width = Math.max(...Object.keys(HELP).map((n) => n.length));
  const lines = Object.entries(HELP).map(([name, h]) => `  ${name.padEnd(width)}  ${h.about}`);
  return [
    "usage: npm run bankd -- <command> [arguments]      (npm start = npm run bankd -- serve)",
    "",
    "commands:",
    ...lines,
    "",
    "`npm run bankd -- <command> --help` shows a command's arguments. Configuration comes from",
    "environment variables (BANK_PORT, BANK_DATABASE_URL, ...): see README.md, Configuration.",
  ].join("\n");
}

/** One command's usage line and description. */
export function commandUsage(name: string): string {
  const h = HELP[name]!;
  return `usage: npm run bankd -- ${name}${h.args ? ` ${h.args}` : ""}\n\n${h.about}`;
}

export const wantsHelp = (args: readonly string[]) => args.includes("--help") || args.includes("-h");
