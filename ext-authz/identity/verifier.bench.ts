/**
 * Micro-benchmark of JwtIdentityVerifier.verify on the verified-token cache hit path, the hot path
 * of every decision. Run: node --import tsx ext-authz/identity/verifier.bench.ts
 *
 * Tokens are ~1.2 KB RS256 (a realistic access token) and every call gets a fresh string copy,
 * as a new request would: V8 caches a string's hash on the string, so reusing one string object
 * would flatter any design that hashes the token.
 */
import { parseIssuerConfig } from './config.ts';
import { FakeClock, FakeIdp, fakeFetch } from './fake-idp.ts';
import { JwtIdentityVerifier } from './verifier.ts';

const DISTINCT = 1_000;
const CALLS = 200_000;

const clock = new FakeClock();
const idp = new FakeIdp('https://idp.example.com', clock);
await idp.addKey('k1');
const verifier = new JwtIdentityVerifier({
  issuers: [parseIssuerConfig({ name: 'people', issuer: idp.issuer, audiences: ['sluice'] }, 'bench')],
  fetch: fakeFetch(idp),
  now: clock.now,
});

const tokens: string[] = [];
for (let i = 0; i < DISTINCT; i++) {
  tokens.push(await idp.sign({ jti: `t${i}`, email: `user${i}@example.com`, groups: ['dev', 'ops'], pad: 'x'.repeat(600) }));
}
console.log(`token size ${tokens[0]!.length} chars`);

let started = performance.now();
for (const token of tokens) await verifier.verify(token);
const missMs = performance.now() - started;
console.log(`full verification (cache miss): ${Math.round(DISTINCT / (missMs / 1000)).toLocaleString()} calls/s`);

for (let round = 1; round <= 3; round++) {
  const fresh = Array.from({ length: CALLS }, (_, i) => Buffer.from(tokens[i % DISTINCT]!).toString('latin1'));
  started = performance.now();
  for (let i = 0; i < CALLS; i++) await verifier.verify(fresh[i]!);
  const seconds = (performance.now() - started) / 1000;
  console.log(`round ${round}: cache hit ${Math.round(CALLS / seconds).toLocaleString()} calls/s (${((seconds / CALLS) * 1e9).toFixed(0)} ns/call)`);
}
