// Process entry for `npm start`: serve until SIGTERM/SIGINT, then drain and exit 0.
import { main } from "./cli";

main(["serve", ...process.argv.slice(2)]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("bankd: fatal:", err);
    process.exit(1);
  },
);
