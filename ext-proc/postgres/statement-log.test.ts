import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from '../masking/compile-profile.ts';
import type { PgStatementEvent } from '../sessions/types.ts';
import { profileMaskers } from './maskers.ts';
import { ResultFlow } from './result-flow.ts';
import { StatementLog } from './statement-log.ts';
import { encodeCommandComplete, encodeErrorResponse, encodeReadyForQuery } from './wire/backend.ts';

const statement = (text: string, outcome: PgStatementEvent['outcome'] = 'ok'): PgStatementEvent => ({ at: 0, kind: 'pg.statement', protocol: 'simple', text, outcome, durationMs: 0 });
const pii = compileProfile({ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }] });

describe('StatementLog with the server\'s answers', () => {
  it('a refused statement keeps the SQLSTATE the server raised for it, and stays refused', () => {
    const log = new StatementLog({ maxEvents: 10 });
    log.sent(statement('create table t (a int)', 'refused'), 'ready');
    log.error('42501', 'ddl is not allowed for alice');
    log.ready();
    const [event] = log.events().events;
    assert.equal(event!.outcome, 'refused');
    assert.deepEqual(event!.error, { sqlstate: '42501', message: 'ddl is not allowed for alice' });
  });

  it('a statement the server fails is an error with its SQLSTATE; one that completes has its rows', () => {
    const log = new StatementLog({ maxEvents: 10 });
    log.sent(statement('select 1/0'), 'ready');
    log.error('22012', 'division by zero');
    log.ready();
    log.sent(statement('select 1'), 'ready');
    log.complete('SELECT 1');
    log.ready();
    const [failed, ok] = log.events().events;
    assert.deepEqual([failed!.outcome, failed!.error?.sqlstate], ['error', '22012']);
    assert.deepEqual([ok!.outcome, ok!.rows, ok!.error], ['ok', 1, undefined]);
  });

  it('with a masking profile, a server message that quotes a value is recorded masked; the client gets the message as sent', () => {
    const log = new StatementLog({ maxEvents: 10 });
    const flow = new ResultFlow({ log, maskers: profileMaskers(pii), context: null, maxMessageBytes: 1 << 20 });
    log.sent(statement("select '4111 1111 1111 1111'::int"), 'ready');
    const answer = Buffer.concat([encodeErrorResponse({ severity: 'ERROR', sqlstate: '22P02', message: 'invalid input syntax for type integer: "4111 1111 1111 1111"' }), encodeReadyForQuery('I')]);
    const toClient = flow.chunk(answer);
    assert.ok(toClient.toString('latin1').includes('4111 1111 1111 1111'), 'the client sent the value; its error is not rewritten');
    const [event] = log.events().events;
    assert.equal(event!.error?.sqlstate, '22P02');
    assert.equal(event!.error?.message.includes('4111 1111 1111 1111'), false, event!.error?.message);
    assert.match(event!.error!.message, /1111"$/);
  });

  it('without a profile the message is recorded as sent (the statement text is too)', () => {
    const log = new StatementLog({ maxEvents: 10 });
    const flow = new ResultFlow({ log, maskers: null, context: null, maxMessageBytes: 1 << 20 });
    log.sent(statement('select x'), 'ready');
    flow.chunk(Buffer.concat([encodeErrorResponse({ severity: 'ERROR', sqlstate: '42703', message: 'column "x" does not exist' }), encodeCommandComplete('SELECT 0'), encodeReadyForQuery('I')]));
    assert.equal(log.events().events[0]!.error?.message, 'column "x" does not exist');
  });
});
