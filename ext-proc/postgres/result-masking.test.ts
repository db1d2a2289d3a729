import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from '../masking/compile-profile.ts';
import { HASH_KEY } from '../masking/test-fixtures.ts';
import { ResultUnmaskableError, rowMaskerFor, type ResultColumn } from './result-masking.ts';

const cardEmail = compileProfile({
  name: 'pg',
  recognizers: [
    { use: 'card', strategy: 'keep-last-4' },
    { use: 'email', strategy: 'redact' },
  ],
});
const withColumns = compileProfile(
  {
    name: 'pg-cols',
    recognizers: [{ use: 'email', strategy: 'redact' }],
    columns: [
      { name: '*ssn*', strategy: 'redact' },
      { name: 'card_number', strategy: 'keep-last-4' },
      { name: 'token', strategy: 'hash' },
    ],
  },
  { hashKey: HASH_KEY },
);
const onlyColumns = compileProfile({ name: 'only-cols', columns: [{ name: '*ssn*', strategy: 'redact' }] });

const text = (name: string, typeOid = 25): ResultColumn => ({ name, typeOid, format: 0 });
const binary = (name: string, typeOid: number): ResultColumn => ({ name, typeOid, format: 1 });
const b = (s: string) => Buffer.from(s);
const strings = (values: (Buffer | null)[]) => values.map((v) => (v === null ? null : v.toString()));

function int4(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(n);
  return out;
}

function expectUnmaskable(fn: () => unknown, column: string | null, typeOid: number | null): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ResultUnmaskableError);
    assert.equal(err.code, 'ERR_PG_RESULT_UNMASKABLE');
    assert.equal(err.column, column);
    assert.equal(err.typeOid, typeOid);
    if (column !== null) assert.ok(err.message.includes(`"${column}"`) && err.message.includes(String(typeOid)));
    return true;
  });
}

describe('rowMaskerFor', () => {
  it('masks cards and emails in text rows and counts them exactly', () => {
    const rows = rowMaskerFor(cardEmail, [text('id', 23), text('name'), text('contact'), text('note')]);
    assert.equal(rows.active, true);
    const input: (Buffer | null)[][] = [
      [b('1'), b('Ada'), b('ada@example.com'), b('card 4111 1111 1111 1111')],
      [b('2'), b('Bob'), b('no contact'), b('paid with 5500-0000-0000-0004, receipt to bob@example.org')],
      [b('3'), b('Cy'), null, b('4111111111111111')],
      [b('4'), b('Di'), b('none'), b('nothing here')],
    ];
    const out = input.map((row) => rows.maskRow(row));
    assert.deepEqual(strings(out[0]!.values), ['1', 'Ada', '[REDACTED:email]', 'card **** **** **** 1111']);
    assert.deepEqual(strings(out[1]!.values), ['2', 'Bob', 'no contact', 'paid with ****-****-****-0004, receipt to [REDACTED:email]']);
    assert.deepEqual(strings(out[2]!.values), ['3', 'Cy', null, '************1111']);
    assert.deepEqual(out.map((r) => r.changed), [true, true, true, false]);
    assert.equal(out[3]!.values, input[3], 'an unchanged row comes back as the same array');
    assert.equal(out[0]!.values[0], input[0]![0], 'unchanged values are not copied');
    assert.deepEqual(strings(input[0]!), ['1', 'Ada', 'ada@example.com', 'card 4111 1111 1111 1111'], 'input not modified');
    assert.deepEqual(rows.matches(), { card: 3, email: 2 });
  });

  it('column rules mask whole values regardless of recognizers, counted per rule', () => {
    const rows = rowMaskerFor(withColumns, [text('id', 23), text('Customer_SSN'), text('CARD_NUMBER'), text('token'), text('email')]);
    const out = rows.maskRow([b('7'), b('123-45-6789'), b('4111111111111111'), b('abc'), b('x@y.io')]);
    const [id, ssn, card, token, email] = strings(out.values);
    assert.equal(id, '7');
    assert.equal(ssn, '[REDACTED:column:*ssn*]');
    assert.equal(card, '************1111');
    assert.match(token!, /^\[H:[0-9a-f]{8}\]$/);
    assert.equal(email, '[REDACTED:email]');
    // A rule masks whatever the value is, also text no recognizer would touch, and an int column
    // sent as text.
    rows.maskRow([b('8'), b('n/a'), b('?'), b('def'), b('none')]);
    assert.deepEqual(rows.matches(), { 'column:*ssn*': 2, 'column:card_number': 2, 'column:token': 2, email: 1 });
  });

  it('binary numbers, dates and uuids pass; binary text types are masked as text', () => {
    const columns = [binary('id', 23), binary('n', 20), binary('ok', 16), binary('at', 1184), binary('note', 25), binary('tag', 1043), binary('code', 1042)];
    const rows = rowMaskerFor(cardEmail, columns);
    assert.equal(rows.active, true);
    const id = int4(4111);
    const n = Buffer.from('4111111111111111'); // 16 bytes that happen to be digits: still an int8 slot, never scanned
    const out = rows.maskRow([id, n.subarray(0, 8), Buffer.of(1), Buffer.alloc(8), b('mail a@b.io'), b('4111111111111111'), b('ok')]);
    assert.equal(out.values[0], id);
    assert.deepEqual(strings(out.values.slice(4)), ['mail [REDACTED:email]', '************1111', 'ok']);
    assert.deepEqual(rows.matches(), { email: 1, card: 1 });
  });

  it('a result of binary numbers only is inactive', () => {
    const rows = rowMaskerFor(cardEmail, [binary('id', 23), binary('amount', 1700), binary('uid', 2950)]);
    assert.equal(rows.active, false);
    const values = [int4(1), Buffer.alloc(8), Buffer.alloc(16)];
    assert.deepEqual(rows.maskRow(values), { values, changed: false });
  });

  it('a binary column of an unreadable type fails closed when anything could apply', () => {
    expectUnmaskable(() => rowMaskerFor(cardEmail, [text('id'), binary('blob', 17)]), 'blob', 17);
    expectUnmaskable(() => rowMaskerFor(onlyColumns, [binary('ssn_list', 1009)]), 'ssn_list', 1009);
    // A rule on a binary number cannot be honoured in the int's layout: fail closed too.
    expectUnmaskable(() => rowMaskerFor(onlyColumns, [binary('ssn', 23)]), 'ssn', 23);
    // Nothing in a columns-only profile applies to an unrelated bytea: it passes.
    const rows = rowMaskerFor(onlyColumns, [binary('blob', 17), text('name')]);
    assert.equal(rows.active, false);
  });

  it('jsonb binary keeps its version byte; json is read as JSON and rules write JSON strings', () => {
    const profile = compileProfile({
      name: 'json',
      recognizers: [{ use: 'email', strategy: 'redact' }],
      columns: [{ name: 'secret_doc', strategy: 'redact' }],
    });
    const rows = rowMaskerFor(profile, [binary('doc', 3802), text('doc_text', 114), binary('secret_doc', 3802), binary('j', 114)]);
    const doc = Buffer.concat([Buffer.of(1), b('{"email":"ada@example.com","n":1}')]);
    const escaped = b('{"e":"jane\\u0040example.com"}');
    const secret = Buffer.concat([Buffer.of(1), b('{"k":"v"}')]);
    const out = rows.maskRow([doc, escaped, secret, b('["x@y.io"]')]);
    assert.equal(out.values[0]![0], 1);
    assert.equal(out.values[0]!.subarray(1).toString(), '{"email":"[REDACTED:email]","n":1}');
    assert.equal(out.values[1]!.toString(), '{"e":"[REDACTED:email]"}');
    assert.equal(out.values[2]![0], 1);
    assert.deepEqual(JSON.parse(out.values[2]!.subarray(1).toString()), '[REDACTED:column:secret_doc]');
    assert.equal(out.values[3]!.toString(), '["[REDACTED:email]"]');
    assert.throws(() => rows.maskRow([Buffer.concat([Buffer.of(2), b('{}')]), null, null, null]), { code: 'ERR_PG_RESULT_UNMASKABLE' });
  });

  it('NULL stays NULL, also under a column rule', () => {
    const rows = rowMaskerFor(withColumns, [text('ssn'), text('email')]);
    const values = [null, null];
    assert.deepEqual(rows.maskRow(values), { values, changed: false });
    assert.deepEqual(rows.matches(), {});
  });

  it('a value over maxValueBytes is redacted whole and counted as oversize', () => {
    const rows = rowMaskerFor(cardEmail, [text('id'), text('note'), binary('n', 23)], { maxValueBytes: 32 });
    const big = b('x'.repeat(33));
    const out = rows.maskRow([b('1'), big, int4(1)]);
    assert.deepEqual(strings(out.values.slice(0, 2)), ['1', '[REDACTED:oversize]']);
    const exact = b('y'.repeat(32));
    assert.equal(rows.maskRow([b('2'), exact, int4(2)]).values[1], exact);
    assert.deepEqual(rows.matches(), { oversize: 1 });
    // The default is 1 MiB.
    const dflt = rowMaskerFor(cardEmail, [text('note')]);
    assert.equal(dflt.maskRow([Buffer.alloc((1 << 20) + 1, 0x61)]).values[0]!.toString(), '[REDACTED:oversize]');
    assert.throws(() => rowMaskerFor(cardEmail, [], { maxValueBytes: 0 }), { code: 'ERR_CONFIG_INVALID' });
  });

  it('a profile with nothing that applies gives an inactive masker', () => {
    const rows = rowMaskerFor(onlyColumns, [text('id'), text('name'), text('email')]);
    assert.equal(rows.active, false);
    const values = [b('1'), b('4111111111111111'), b('a@b.io')];
    assert.deepEqual(rows.maskRow(values), { values, changed: false });
    assert.equal(rowMaskerFor(onlyColumns, [text('ssn')]).active, true);
  });

  it('a row that does not fit its RowDescription is refused', () => {
    const rows = rowMaskerFor(cardEmail, [text('a')]);
    assert.throws(() => rows.maskRow([b('1'), b('a@b.io')]), { code: 'ERR_PG_RESULT_UNMASKABLE' });
  });
});
