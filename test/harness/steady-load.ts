import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request of the load and how it ended. */
export interface LoadSample {
  kind: 'get' | 'approval';
  id: string;
  path: string;
  /** performance.now() at send and at the end. */
  sentAt: number;
  doneAt: number;
  /** HTTP status; 0 = connection error. */
  status: number;
  ok: boolean;
  /** Which Envoy (index into `urls`). */
  envoy: number;
}

export interface SteadyLoadOptions {
  /** Base URLs of the Envoys; requests go round robin to all of them. */
  urls: string[];
  rate: number;
  /** Share of requests that are approval holds (POST /ops/deploy/<id>, answered by the approver loop). */
  approvalShare: number;
  /** A caller token (engineering, alice), minted once and reused: the verified-token cache is hit. */
  token: string;
  /** An approver token (sre) and the approvals APIs it may use (each tried in turn). */
  approver: { token: string; urls: () => string[]; intervalMs?: number };
}

export interface SteadyLoad {
  readonly samples: LoadSample[];
  /** Approver calls that failed (a replica restarting); not requests of the load. */
  readonly approverErrors: number;
  /** Stops sending, waits for every request to end, stops the approver. */
  stop(): Promise<LoadSample[]>;
}

/**
 * Open-loop load through the Envoys at a fixed rate, whatever the answers take: cached-token GETs
 * on demo-api (each path unique, so its session record can be found) and a share of approval
 * holds on ops-api that an approver loop approves through the approvals API. Success is a 200;
 * anything else, including a connection error, is a failed request. Each Envoy gets its own
 * keep-alive pool, used first-in first-out so every connection sees traffic (an Envoy that
 * drains closes a connection by answering on it with `connection: close`).
 */
export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const agents = options.urls.map(() => new http.Agent({ keepAlive: true, maxSockets: 16, scheduling: 'fifo' }));
  const samples: LoadSample[] = [];
  const pending = new Set<Promise<void>>();
  let stopped = false;
  let sent = 0;
  let approverErrors = 0;
  const started = performance.now();

  const send = (n: number) => {
    const envoy = n % options.urls.length;
    const approval = options.approvalShare > 0 && n % Math.round(1 / options.approvalShare) === 0;
    const id = randomUUID();
    const path = approval ? `/ops/deploy/${id}` : `/api/items/${id}`;
    const sample: LoadSample = { kind: approval ? 'approval' : 'get', id, path, sentAt: performance.now(), doneAt: 0, status: 0, ok: false, envoy };
    const done = new Promise<void>((resolve) => {
      const url = new URL(path, options.urls[envoy]);
      const req = http.request(url, {
        method: approval ? 'POST' : 'GET',
        agent: agents[envoy],
        headers: { authorization: `Bearer ${options.token}`, ...(approval ? { 'content-type': 'application/json', 'x-sluice-reason': 'rolling restart load' } : {}) },
      }, (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode ?? 0));
        res.on('error', () => finish(0));
      });
      const finish = (status: number) => {
        if (sample.doneAt) return;
        sample.doneAt = performance.now();
        sample.status = status;
        sample.ok = status === 200;
        resolve();
      };
      req.on('error', () => finish(0));
      req.end(approval ? '{}' : undefined);
    });
    samples.push(sample);
    pending.add(done);
    void done.then(() => pending.delete(done));
  };

  const sender = (async () => {
    while (!stopped) {
      const due = Math.floor(((performance.now() - started) * options.rate) / 1000) + 1;
      while (sent < due) send(sent++);
      await sleep(2);
    }
  })();

  // The approver: lists pending approvals through one replica's API, approves each through it.
  const approver = (async () => {
    let turn = 0;
    while (!stopped || [...samples].some((s) => s.kind === 'approval' && !s.doneAt)) {
      const urls = options.approver.urls();
      const base = urls[turn++ % urls.length]!;
      try {
        const list = await call(base, options.approver.token, 'GET', '/approvals?status=pending&subject=alice');
        for (const approval of (list.approvals ?? list) as { id: string }[]) {
          await call(base, options.approver.token, 'POST', `/approvals/${approval.id}/approve`, { reason: 'load' }).catch(() => undefined);
        }
      } catch {
        approverErrors++;
      }
      await sleep(options.approver.intervalMs ?? 200);
    }
  })();

  return {
    samples,
    get approverErrors() {
      return approverErrors;
    },
    stop: async () => {
      stopped = true;
      await sender;
      await Promise.all([...pending]);
      await approver;
      for (const agent of agents) agent.destroy();
      return samples;
    },
  };
}

async function call(base: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  if (res.status >= 400 && method === 'GET') throw new Error(`approvals list: ${res.status}`);
  return text ? JSON.parse(text) : undefined;
}

/** Requests sent in [from, to] and how many of them failed. */
export function window(samples: readonly LoadSample[], from: number, to: number): { sent: number; failed: number; failures: LoadSample[] } {
  const inside = samples.filter((s) => s.sentAt >= from && s.sentAt <= to);
  const failures = inside.filter((s) => !s.ok);
  return { sent: inside.length, failed: failures.length, failures };
}
