import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteTable } from './admin-routes.ts';
import { SluiceError } from './errors.ts';

describe('RouteTable', () => {
  const table = new RouteTable<string>();
  table.add('GET', '/approvals', 'list');
  table.add('GET', '/approvals/:id', 'get');
  table.add('POST', '/approvals/:id/approve', 'approve');
  table.add('DELETE', '/approvals/:id', 'delete');
  table.add('GET', '/', 'root');

  it('matches literals and decodes :params', () => {
    assert.deepEqual(table.match('GET', '/approvals'), { kind: 'found', handler: 'list', params: {} });
    assert.deepEqual(table.match('GET', '/approvals/a%2Fb'), { kind: 'found', handler: 'get', params: { id: 'a/b' } });
    assert.deepEqual(table.match('POST', '/approvals/x/approve'), { kind: 'found', handler: 'approve', params: { id: 'x' } });
    assert.deepEqual(table.match('GET', '/'), { kind: 'found', handler: 'root', params: {} });
  });

  it('a path known under other methods is 405 naming all of them', () => {
    assert.deepEqual(table.match('PUT', '/approvals/x'), { kind: 'method-not-allowed', allow: 'DELETE, GET' });
    assert.deepEqual(table.match('GET', '/approvals/x/approve'), { kind: 'method-not-allowed', allow: 'POST' });
  });

  it('anything else is not found: extra, missing, empty or undecodable segments', () => {
    for (const path of ['/nope', '/approvals/x/approve/y', '/approvals/', '/approvals/%E0%A4%A', '/approvals//approve']) {
      assert.deepEqual(table.match('GET', path), { kind: 'not-found' }, path);
    }
  });

  it('refuses malformed and duplicate patterns at registration', () => {
    const bad = (method: string, pattern: string) => assert.throws(() => table.add(method, pattern, 'x'), (err: unknown) => err instanceof SluiceError && err.code === 'ERR_ADMIN_ROUTE_INVALID');
    bad('get', '/x');
    bad('GET', 'x');
    bad('GET', '/a b');
    bad('GET', '/:id/:id');
    bad('GET', '/approvals/:other');
    bad('GET', '/approvals');
  });
});
