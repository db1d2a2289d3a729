import { SluiceError } from '../../common/errors.ts';
import type { Identity } from '../../ext-authz/identity/types.ts';

/**
 * Who may read recorded sessions, written like a policy's `subjects:` entry and matched the same
 * way (ext-authz/policy/match-subject.ts): the list matches when any entry does (OR); an entry
 * matches when every field it gives does (AND). `issuer` is a configured issuer name; `users`
 * are `sub` values (`*` is any user of the issuer); `groups` match when the caller is in any one.
 */
export interface SessionReader {
  issuer?: string;
  users?: string[];
  groups?: string[];
}

interface CompiledReader {
  issuer: string | null;
  users: ReadonlySet<string> | null;
  anyUser: boolean;
  groups: ReadonlySet<string> | null;
}

/**
 * Checks and compiles the readers once. An empty list lets nobody in. An entry with no field at
 * all would let every authenticated caller read every session, so it is refused rather than
 * taken literally; so is an empty `users` or `groups` list, which would match nobody by accident.
 */
export function compileReaders(readers: readonly SessionReader[], where = 'readers'): (identity: Identity) => boolean {
  if (!Array.isArray(readers)) throw invalid(`${where} must be a list`);
  const compiled = readers.map((reader, i): CompiledReader => {
    const at = `${where}[${i}]`;
    if (typeof reader !== 'object' || reader === null) throw invalid(`${at} must be an object with issuer, users or groups`);
    const unknown = Object.keys(reader).filter((key) => !['issuer', 'users', 'groups'].includes(key));
    if (unknown.length > 0) throw invalid(`${at}: unknown field ${unknown.join(', ')}`);
    if (reader.issuer === undefined && reader.users === undefined && reader.groups === undefined) {
      throw invalid(`${at} gives none of issuer, users, groups: it would let every caller read every session`);
    }
    if (reader.issuer !== undefined && (typeof reader.issuer !== 'string' || reader.issuer === '')) throw invalid(`${at}.issuer must be a non-empty string`);
    const list = (field: 'users' | 'groups') => {
      const value = reader[field];
      if (value === undefined) return null;
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
        throw invalid(`${at}.${field} must be a non-empty list of non-empty strings`);
      }
      return new Set(value);
    };
    const users = list('users');
    return { issuer: reader.issuer ?? null, users, anyUser: users?.has('*') ?? false, groups: list('groups') };
  });
  return (identity) => compiled.some((reader) => matches(reader, identity));
}

function matches(reader: CompiledReader, identity: Identity): boolean {
  if (reader.issuer !== null && reader.issuer !== identity.issuerName) return false;
  if (reader.users !== null && !reader.anyUser && !reader.users.has(identity.subject)) return false;
  if (reader.groups !== null && !identity.groups.some((group) => reader.groups!.has(group))) return false;
  return true;
}

function invalid(message: string): SluiceError {
  return new SluiceError('ERR_CONFIG_INVALID', message);
}
