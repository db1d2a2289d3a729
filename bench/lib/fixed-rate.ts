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
  /** Every successful request's latency, sorted (for merging rounds). */
  samples: number[];
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
  return summarize(total, latencies, failed, failures);
}

function summarize(sent: number, latencies: number[], failed: number, failures: Record<number, number>): LatencyResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { sent, ok: latencies.length, failed, failures, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies[latencies.length - 1] ?? NaN, samples: latencies };
}

/**
 * fixedRate against several setups in `rounds` short rounds, the order rotating each round, with
 * the rounds merged per setup: no setup gets all the warm (or all the noisy) minutes of a run.
 */
export async function interleavedFixedRate(
  urls: Readonly<Record<string, string>>,
  opts: { rate: number; durationMs: number; rounds: number; headers: Record<string, string> },
): Promise<Record<string, LatencyResult>> {
  const names = Object.keys(urls);
  const merged: Record<string, { sent: number; latencies: number[]; failed: number; failures: Record<number, number> }> = {};
  for (const name of names) merged[name] = { sent: 0, latencies: [], failed: 0, failures: {} };
  for (let round = 0; round < opts.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const r = await fixedRate(urls[name]!, { rate: opts.rate, durationMs: opts.durationMs / opts.rounds, headers: opts.headers });
      const m = merged[name]!;
      m.sent += r.sent;
      m.latencies.push(...r.samples);
      m.failed += r.failed;
      for (const [status, n] of Object.entries(r.failures)) m.failures[Number(status)] = (m.failures[Number(status)] ?? 0) + n;
    }
  }
  return Object.fromEntries(names.map((name) => {
    const m = merged[name]!;
    return [name, summarize(m.sent, m.latencies, m.failed, m.failures)];
  }));
}
