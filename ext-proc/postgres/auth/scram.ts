import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PgAuthError } from './errors.ts';
import { SALTED_PASSWORDS } from './salted-password.ts';
import { saslprep } from './saslprep.ts';
import { escapeSaslName, isPrintableNonce, parseServerFinal, parseServerFirst, type ServerFirst } from './scram-messages.ts';

/** "n,,": no channel binding (the client does not support it), no authzid. */
const GS2_HEADER = 'n,,';
const CHANNEL_BINDING = Buffer.from(GS2_HEADER).toString('base64');

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();

type State = 'initial' | 'first-sent' | 'final-sent' | 'verified' | 'failed';

export interface ScramClientOptions {
  /**
   * Put the user name in the client-first message's n=. PostgreSQL ignores it (the user comes from
   * the StartupMessage) and libpq sends it empty, so the default is empty; the RFC 7677 test
   * vector, and SCRAM servers other than PostgreSQL, need it.
   */
  sendUserName?: boolean;
}

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding, as the gateway
 * speaks it to PostgreSQL. One instance per login, used in order: clientFirstMessage,
 * clientFinalMessage (or its async form, which keeps PBKDF2 off the event loop), verifyServerFinal.
 * The password is prepared with SASLprep, falling back to the raw password as PostgreSQL does.
 */
export class ScramSha256Client {
  readonly mechanism = 'SCRAM-SHA-256';
  private readonly password: Buffer;
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private state: State = 'initial';
  private expectedServerSignature: Buffer | undefined;

  constructor(user: string, password: string, nonce?: string, options: ScramClientOptions = {}) {
    this.clientNonce = nonce ?? randomBytes(18).toString('base64');
    if (!isPrintableNonce(this.clientNonce)) {
      throw new PgAuthError('the SCRAM client nonce must be printable ASCII without commas', 'ERR_PG_SCRAM_INVALID');
    }
    this.password = Buffer.from(saslprep(password) ?? password, 'utf8');
    this.clientFirstBare = `n=${options.sendUserName ? escapeSaslName(user) : ''},r=${this.clientNonce}`;
  }

  /** True once the server has proved it knows the password. */
  get verified(): boolean {
    return this.state === 'verified';
  }

  /** The SASLInitialResponse data: gs2 header + client-first-message-bare. */
  clientFirstMessage(): Buffer {
    this.advance('clientFirstMessage', 'initial', 'first-sent');
    return Buffer.from(GS2_HEADER + this.clientFirstBare, 'utf8');
  }

  /** The SASLResponse data for the server's SASLContinue. Derives the key on this thread. */
  clientFinalMessage(serverFirst: Buffer): Buffer {
    const first = this.readServerFirst(serverFirst);
    return this.finish(serverFirst, first, SALTED_PASSWORDS.get(this.password, first.salt, first.iterations));
  }

  /** As clientFinalMessage, with PBKDF2 on libuv's thread pool. */
  async clientFinalMessageAsync(serverFirst: Buffer): Promise<Buffer> {
    const first = this.readServerFirst(serverFirst);
    const salted = await SALTED_PASSWORDS.getAsync(this.password, first.salt, first.iterations);
    return this.finish(serverFirst, first, salted);
  }

  /** Checks the SASLFinal data: the server's signature must match the one we expect. */
  verifyServerFinal(serverFinal: Buffer): void {
    if (this.state !== 'final-sent') throw this.outOfOrder('verifyServerFinal');
    const expected = this.expectedServerSignature!;
    this.expectedServerSignature = undefined;
    // One answer only: a failed check is final.
    this.state = 'failed';
    const signature = parseServerFinal(serverFinal);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new PgAuthError('the server signature does not match: the server does not know the password', 'ERR_PG_SCRAM_SERVER_SIGNATURE');
    }
    this.state = 'verified';
  }

  private readServerFirst(serverFirst: Buffer): ServerFirst {
    if (this.state !== 'first-sent') throw this.outOfOrder('clientFinalMessage');
    return parseServerFirst(serverFirst, this.clientNonce);
  }

  private finish(serverFirst: Buffer, first: ServerFirst, saltedPassword: Buffer): Buffer {
    // The async form awaited: another call may have moved the state on meanwhile.
    this.advance('clientFinalMessage', 'first-sent', 'final-sent');
    const withoutProof = `c=${CHANNEL_BINDING},r=${first.nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst.toString('utf8')},${withoutProof}`;
    const clientKey = hmac(saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    this.expectedServerSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  private advance(step: string, from: State, to: State): void {
    if (this.state !== from) throw this.outOfOrder(step);
    this.state = to;
  }

  private outOfOrder(step: string): PgAuthError {
    return new PgAuthError(`SCRAM step out of order (${step} while ${this.state})`, 'ERR_PG_SCRAM_INVALID', { details: { state: this.state } });
  }
}
