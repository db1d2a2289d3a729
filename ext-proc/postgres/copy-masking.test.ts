import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from '../masking/compile-profile.ts';
import { splitCsvRow } from './copy-csv-fields.ts';
import { copyRowMasker } from './copy-masking.ts';
import { decodeTextField, encodeTextField, splitTextRow } from './copy-text-fields.ts';

const cardEmail = compileProfile({
  name: 'copy',
  recognizers: [
    { use: 'card', strategy: 'keep-last-4' },
    { use: 'email', strategy: 'redact' },
  ],
  columns: [{ name: '*ssn*', strategy: 'redact' }],
});
const onlyColumns = compileProfile({ name: 'only-cols', columns: [{ name: '*ssn*', strategy: 'redact' }] });
const b = (s: string) => Buffer.from(s);

describe('COPY text format fields', () => {
  it('splits on unescaped tabs and keeps the line end', () => {
    const { fields, terminator } = splitTextRow(b('1\ta\\tb\t\\N\tc\\\\\t\n'));
    assert.deepEqual(fields.map(String), ['1', 'a\\tb', '\\N', 'c\\\\', '']);
    assert.equal(terminator.toString(), '\n');
    assert.deepEqual(splitTextRow(b('x')).fields.map(String), ['x']);
    assert.equal(splitTextRow(b('x\r\n')).terminator.toString(), '\r\n');
  });

  it('decodes every escape COPY FROM reads and encodes back what breaks a field', () => {
    assert.equal(decodeTextField(b('a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh')).toString(), 'a\tb\nc\rd\\e\bf\fg\vh');
    assert.equal(decodeTextField(b('\\101\\x42\\x4\\q')).toString(), 'AB\x04q');
    const value = b('tab\there\nnew\\back\r');
    assert.equal(encodeTextField(value).toString(), 'tab\\there\\nnew\\\\back\\r');
    assert.deepEqual(decodeTextField(encodeTextField(value)), value);
    const plain = b('plain');
    assert.equal(encodeTextField(plain), plain);
  });
});

describe('COPY CSV fields', () => {
  it('reads quotes, doubled quotes, commas and line breaks inside quotes, NULL vs empty', () => {
    const { fields, terminator } = splitCsvRow(b('1,"a, ""b""",,"",x\r\ny,"multi\nline"\n'));
    assert.deepEqual(fields.map((f) => (f.value === null ? null : f.value.toString())), ['1', 'a, "b"', null, '', 'x\r\ny', 'multi\nline']);
    assert.deepEqual(fields.map((f) => f.quoted), [false, true, false, true, false, true]);
    assert.equal(terminator.toString(), '\n');
  });
});

describe('copyRowMasker', () => {
  it('text: masks each field, decoding escapes first and re-escaping the result', () => {
    const copy = copyRowMasker(cardEmail, null, { format: 'text' });
    assert.equal(copy.active, true);
    // The email sits between an escaped tab and an escaped backslash.
    const row = b('1\tto:\\tada@example.com\\\\end\t4111 1111 1111 1111\t\\N\tplain\n');
    const out = copy.maskData(row).toString();
    assert.equal(out, '1\tto:\\t[REDACTED:email]\\\\end\t**** **** **** 1111\t\\N\tplain\n');
    assert.equal(splitTextRow(b(out)).fields.length, 5);
    const untouched = b('2\tnothing\t\\N\tx\\ty\n');
    assert.equal(copy.maskData(untouched), untouched);
    assert.deepEqual(copy.matches(), { email: 1, card: 1 });
  });

  it('text: a keep-last replacement keeps escaped bytes escaped (at most half shown)', () => {
    const p = compileProfile({ name: 'k', columns: [{ name: 'secret', strategy: 'keep-last-4' }] });
    const copy = copyRowMasker(p, ['id', 'secret'], { format: 'text' });
    assert.equal(copy.maskData(b('1\tab\\tcd\\\\ef\n')).toString(), '1\t**\\t*d\\\\ef\n');
  });

  it('text: column rules apply by position when names are given', () => {
    const copy = copyRowMasker(cardEmail, ['id', 'customer_ssn', 'note'], { format: 'text' });
    assert.equal(copy.maskData(b('1\t123-45-6789\tok\n')).toString(), '1\t[REDACTED:column:*ssn*]\tok\n');
    assert.equal(copy.maskData(b('2\t\\N\tok\n')).toString(), '2\t\\N\tok\n');
    assert.deepEqual(copy.matches(), { 'column:*ssn*': 1 });
  });

  it('csv: masks inside quoted fields and quotes again where needed', () => {
    const copy = copyRowMasker(cardEmail, ['id', 'note', 'ssn', 'empty', 'nul'], { format: 'csv' });
    const row = b('1,"mail ada@example.com, then ""4111111111111111""",123-45-6789,"",\n');
    const out = copy.maskData(row).toString();
    assert.equal(out, '1,"mail [REDACTED:email], then ""************1111""",[REDACTED:column:*ssn*],"",\n');
    const fields = splitCsvRow(b(out)).fields;
    assert.equal(fields.length, 5);
    assert.equal(fields[1]!.value!.toString(), 'mail [REDACTED:email], then "************1111"');
    assert.equal(fields[4]!.value, null);
    assert.deepEqual(copy.matches(), { email: 1, card: 1, 'column:*ssn*': 1 });
  });

  it('csv: a replacement with a comma or quote gets quoted', () => {
    const p = compileProfile({ name: 'm', columns: [{ name: 'x', strategy: { type: 'redact', marker: 'a,"b"' } }] });
    const copy = copyRowMasker(p, ['x', 'y'], { format: 'csv' });
    assert.equal(copy.maskData(b('secret,2\n')).toString(), '"a,""b""",2\n');
  });

  it('oversize fields are redacted whole', () => {
    const copy = copyRowMasker(cardEmail, null, { format: 'text', maxValueBytes: 8 });
    assert.equal(copy.maskData(b('1\t123456789\n')).toString(), '1\t[REDACTED:oversize]\n');
    assert.deepEqual(copy.matches(), { oversize: 1 });
  });

  it('binary COPY fails closed when the profile applies, and is inactive otherwise', () => {
    assert.throws(() => copyRowMasker(cardEmail, null, { format: 'binary' }), { code: 'ERR_PG_RESULT_UNMASKABLE' });
    assert.throws(() => copyRowMasker(onlyColumns, ['id', 'ssn'], { format: 'binary' }), { code: 'ERR_PG_RESULT_UNMASKABLE' });
    const copy = copyRowMasker(onlyColumns, ['id', 'name'], { format: 'binary' });
    assert.equal(copy.active, false);
    const data = Buffer.of(0, 1, 2);
    assert.equal(copy.maskData(data), data);
  });

  it('inactive when nothing in the profile can apply', () => {
    assert.equal(copyRowMasker(onlyColumns, null, { format: 'text' }).active, false);
    const copy = copyRowMasker(onlyColumns, ['id', 'name'], { format: 'csv' });
    assert.equal(copy.active, false);
    const row = b('1,4111111111111111\n');
    assert.equal(copy.maskData(row), row);
    assert.throws(() => copyRowMasker(onlyColumns, null, { format: 'xml' as 'csv' }), { code: 'ERR_CONFIG_INVALID' });
  });
});
