// A secret file written once: to a temporary file (mode 0600) beside it, then hard-linked to
// its name, so that a process reading it never sees half of it and, when several processes start
// at the same moment, the first one made wins and the others read that one.
import * as fs from "node:fs";
import * as path from "node:path";

export function writeFileOnce(file: string, contents: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}-${process.pid}-${Date.now()}.tmp`);
  fs.writeFileSync(temp, contents, { mode: 0o600, flag: "wx" });
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    fs.unlinkSync(temp);
  }
}
