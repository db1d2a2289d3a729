import http from 'node:http';

export interface LatencyResult {
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Open-loop load at a fixed rate: request i is sent at start + i/rate whether or not earlier
 * responses are back, so a slow server cannot slow the sender down. Latency is measured from the
 * actual send, in milliseconds with microsecond resolution; `sent` and the run time give the
 * achieved rate.
 */
export async function fixedRate(url: string, opts: { rate: number; durationMs: number; headers: Record<string, string>; connections?: number }): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections ?? 16 });
  const total = Math.floor((opts.rate * opts.durationMs) / 1000);
  const latencies: number[] = [];
  let failed = 0;
  const start = process.hrtime.bigint();
  const intervalNs = BigInt(Math.round(1e9 / opts.rate));
  const pending: Promise<void>[] = [];

  for (let i = 0; i < total; i++) {
    const due = start + intervalNs * BigInt(i);
    // Sleep coarsely, then yield with setImmediate (never a busy spin) so responses keep flowing.
    for (let now = process.hrtime.bigint(); now < due; now = process.hrtime.bigint()) {
      if (due - now > 2_000_000n) await new Promise((r) => setTimeout(r, Number((due - now) / 1_000_000n) - 1));
      else await new Promise((r) => setImmediate(r));
    }
    const sentAt = process.hrtime.bigint();
    pending.push(new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => { failed++; resolve(); });
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { sent: total, ok: latencies.length, failed, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies[latencies.length - 1] ?? NaN };
}
