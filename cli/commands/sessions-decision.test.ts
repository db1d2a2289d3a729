import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../common/logger.ts';
import { FileSessionStore } from '../../ext-proc/sessions/file-store.ts';
import { sessionRecord, T0 } from '../../ext-proc/sessions/store-suite.ts';
import { pgSession, pgStatement } from '../../ext-proc/sessions/store-suite-decision.ts';
import type { SessionRecord } from '../../ext-proc/sessions/types.ts';
import { runSessionsList } from './sessions.ts';
import { capturingIo as io } from './sessions-test-io.ts';


describe('sluice sessions list --rule/--approval/--refusals', () => {
  let dir: string;
  let records: SessionRecord[];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-decision-'));
    records = [
      sessionRecord({ rule: 'prod/allow-orders' }, 0),
      sessionRecord({ rule: 'prod/allow-billing', events: [{ at: T0 + 1000, kind: 'approval', approvalId: 'ap-1', waitMs: 40 }, ...sessionRecord({}, 1).events] }, 1),
      pgSession(2, { rule: 'staging/db' }, (at) => [pgStatement(at + 1, { outcome: 'refused', code: 'ERR_STATEMENT_DENIED' })]),
    ];
    const store = await FileSessionStore.open({ dir, logger: silentLogger() });
    for (const record of records) await store.append(record);
    await store.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const listed = async (...flags: string[]) => {
    const out = io();
    assert.equal(await runSessionsList(['--dir', dir, ...flags, '--json'], out), 0, out.stderr());
    return JSON.parse(out.stdout()).sessions.map((r: SessionRecord) => r.id) as string[];
  };

  test('filters by rule (exact or policy/*), approval and refusals, alone and together', async () => {
    const at = (...which: number[]) => which.map((i) => records[i]!.id);
    assert.deepEqual(await listed('--rule', 'prod/allow-orders'), at(0));
    assert.deepEqual(await listed('--rule', 'prod/*'), at(1, 0));
    assert.deepEqual(await listed('--approval', 'yes'), at(1));
    assert.deepEqual(await listed('--approval', 'no'), at(2, 0));
    assert.deepEqual(await listed('--refusals', 'yes'), at(2));
    assert.deepEqual(await listed('--rule', 'prod/*', '--approval', 'no', '--refusals', 'no'), at(0));
  });

  test('a bad value is usage (exit 2) naming the flag; --help documents the flags', async () => {
    for (const [flags, flag] of [[['--rule', 'prod'], '--rule'], [['--rule', 'prod/allow-*'], '--rule'], [['--approval', 'true'], '--approval'], [['--refusals', ''], '--refusals']] as const) {
      const out = io();
      assert.equal(await runSessionsList(['--dir', dir, ...flags], out), 2, flags.join(' '));
      assert.match(out.stderr(), new RegExp(`^sluice: ${flag} takes`), flags.join(' '));
      assert.equal(out.stdout(), '');
    }
    const help = io();
    assert.equal(await runSessionsList(['--help'], help), 0);
    for (const flag of ['--rule <policy/rule|policy/*>', '--approval yes|no', '--refusals yes|no']) assert.ok(help.stdout().includes(flag), flag);
    assert.match(help.stdout(), /--rule\s+only sessions this rule let in/);
  });
});
