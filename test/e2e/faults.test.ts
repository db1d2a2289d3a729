import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { FAULTS } from '../../bench/faults/faults.ts';
import { emptyRow, type Row } from '../../bench/faults/report.ts';
import { runPhase } from '../../bench/faults/run-phase.ts';
import { World } from '../../bench/faults/world.ts';
import { startRedisServer, type RedisServer } from '../harness/redis-server.ts';

/**
 * The short form of `npm run faults`: a real `sluice gateway` (supervised Envoy, ext-authz,
 * ext-proc) under steady load while each service is killed once (SIGKILL) and hung once
 * (SIGSTOP, then SIGCONT). Through every fault the gateway must fail closed, forward nothing
 * unauthorised, deliver no unmasked byte, keep a session record of every upstream answer a caller
 * got, and recover on its own.
 */
const CHOSEN = ['ext-authz SIGKILL', 'ext-authz SIGSTOP/CONT', 'ext-proc SIGKILL', 'ext-proc SIGSTOP/CONT'];

describe('faults: ext-authz and ext-proc killed and hung under load', { timeout: 120_000 }, () => {
  let world: World;
  let redis: RedisServer;
  const rows = new Map<string, Row>(CHOSEN.map((name) => [name, emptyRow(name)]));
  let children: { name: string; state: string; restarts: number }[] = [];

  before(async () => {
    world = await World.start();
    redis = await startRedisServer();
    const faults = FAULTS.filter((f) => CHOSEN.includes(f.name));
    assert.equal(faults.length, CHOSEN.length);
    ({ children } = await runPhase({ store: 'file', faults }, { rounds: 1, durationMs: 1500, recoverMs: 20_000, pauseMs: 20 }, world, { redis }, { store: 'file', dir: path.join(world.dir, 'sessions') }, `redis://127.0.0.1:${redis.port}`, rows));
  });
  after(async () => {
    await world?.close();
    await redis?.stop();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  for (const name of CHOSEN) {
    test(`${name}: fails closed, forwards nothing unauthorised, delivers nothing unmasked, loses no record, recovers by itself`, () => {
      const row = rows.get(name)!;
      assert.equal(row.rounds, 1);
      const failedClosed = [...row.failedClosed.values()].reduce((a, b) => a + b, 0);
      assert.ok(failedClosed > 0, `the fault had an effect: requests were refused or cut (${JSON.stringify([...row.failedClosed])})`);
      assert.ok(row.ok > 0, 'requests succeeded around the fault');
      assert.equal(row.unauthorised, 0, 'nothing reached the upstream without authorisation');
      assert.equal(row.unmaskedBytes, 0, 'no raw card number or email reached a caller');
      assert.ok(row.recordsChecked > 0, 'some upstream answers were checked against the store');
      assert.equal(row.recordsLost, 0, 'every upstream answer, complete or cut short, has its record, with the status the caller got');
      assert.equal(row.restartNeeded, false);
      assert.ok(row.recoverS[0] !== undefined && row.recoverS[0] < 20, `recovered in ${row.recoverS[0]} s`);
    });
  }

  test('the supervisor restarted each killed child (once) and nothing else', () => {
    const restarts = Object.fromEntries(children.map((c) => [c.name, c.restarts]));
    assert.deepEqual(restarts, { 'ext-authz': 1, 'ext-proc': 1, envoy: 0 });
    assert.ok(children.every((c) => c.state === 'running'), JSON.stringify(children));
  });
});
