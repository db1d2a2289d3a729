import { PgAuthError } from './errors.ts';

/** More rounds than this is a server trying to burn our CPU (PostgreSQL's default is 4096). */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

export interface ServerFirst {
  /** Client nonce + server nonce. */
  nonce: string;
  salt: Buffer;
  iterations: number;
}

/** RFC 5802 `printable`: %x21-2B / %x2D-7E (visible ASCII without the comma). */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const POSITIVE_INTEGER = /^[1-9][0-9]{0,9}$/;

const invalid = (message: string) => new PgAuthError(`invalid SCRAM server message: ${message}`, 'ERR_PG_SCRAM_INVALID');

export function isPrintableNonce(nonce: string): boolean {
  return PRINTABLE.test(nonce);
}

/** Strict base64 (padding required, no whitespace), the only form RFC 5802 allows. */
export function decodeBase64(value: string, what: string): Buffer {
  if (value === '' || !BASE64.test(value)) throw invalid(`${what} is not base64`);
  return Buffer.from(value, 'base64');
}

/** Reads `name=value`, the next attribute of a SCRAM message, or fails naming the one expected. */
function attribute(part: string | undefined, name: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) throw invalid(`expected the ${name}= attribute`);
  return part.slice(name.length + 1);
}

/**
 * server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions].
 * The nonce must extend ours (else a replayed or foreign exchange), m= is a mandatory extension
 * we do not know (so the exchange must fail), and optional extensions after i= are ignored.
 */
export function parseServerFirst(message: Buffer, clientNonce: string): ServerFirst {
  const parts = message.toString('utf8').split(',');
  if (parts[0]?.startsWith('m=')) throw invalid('mandatory extension m= is not supported');
  const nonce = attribute(parts[0], 'r');
  if (!PRINTABLE.test(nonce)) throw invalid('the nonce has characters outside printable ASCII');
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
    throw invalid('the nonce does not extend the client nonce');
  }
  const salt = decodeBase64(attribute(parts[1], 's'), 'the salt');
  const iterationsText = attribute(parts[2], 'i');
  if (!POSITIVE_INTEGER.test(iterationsText)) throw invalid('the iteration count is not a positive integer');
  const iterations = Number(iterationsText);
  if (iterations > MAX_SCRAM_ITERATIONS) {
    throw new PgAuthError(`SCRAM iteration count ${iterations} is above the limit of ${MAX_SCRAM_ITERATIONS}`, 'ERR_PG_SCRAM_INVALID', {
      details: { iterations, limit: MAX_SCRAM_ITERATIONS },
    });
  }
  return { nonce, salt, iterations };
}

/**
 * server-final-message = (server-error / verifier) ["," extensions]. Returns the server signature;
 * an e= answer means the server rejected our proof, reported as a failed server signature.
 */
export function parseServerFinal(message: Buffer): Buffer {
  const [first] = message.toString('utf8').split(',');
  if (first?.startsWith('e=')) {
    const reason = first.slice(2);
    throw new PgAuthError(`the server refused the SCRAM exchange: ${reason}`, 'ERR_PG_SCRAM_SERVER_SIGNATURE', { details: { reason } });
  }
  return decodeBase64(attribute(first, 'v'), 'the server signature');
}

/** saslname: "," and "=" are escaped as =2C and =3D. */
export function escapeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}
