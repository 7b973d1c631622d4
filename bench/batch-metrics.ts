// The posting engine's batches as bankd's own /metrics reports them: bankd_posting_batch_size
// (postings per committed batch), bankd_posting_batches_total (by outcome) and
// bankd_posting_batch_duration_seconds, scraped before and after a workload; the difference is
// the distribution that workload produced.
import * as http from "node:http";
import { BENCH_METRICS_TOKEN } from "./server";

export interface BatchCounters {
  /** Cumulative counts per upper bound ("le"), "+Inf" included. */
  sizeBuckets: Map<string, number>;
  sizeSum: number;
  sizeCount: number;
  batches: Record<string, number>;
  durationSumSeconds: number;
  durationCount: number;
}

export interface BatchDistribution {
  /** Committed batches in the window. */
  batches: number;
  /** Batches that failed as a whole (and were retried or split). */
  failedBatches: number;
  postings: number;
  meanSize: number;
  /** Upper bound of the bucket that holds the median / 90th percentile batch ("<= N"). */
  p50SizeAtMost: number | string;
  p90SizeAtMost: number | string;
  /** Largest bucket bound reached. */
  maxSizeAtMost: number | string;
  /** Committed batches per bucket ("le" bound -> batches of that size range). */
  perBucket: Record<string, number>;
  meanBatchMs: number;
}

/** Fresh connections tried to reach every worker's /metrics (the primary hands connections to
 * the workers in turn, so a few suffice). */
const SCRAPE_TRIES_MAX = 50;

/** Reads /metrics, summed over the server's `workers` processes (BANK_WORKERS: each connection
 * reaches one of them, told apart by bankd_process_info's pid); undefined when the server has
 * no posting-engine metrics (an older build). */
export async function scrapeBatchCounters(baseUrl: string, workers = 1): Promise<BatchCounters | undefined> {
  const texts = new Map<string, string>();
  for (let tries = 0; texts.size < workers && tries < SCRAPE_TRIES_MAX; tries++) {
    const text = await metricsOnNewConnection(baseUrl);
    texts.set(/^bankd_process_info\{pid="(\d+)"/m.exec(text)?.[1] ?? "one", text);
  }
  if (texts.size < workers) throw new Error(`reached the /metrics of ${texts.size} of ${workers} workers in ${SCRAPE_TRIES_MAX} connections`);
  let total: BatchCounters | undefined;
  for (const text of texts.values()) {
    const c = parseBatchCounters(text);
    if (!c) return undefined;
    total = total ? addCounters(total, c) : c;
  }
  return total;
}

function metricsOnNewConnection(baseUrl: string): Promise<string> {
  const url = new URL("/metrics", baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

function addCounters(a: BatchCounters, b: BatchCounters): BatchCounters {
  const sizeBuckets = new Map(a.sizeBuckets);
  for (const [le, n] of b.sizeBuckets) sizeBuckets.set(le, (sizeBuckets.get(le) ?? 0) + n);
  const batches = { ...a.batches };
  for (const [k, n] of Object.entries(b.batches)) batches[k] = (batches[k] ?? 0) + n;
  return {
    sizeBuckets, batches,
    sizeSum: a.sizeSum + b.sizeSum, sizeCount: a.sizeCount + b.sizeCount,
    durationSumSeconds: a.durationSumSeconds + b.durationSumSeconds, durationCount: a.durationCount + b.durationCount,
  };
}

export function parseBatchCounters(text: string): BatchCounters | undefined {
  const c: BatchCounters = { sizeBuckets: new Map(), sizeSum: 0, sizeCount: 0, batches: {}, durationSumSeconds: 0, durationCount: 0 };
  let seen = false;
  for (const line of text.split("\n")) {
    const m = /^(bankd_posting_\w+?)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    seen = true;
    const [, name, labels = "", raw] = m;
    const value = Number(raw);
    const label = (key: string) => new RegExp(`${key}="([^"]*)"`).exec(labels)?.[1] ?? "";
    if (name === "bankd_posting_batch_size_bucket") c.sizeBuckets.set(label("le"), value);
    else if (name === "bankd_posting_batch_size_sum") c.sizeSum = value;
    else if (name === "bankd_posting_batch_size_count") c.sizeCount = value;
    else if (name === "bankd_posting_batches_total") c.batches[label("outcome")] = value;
    else if (name === "bankd_posting_batch_duration_seconds_sum") c.durationSumSeconds = value;
    else if (name === "bankd_posting_batch_duration_seconds_count") c.durationCount = value;
  }
  return seen ? c : undefined;
}

export function batchDistribution(before: BatchCounters, after: BatchCounters): BatchDistribution {
  const bounds = [...after.sizeBuckets.keys()].sort((a, b) => bound(a) - bound(b));
  const cumulative = bounds.map((le) => (after.sizeBuckets.get(le) ?? 0) - (before.sizeBuckets.get(le) ?? 0));
  const batches = after.sizeCount - before.sizeCount;
  const perBucket: Record<string, number> = {};
  cumulative.forEach((n, i) => {
    const inBucket = n - (i > 0 ? cumulative[i - 1]! : 0);
    if (inBucket > 0) perBucket[bounds[i]!] = inBucket;
  });
  const quantile = (q: number): number | string => {
    if (batches === 0) return 0;
    const i = cumulative.findIndex((n) => n >= q * batches);
    const le = bounds[i] ?? "+Inf";
    return le === "+Inf" ? le : Number(le);
  };
  const postings = after.sizeSum - before.sizeSum;
  const durations = after.durationCount - before.durationCount;
  return {
    batches,
    failedBatches: (after.batches.failed ?? 0) - (before.batches.failed ?? 0),
    postings,
    meanSize: batches > 0 ? Math.round((postings / batches) * 10) / 10 : 0,
    p50SizeAtMost: quantile(0.5),
    p90SizeAtMost: quantile(0.9),
    maxSizeAtMost: quantile(1),
    perBucket,
    meanBatchMs: durations > 0 ? Math.round(((after.durationSumSeconds - before.durationSumSeconds) / durations) * 1e5) / 100 : 0,
  };
}

function bound(le: string): number {
  return le === "+Inf" ? Infinity : Number(le);
}

/** "n=1234 mean 9.1 p50<=8 p90<=16 max<=32": one cell of the table. */
export function describeBatches(d: BatchDistribution): string {
  if (d.batches === 0) return "no batches";
  return `${d.batches} batches, mean ${d.meanSize}, p50<=${d.p50SizeAtMost}, p90<=${d.p90SizeAtMost}, max<=${d.maxSizeAtMost}, ${d.meanBatchMs} ms/batch${d.failedBatches ? `, ${d.failedBatches} failed` : ""}`;
}
