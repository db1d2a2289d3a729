import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { ReplicaSet } from '../harness/replica-set.ts';
import { startSteadyLoad } from '../harness/steady-load.ts';
import { approvalsCall } from '../harness/approvals-client.ts';
import { waitFor } from '../harness/wait.ts';

/** Approval webhooks, one path per ext-authz replica: the one that sends "requested" holds the check. */
async function hookServer(): Promise<{ url: string; calls: { replica: number; body: string }[]; server: Server }> {
  const calls: { replica: number; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ replica: Number(req.url!.split('/').pop()), body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, calls, server };
}

describe('replicas: 2 Envoys, 2 ext-authz, 2 ext-proc (own processes) sharing Redis and PostgreSQL', () => {
  let set: ReplicaSet;
  let hooks: Awaited<ReturnType<typeof hookServer>>;
  let alice: string;
  let sam: string;

  before(async () => {
    hooks = await hookServer();
    // A shorter drain delay than the 5 s default keeps the suite short; still above the ~3 s the
    // health checks need (service-clusters.test.ts checks the default against the same bound).
    set = await ReplicaSet.start({ extAuthz: 2, extProc: 2, envoys: 2, approvalWebhook: hooks.url, drain: { delay: '3.5s', timeout: '35s' } });
    alice = await set.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 3600 });
    sam = await set.issuer.mint({ sub: 'sam', groups: ['sre'], ttlSeconds: 3600 });
  });
  after(async () => {
    await set?.stop();
    hooks?.server.close();
  });

  test('an HTTP request through either Envoy reaches the upstream with the real credential, and is recorded', async () => {
    for (const envoy of set.envoys) {
      const id = randomUUID();
      const res = await fetch(`${set.url(envoy.index)}/api/items/${id}`, { headers: { authorization: `Bearer ${alice}` } });
      assert.equal(res.status, 200, `envoy ${envoy.index}`);
      const seen = set.upstream.seen.find((r) => r.path.includes(id));
      assert.equal(seen?.headers['x-sluice-subject'], 'alice');
      assert.equal(seen?.headers.authorization, 'Bearer demo-upstream-secret-0001', 'ext-proc injected the target credential');
      await waitFor(async () => (await set.recordedPaths()).includes(`/api/items/${id}`), 10_000, 200);
    }
  });

  test('an approval held on one ext-authz replica is approved through the other replica\'s API', async () => {
    const id = randomUUID();
    const response = fetch(`${set.url(0)}/ops/deploy/${id}`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'x-sluice-reason': 'replicas e2e' }, body: '{}' });
    const { value: hook } = await waitFor(() => hooks.calls.find((c) => c.body.includes(id)), 5000, 20);
    const holder = hook!.replica;
    const other = set.authz[1 - holder]!;
    const { value: pending } = await waitFor(async () => {
      const list = await approvalsCall(other.adminUrl, sam, 'GET', '/approvals?status=pending&subject=alice');
      return (list.body.approvals ?? list.body).find((a: { path: string }) => a.path === `/ops/deploy/${id}`);
    }, 5000, 50);
    const vote = await approvalsCall(other.adminUrl, sam, 'POST', `/approvals/${pending.id}/approve`, { reason: 'through the other replica' });
    assert.equal(vote.status, 200, JSON.stringify(vote.body));
    const res = await response;
    assert.equal(res.status, 200, `held on ext-authz ${holder}, approved through ext-authz ${1 - holder}`);
    assert.equal(set.upstream.seen.filter((r) => r.path.includes(id)).length, 1);
  });

  test('a graceful restart of one ext-authz and one ext-proc replica under steady load: 0 failed requests, every answered one recorded', async () => {
    const load = startSteadyLoad({
      urls: set.envoys.map((e) => set.url(e.index)),
      rate: 15,
      approvalShare: 0.1,
      token: alice,
      approver: { token: sam, urls: () => set.authz.map((r) => r.adminUrl) },
    });
    let samples: Awaited<ReturnType<typeof load.stop>>;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const authz = await set.restartService('ext-authz', 0);
      const proc = await set.restartService('ext-proc', 1);
      assert.equal(authz.exitCode, 0, 'ext-authz drained and exited cleanly');
      assert.equal(proc.exitCode, 0, 'ext-proc drained and exited cleanly');
      assert.ok(authz.drainMs >= 3500, `the drain kept its delay (${Math.round(authz.drainMs)} ms)`);
    } finally {
      samples = await load.stop();
    }
    const failed = samples.filter((s) => !s.ok);
    assert.ok(samples.length > 100, `${samples.length} requests sent`);
    assert.ok(samples.some((s) => s.kind === 'approval'), 'approval holds were part of the load');
    assert.deepEqual(failed.map((s) => `${s.kind} ${s.status}`), [], `${failed.length} of ${samples.length} failed`);
    const answered = samples.filter((s) => s.ok).map((s) => s.path);
    // Records are written from ext-proc's queue: give the last ones time to land.
    let missing: string[] = answered;
    for (let attempt = 0; attempt < 30 && missing.length > 0; attempt++) {
      const recorded = new Set(await set.recordedPaths());
      missing = answered.filter((p) => !recorded.has(p));
      if (missing.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(missing, [], 'every answered request has its session record');
  });
});
