import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { html, raw } from './html.ts';

describe('html', () => {
  it('escapes every interpolated value, nested lists included, and keeps Html as markup', () => {
    const evil = `<script>alert("x")</script>&'`;
    const out = html`<p title="${evil}">${evil}${[evil, html`<b>${evil}</b>`]}${raw('<hr>')}</p>`.text;
    assert.equal(out.includes('<script>'), false);
    assert.equal(out, '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</b><hr></p>');
  });
  it('renders nothing for null, undefined and false', () => {
    assert.equal(html`a${null}${undefined}${false}b${0}`.text, 'ab0');
  });
});
