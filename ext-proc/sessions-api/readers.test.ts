import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../../ext-authz/identity/types.ts';
import { compileReaders, type SessionReader } from './readers.ts';

const who = (subject: string, groups: string[] = [], issuerName = 'people'): Identity => ({ issuerName, issuer: 'https://idp', subject, groups, claims: {}, expiresAt: 0 });

describe('compileReaders', () => {
  it('matches like a policy subject: any entry (OR), every given field (AND)', () => {
    const may = compileReaders([{ issuer: 'people', groups: ['auditors', 'security'] }, { users: ['root'] }, { issuer: 'robots', users: ['*'] }]);
    assert.equal(may(who('carol', ['auditors'])), true);
    assert.equal(may(who('carol', ['auditors'], 'partners')), false, 'issuer and groups must both match');
    assert.equal(may(who('root', [], 'partners')), true, 'an entry without issuer takes any issuer');
    assert.equal(may(who('ci-bot', [], 'robots')), true, '* is any user of that issuer');
    assert.equal(may(who('alice', ['engineering'])), false);
  });

  it('an empty list lets nobody in', () => {
    assert.equal(compileReaders([])(who('root', ['auditors'])), false);
  });

  it('refuses entries that would match everyone or nobody by accident, naming the entry', () => {
    const bad: unknown[] = [{}, { users: [] }, { groups: [''] }, { issuer: '' }, { group: ['x'] }, 'auditors'];
    for (const entry of bad) {
      assert.throws(() => compileReaders([{ users: ['ok'] }, entry as SessionReader]), (err: any) => err.code === 'ERR_CONFIG_INVALID' && /readers\[1\]/.test(err.message), JSON.stringify(entry));
    }
  });
});
