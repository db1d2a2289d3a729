import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Readiness } from './readiness.ts';
import { SluiceError } from './errors.ts';

function capture(lines: string[]) {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
}

describe('Readiness', () => {
  it('is ready with no checks, and when every check passes', async () => {
    const readiness = new Readiness({ logger: capture([]) });
    assert.deepEqual(await readiness.run(), { ready: true, checks: [] });
    readiness.add('a', async () => ({ ok: true }));
    readiness.add('b', async () => ({ ok: true, detail: '3 policies' }));
    assert.deepEqual(await readiness.run(), { ready: true, checks: [{ name: 'a', ok: true }, { name: 'b', ok: true, detail: '3 policies' }] });
  });

  it('one failing, throwing or slow check makes it not ready; a thrown error is logged, never returned', async () => {
    const lines: string[] = [];
    const readiness = new Readiness({ logger: capture(lines), timeoutMs: 50 });
    readiness.add('fine', async () => ({ ok: true }));
    readiness.add('down', async () => ({ ok: false, detail: 'store unreachable' }));
    readiness.add('throws', async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:6379');
    });
    readiness.add('sync-throw', () => {
      throw new Error('boom-sync');
    });
    readiness.add('slow', () => new Promise(() => {}));
    const started = Date.now();
    const report = await readiness.run();
    assert.ok(Date.now() - started < 1000, 'checks run concurrently under the timeout');
    assert.equal(report.ready, false);
    assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), [['fine', true], ['down', false], ['throws', false], ['sync-throw', false], ['slow', false]]);
    assert.equal(report.checks[1]!.detail, 'store unreachable');
    assert.match(report.checks[4]!.detail!, /50 ms/);
    assert.ok(!JSON.stringify(report).includes('10.0.0.7'));
    assert.ok(!JSON.stringify(report).includes('boom-sync'));
    assert.ok(lines.some((l) => l.includes('10.0.0.7')), 'the thrown detail is in the log');
  });

  it('refuses bad and duplicate names', () => {
    const readiness = new Readiness({ logger: capture([]) });
    readiness.add('policies', async () => ({ ok: true }));
    for (const name of ['policies', 'Has Space', '']) {
      assert.throws(() => readiness.add(name, async () => ({ ok: true })), (err: unknown) => err instanceof SluiceError && err.code === 'ERR_ADMIN_ROUTE_INVALID');
    }
  });
});
