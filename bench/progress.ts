// The progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise
// (CI logs), so stdout carries only the table.
export class ProgressBar {
  private lastLineMs = 0;
  private drawn = false;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly prefix: string) {}

  /** fraction in [0, 1]; `detail` e.g. "1234 ops, 560 ops/s, 0 errors". */
  update(fraction: number, detail: string): void {
    const f = Math.max(0, Math.min(1, fraction));
    const width = 24;
    const filled = Math.round(f * width);
    const line = `${this.prefix.padEnd(34)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}% ${detail}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      this.drawn = true;
    } else if (Date.now() - this.lastLineMs >= 5_000) {
      this.lastLineMs = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  done(detail: string): void {
    const line = `${this.prefix.padEnd(34)} ${detail}`;
    process.stderr.write(this.tty && this.drawn ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
