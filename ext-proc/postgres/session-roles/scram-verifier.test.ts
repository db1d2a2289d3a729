import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ScramSha256Client } from '../auth/scram.ts';
import { mintPassword, scramVerifier } from './scram-verifier.ts';

const RFC_SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

test('the verifier of the RFC 7677 password is the one PostgreSQL would store (computed independently with Python hashlib)', async () => {
  assert.equal(
    await scramVerifier('pencil', { salt: RFC_SALT, iterations: 4096 }),
    'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
  );
});

/** What the server does with a stored verifier: checks the client's proof, signs with ServerKey. */
function serverSide(verifier: string, client: ScramSha256Client): { proofOk: boolean; signatureAccepted: boolean } {
  const [, iterSalt, keys] = verifier.split('$') as [string, string, string];
  const [iterations, salt] = iterSalt.split(':') as [string, string];
  const [storedKey, serverKey] = keys.split(':').map((k) => Buffer.from(k, 'base64')) as [Buffer, Buffer];
  const first = client.clientFirstMessage().toString().slice(3); // without "n,,"
  const nonce = `${first.split('r=')[1]}server-nonce`;
  const serverFirst = `r=${nonce},s=${salt},i=${iterations}`;
  const final = client.clientFinalMessage(Buffer.from(serverFirst)).toString();
  const withoutProof = final.slice(0, final.indexOf(',p='));
  const proof = Buffer.from(final.slice(final.indexOf(',p=') + 3), 'base64');
  const authMessage = `${first},${serverFirst},${withoutProof}`;
  const signature = createHmac('sha256', storedKey).update(authMessage).digest();
  const clientKey = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  const proofOk = timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey);
  let signatureAccepted = true;
  try {
    client.verifyServerFinal(Buffer.from(`v=${createHmac('sha256', serverKey).update(authMessage).digest('base64')}`));
  } catch {
    signatureAccepted = false;
  }
  return { proofOk, signatureAccepted };
}

test('a minted password logs in against its verifier with the gateway\'s own SCRAM client, and a wrong one does not', async () => {
  const password = mintPassword();
  assert.match(password, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(mintPassword(), password);
  const verifier = await scramVerifier(password);
  assert.match(verifier, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
  assert.ok(!verifier.includes(password));
  assert.deepEqual(serverSide(verifier, new ScramSha256Client('', password)), { proofOk: true, signatureAccepted: true });
  assert.deepEqual(serverSide(verifier, new ScramSha256Client('', mintPassword())), { proofOk: false, signatureAccepted: false });
});

test('two verifiers of one password differ by their random salt', async () => {
  const password = mintPassword();
  assert.notEqual(await scramVerifier(password), await scramVerifier(password));
  await assert.rejects(scramVerifier('not ascii é'), /printable ASCII/);
});
