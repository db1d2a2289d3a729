import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPREAD_FILE_ENV, TOPOLOGY_ENV, type SpreadReport } from '../harness/replica-gateway.ts';
import { Gateway } from '../harness/gateway.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The HTTP authz, approval and recording suites, unchanged, on the replica topology: 2 Envoys,
 * 2 ext-authz and 2 ext-proc processes sharing Redis (approvals) and PostgreSQL (sessions).
 * audit-records.test.ts is not among them: it reads ext-proc's in-process secret versions and
 * the file session store through the CLI's --dir, neither of which exists on replicas.
 */
const SUITES = ['test/e2e/http-authz.test.ts', 'test/e2e/approvals.test.ts', 'test/e2e/record-fidelity.test.ts'];

function runSuites(spreadFile: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // One file at a time: each starts 6 service processes and 2 Envoys of its own. Without
    // NODE_TEST_CONTEXT the child is a runner of its own, not a file of this one's run.
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...SUITES], {
      cwd: REPO,
      env: { ...env, [TOPOLOGY_ENV]: 'replicas', [SPREAD_FILE_ENV]: spreadFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const count = (output: string, what: string) => Number(new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);

test('HTTP authz, approval and recording e2e suites pass on 2 Envoys + 2 ext-authz + 2 ext-proc, and every replica served', { timeout: 8 * 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-replica-suites-'));
  const spreadFile = path.join(dir, 'spread.jsonl');
  try {
    const started = performance.now();
    const { code, output } = await runSuites(spreadFile);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const summary = `pass ${count(output, 'pass')}, fail ${count(output, 'fail')}, skipped ${count(output, 'skipped')}`;
    console.log(`# replica suites: ${summary} in ${seconds} s`);
    assert.equal(code, 0, `the suites failed on replicas (${summary}):\n${output.split('\n').filter((l) => /✖|Error|assert/i.test(l)).slice(0, 40).join('\n')}`);
    assert.equal(count(output, 'fail'), 0);
    assert.equal(count(output, 'skipped'), 0, 'no case is skipped on replicas');
    assert.ok(count(output, 'pass') >= 20, `the suites' cases ran (${summary})`);

    assert.ok(existsSync(spreadFile), 'the replica gateways reported what they served');
    const spreads = readFileSync(spreadFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SpreadReport & { suite: string });
    for (const s of spreads) console.log(`# ${s.suite}: envoys ${s.envoys.join('/')}, ext-authz ${s.extAuthz.join('/')}, ext-proc ${s.extProc.join('/')}`);
    assert.deepEqual([...new Set(spreads.map((s) => s.suite))].sort(), SUITES.map((f) => path.basename(f)).sort(), 'every suite ran on a replica gateway');
    const sum = (pick: (s: SpreadReport) => number[]) => spreads.reduce((acc, s) => acc.map((n, i) => n + (pick(s)[i] ?? 0)), [0, 0]);
    const total = { envoys: sum((s) => s.envoys), extAuthz: sum((s) => s.extAuthz), extProc: sum((s) => s.extProc) };
    console.log(`# whole run: envoys ${total.envoys.join('/')}, ext-authz ${total.extAuthz.join('/')}, ext-proc ${total.extProc.join('/')}`);
    // Both of each, each with a real share (a replica that took a stray request proves little).
    for (const [name, counts] of Object.entries(total)) {
      const all = counts[0]! + counts[1]!;
      assert.ok(Math.min(...counts) >= all * 0.2, `${name}: both served a share of the run (${counts.join('/')})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replica mode refuses what it cannot do, by name: an unsupported option at start, an in-process member on access', async () => {
  const previous = process.env[TOPOLOGY_ENV];
  process.env[TOPOLOGY_ENV] = 'replicas';
  try {
    await assert.rejects(Gateway.start({ console: {} }), /replica mode \(SLUICE_E2E_TOPOLOGY=replicas\) does not support the gateway option\(s\) console/);
    const gw = await Gateway.start({});
    try {
      assert.throws(() => gw.sessionsDir, /replica mode .*no sessionsDir/);
      assert.throws(() => gw.updateConfig(() => {}), /replica mode .*no updateConfig/);
      assert.throws(() => gw.proc, /replica mode: ext-proc runs as two processes/);
      assert.throws(() => gw.replicas[0]!.service, /replica mode: ext-authz runs as its own process/);
      // Successive requests alternate between the two Envoys.
      assert.notEqual(new URL(gw.url('/')).port, new URL(gw.url('/')).port);
    } finally {
      await gw.stop();
    }
  } finally {
    if (previous === undefined) delete process.env[TOPOLOGY_ENV];
    else process.env[TOPOLOGY_ENV] = previous;
  }
});
