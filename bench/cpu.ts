// CPU time of processes, read from /proc (Linux), so that each measurement can also say how
// much CPU one operation cost the bankd server, the PostgreSQL backends serving the bench
// database, and pgbench's client. CPU per operation moves far less than throughput when other
// work shares the machine, which makes it the figure to compare across runs and changes.
import * as fs from "node:fs";

/** utime + stime of a process from /proc/PID/stat, in ms (clock ticks of 10 ms); NaN when the
 * process is gone or /proc is absent. */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * Follows the CPU time of a set of processes chosen by a predicate on their command line (e.g.
 * the PostgreSQL backends of one database: their title names it), polling every 100 ms, so that
 * backends which exit before the end (pgbench's connections) are still counted up to their last
 * sample. Processes that appear after start() count from zero.
 */
export class CpuSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  /** Processes that did not match, with when: looked at again after a second, since a
   * wrapper (Debian's pg_wrapper for pgbench) may exec the real program under the same pid. */
  private readonly ignored = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private startedAtMs = 0;
  /** Wall time from start() to stop(), for CPU shares. */
  wallMs = 0;

  constructor(private readonly matches: (cmdline: string, pid: number) => boolean) {}

  start(): void {
    this.sample();
    this.started = true;
    this.startedAtMs = Date.now();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** Stops and returns the CPU ms used by the matching processes since start(). */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    this.wallMs = Date.now() - this.startedAtMs;
    let total = 0;
    for (const [pid, last] of this.last) total += last - (this.first.get(pid) ?? 0);
    return total;
  }

  private sample(): void {
    let pids: string[];
    try {
      pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    for (const name of pids) {
      const pid = Number(name);
      const ignoredAt = this.ignored.get(pid);
      if (ignoredAt !== undefined && Date.now() - ignoredAt < 1_000) continue;
      if (!this.last.has(pid)) {
        let cmdline: string;
        try {
          cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          continue;
        }
        if (!this.matches(cmdline, pid)) {
          this.ignored.set(pid, Date.now());
          continue;
        }
        const cpu = processCpuMs(pid);
        if (Number.isNaN(cpu)) continue;
        this.first.set(pid, this.started ? 0 : cpu);
        this.last.set(pid, cpu);
        continue;
      }
      const cpu = processCpuMs(pid);
      if (!Number.isNaN(cpu)) this.last.set(pid, cpu);
    }
  }
}

/** The parent pid of a process (from /proc/PID/stat), or NaN when it is gone. */
export function parentPid(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return NaN;
  }
}

/** The PostgreSQL backends connected to database `name` (their process title names it). */
export function postgresBackendsOf(name: string): (cmdline: string) => boolean {
  return (cmdline) => cmdline.startsWith("postgres: ") && cmdline.includes(` ${name} `);
}
