// Process entry for `npm start` and `node dist/src/main.js`: serve until SIGTERM/SIGINT, then
// drain and exit 0.
//
// `npm start` runs `exec node --import tsx src/main.ts`: `exec` replaces npm's shell, so this
// process is npm's direct child. npm forwards SIGTERM and SIGINT to its child and waits for it to
// exit, so `kill` of npm (or npm as a container's first process) drains this server. Without
// `exec`, the shell (dash) died of the forwarded signal and left the server running, orphaned.
//
// Without arguments it serves; with arguments it is the `bankd` command (`node dist/src/main.js
// healthcheck`, `... migrate`): the production image has one entry point for every command.
// First: refuse an older Node.js with one clear line (src/runtime-check.ts).
import "./runtime-check";
import { main } from "./cli";

const args = process.argv.slice(2);
main(args.length === 0 ? ["serve"] : args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("bankd: fatal:", err);
    process.exit(1);
  },
);
