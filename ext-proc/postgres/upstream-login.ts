import { ScramSha256Client } from './auth/scram.ts';
import { md5PasswordMessage } from './auth/md5.ts';
import { AUTH, decodeAuthentication, decodeFields } from './wire/backend.ts';
import { encodePassword, encodeSaslInitialResponse, encodeSaslResponse } from './wire/frontend.ts';
import type { Frame } from './wire/framer.ts';

/** The real credential the gateway logs in with (from the secret stores; never shown to the client). */
export interface UpstreamCredential {
  user: string;
  password: string;
}

/** What to do with one server message during the upstream login. */
export type LoginStep =
  /** Swallow the message (the client must not see the server's SASL exchange); maybe answer the server. */
  | { kind: 'answer'; toServer: Buffer | null }
  /** AuthenticationOk, verified: forward it and everything after it to the client. */
  | { kind: 'done' }
  /** The login cannot go on; `operatorDetail` is for the log only (may name the db user, never the password). */
  | { kind: 'fail'; sqlstate: string; message: string; operatorDetail: string; code: string };

/**
 * The gateway's side of the server's authentication exchange, spoken with the real credential:
 * SCRAM-SHA-256 (the server signature checked, so an impostor cannot collect the password), md5 if
 * the server asks for it, cleartext only where the caller said the path is local. The server's
 * messages are answered here and never reach the client; the client sees AuthenticationOk only
 * once the server has sent it after a verified exchange.
 */
export class UpstreamLogin {
  private scram: ScramSha256Client | null = null;

  constructor(private readonly credential: UpstreamCredential, private readonly options: { allowCleartext: boolean }) {}

  async step(frame: Frame): Promise<LoginStep> {
    if (frame.type === 0x45 /* E */) {
      const fields = decodeFields(frame);
      return {
        kind: 'fail', sqlstate: '08004', code: 'ERR_PG_UPSTREAM_LOGIN',
        message: 'the gateway could not log in to the database with its credential; the operator has been told',
        operatorDetail: `server refused the login of "${this.credential.user}": ${fields.get('C') ?? '?'} ${fields.get('M') ?? ''}`,
      };
    }
    if (frame.type !== 0x52 /* R */) {
      return this.fail(`unexpected message ${String.fromCharCode(frame.type)} before AuthenticationOk`);
    }
    const auth = decodeAuthentication(frame);
    try {
      switch (auth.code) {
        case AUTH.SASL: {
          const mechanisms = 'mechanisms' in auth ? auth.mechanisms : [];
          if (!mechanisms.includes('SCRAM-SHA-256')) return this.fail(`server offers only ${mechanisms.join(', ') || 'no'} SASL mechanisms; SCRAM-SHA-256 is required`);
          this.scram = new ScramSha256Client(this.credential.user, this.credential.password);
          return { kind: 'answer', toServer: encodeSaslInitialResponse('SCRAM-SHA-256', this.scram.clientFirstMessage()) };
        }
        case AUTH.SASLContinue: {
          if (!this.scram || !('data' in auth)) return this.fail('SASLContinue without a SASL exchange');
          return { kind: 'answer', toServer: encodeSaslResponse(await this.scram.clientFinalMessageAsync(auth.data)) };
        }
        case AUTH.SASLFinal: {
          if (!this.scram || !('data' in auth)) return this.fail('SASLFinal without a SASL exchange');
          this.scram.verifyServerFinal(auth.data);
          return { kind: 'answer', toServer: null };
        }
        case AUTH.MD5Password:
          return { kind: 'answer', toServer: encodePassword(md5PasswordMessage(this.credential.user, this.credential.password, (auth as { salt: Buffer }).salt)) };
        case AUTH.CleartextPassword:
          if (!this.options.allowCleartext) return this.fail('server asks for the password in cleartext over a network; refused (use scram-sha-256, or TLS to the server)');
          return { kind: 'answer', toServer: encodePassword(this.credential.password) };
        case AUTH.Ok:
          if (this.scram && !this.scram.verified) return this.fail('server accepted the login without proving it knows the password (no SASLFinal)');
          return { kind: 'done' };
        default:
          return this.fail(`server asks for authentication method ${auth.code}, which the gateway does not speak`);
      }
    } catch (err) {
      return this.fail(err instanceof Error ? err.message : String(err));
    }
  }

  private fail(detail: string): LoginStep {
    return {
      kind: 'fail', sqlstate: '08004', code: 'ERR_PG_UPSTREAM_LOGIN',
      message: 'the gateway could not log in to the database with its credential; the operator has been told',
      operatorDetail: `upstream login as "${this.credential.user}": ${detail}`,
    };
  }
}
