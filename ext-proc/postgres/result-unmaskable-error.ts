import { SluiceError } from '../../common/errors.ts';

/**
 * A result the masking profile could apply to but the gateway cannot read: a binary-format
 * column of a type it does not decode, a jsonb value of an unknown version, binary COPY. The
 * caller fails closed (ends the result or the session); nothing unmasked is passed. Column names
 * and type oids are not secret, values never appear.
 */
export class ResultUnmaskableError extends SluiceError {
  /** The column's name, or null when there is none to name (COPY OUT, a malformed row). */
  readonly column: string | null;
  readonly typeOid: number | null;
  readonly reason: string;

  constructor(column: string | null, typeOid: number | null, reason: string) {
    const what = column === null ? 'result data' : `result column "${column}" (type oid ${typeOid ?? '?'})`;
    super('ERR_PG_RESULT_UNMASKABLE', `${what} cannot be masked: ${reason}`, { details: { column, typeOid, reason } });
    this.column = column;
    this.typeOid = typeOid;
    this.reason = reason;
  }
}
