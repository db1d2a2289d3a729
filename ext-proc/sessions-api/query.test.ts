import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSessionQuery } from './query.ts';

const parse = (query: string) => parseSessionQuery(new URLSearchParams(query));

describe('parseSessionQuery', () => {
  it('defaults the limit to 50 and passes the filters through', () => {
    assert.deepEqual(parse(''), { limit: 50 });
    assert.deepEqual(parse('subject=alice&target=orders&from=1000&to=2000&limit=500&cursor=abc'), { subject: 'alice', target: 'orders', from: 1000, to: 2000, limit: 500, cursor: 'abc' });
    assert.deepEqual(parse('from=2030-01-01&to=2030-01-01T10:00:00.5%2B02:00'), { limit: 50, from: Date.UTC(2030, 0, 1), to: Date.UTC(2030, 0, 1, 8, 0, 0, 500) });
  });

  it('reads the decision filters: rule (exact or policy/*), approval and refusals as yes/no', () => {
    assert.deepEqual(parse('rule=prod%2Fallow-orders'), { limit: 50, rule: 'prod/allow-orders' });
    assert.deepEqual(parse('rule=prod%2F*&approval=yes&refusals=no'), { limit: 50, rule: 'prod/*', approval: true, refusals: false });
    assert.deepEqual(parse('approval=no&refusals=yes'), { limit: 50, approval: false, refusals: true });
    for (const query of ['rule=', 'rule=prod', 'rule=*', 'rule=prod%2Fallow-*', `rule=p%2F${'r'.repeat(256)}`, 'approval=true', 'approval=', 'refusals=1', 'refusals=YES', 'rule=a%2Fb&rule=a%2Fc']) {
      assert.throws(() => parse(query), (err: any) => err.status === 400 && err.code === 'ERR_SESSION_INVALID', query);
    }
    assert.throws(() => parse('approval=maybe&rule=x'), (err: any) => /approval/.test(err.message) && /rule/.test(err.message), 'both problems at once');
  });

  it('reports every problem at once as 400 ERR_SESSION_INVALID', () => {
    assert.throws(() => parse('limit=0&from=soon&subjet=x'), (err: any) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'ERR_SESSION_INVALID');
      for (const part of ['limit', 'from', 'subjet']) assert.match(err.message, new RegExp(part));
      return true;
    });
    assert.deepEqual(parse('outcome=refused&protocol=postgres&masked=card'), { limit: 50, outcome: 'refused', protocol: 'postgres', masked: 'card' });
    for (const query of ['outcome=done', 'protocol=ftp', 'masked=', 'limit=501', 'limit=1.5', 'limit=-1', 'to=2030-01-01T10:00', 'cursor=', 'target=a&target=b', 'from=3&to=2']) {
      assert.throws(() => parse(query), { code: 'ERR_SESSION_INVALID' }, query);
    }
  });
});
