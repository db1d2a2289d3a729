import autocannon from 'autocannon';

export interface ThroughputResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** Closed-loop maximum throughput with autocannon (HTTP/1.1 keep-alive, no pipelining). */
export async function throughput(url: string, opts: { durationS: number; connections: number; headers: Record<string, string> }): Promise<ThroughputResult> {
  const result = await autocannon({ url, duration: opts.durationS, connections: opts.connections, headers: opts.headers });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
