import http from 'node:http';

export interface LatencyResult {
  sent: number;
  ok: number;
  failed: number;
  /** Non-200 answers by status (0 = connection error). */
  failures: Record<number, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Open-loop load at a fixed rate: on every timer tick (~1 ms) it sends whatever requests are due
 * by then, whether or not earlier responses are back, so a slow server cannot slow the sender
 * down. It sleeps between ticks instead of spinning, so the load generator leaves the CPU to the
 * system under test. Latency is measured from each request's actual send, in milliseconds with
 * microsecond resolution.
 */
export async function fixedRate(url: string, opts: { rate: number; durationMs: number; headers: Record<string, string>; connections?: number }): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections ?? 16 });
  const total = Math.floor((opts.rate * opts.durationMs) / 1000);
  const latencies: number[] = [];
  let failed = 0;
  let sent = 0;
  const failures: Record<number, number> = {};
  const fail = (status: number) => { failed++; failures[status] = (failures[status] ?? 0) + 1; };
  const pending: Promise<void>[] = [];
  const start = performance.now();

  const send = () => {
    const sentAt = process.hrtime.bigint();
    pending.push(new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
          else fail(res.statusCode ?? 0);
          resolve();
        });
      });
      req.on('error', () => { fail(0); resolve(); });
    }));
  };

  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * opts.rate) / 1000) + 1);
    while (sent < due) {
      send();
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { sent: total, ok: latencies.length, failed, failures, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies[latencies.length - 1] ?? NaN };
}
