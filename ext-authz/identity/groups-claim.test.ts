import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGroupsReader } from './groups-claim.ts';

describe('compileGroupsReader', () => {
  const read = (claim: string, payload: Record<string, unknown>): readonly string[] => compileGroupsReader(claim)(payload);

  it('reads a string as one group and an array of strings as groups', () => {
    assert.deepEqual(read('groups', { groups: 'dev' }), ['dev']);
    assert.deepEqual(read('groups', { groups: ['dev', 'ops'] }), ['dev', 'ops']);
    assert.deepEqual(read('groups', { groups: [] }), []);
  });

  it('follows a dotted path into nested claims', () => {
    assert.deepEqual(read('realm_access.roles', { realm_access: { roles: ['admin'] } }), ['admin']);
    assert.deepEqual(read('a.b.c', { a: { b: { c: 'deep' } } }), ['deep']);
  });

  it('prefers a claim whose whole name contains dots (namespaced URL claims)', () => {
    const claim = 'https://example.com/groups';
    assert.deepEqual(read(claim, { [claim]: ['billing'] }), ['billing']);
  });

  it('yields no groups for anything else', () => {
    for (const payload of [
      {},
      { groups: 42 },
      { groups: null },
      { groups: { dev: true } },
      { groups: ['dev', 7] },
      { groups: [['nested']] },
    ]) {
      assert.deepEqual(read('groups', payload), [], JSON.stringify(payload));
    }
    assert.deepEqual(read('realm_access.roles', { realm_access: 'roles' }), []);
    assert.deepEqual(read('realm_access.roles', { realm_access: [{ roles: ['x'] }] }), []);
  });

  it('never reaches prototype properties', () => {
    assert.deepEqual(read('constructor.name', {}), []);
    assert.deepEqual(read('__proto__.groups', JSON.parse('{"__proto__": {"groups": ["x"]}}') as Record<string, unknown>), ['x']);
    assert.deepEqual(read('toString', {}), []);
  });

  it('returns frozen lists that do not alias the claims', () => {
    const payload = { groups: ['dev'] };
    const groups = read('groups', payload);
    assert.ok(Object.isFrozen(groups));
    payload.groups.push('root');
    assert.deepEqual(groups, ['dev']);
  });
});
