import type { DirectionMasking, MaskingSummary, RecordedCredential, SecretRef, SessionRecord } from './types.ts';

/**
 * The record's audit fields (`credential`, `masking`): checked and copied the same way by every
 * store (prepareRecord), and reduced to the keys list() filters on, one definition for the file
 * index and the PostgreSQL columns of migration 003, so both stores answer a filter alike.
 */

/** What list() filters on: the secret names and version the credential used, and the entries that masked anything. */
export interface AuditKeys {
  /** secret.name, or oauth2.clientSecret.name; null when the record names no credential. */
  credentialName: string | null;
  credentialVersion: string | null;
  /** Entry names with a count above zero in either direction, body or headers, sorted, without repeats. */
  masked: string[];
}

export function auditKeys(record: Pick<SessionRecord, 'credential' | 'masking'>): AuditKeys {
  const ref = secretOf(record.credential);
  const masked = new Set<string>();
  for (const side of [record.masking?.request, record.masking?.response]) {
    for (const counts of [side?.masked, side?.headers]) {
      for (const [name, count] of Object.entries(counts ?? {})) if (count > 0) masked.add(name);
    }
  }
  return { credentialName: ref?.name ?? null, credentialVersion: ref?.version ?? null, masked: [...masked].sort() };
}

/** The secret a credential was made from: the injected secret, or the OAuth2 client secret. */
export function secretOf(credential: RecordedCredential | undefined): SecretRef | undefined {
  return credential?.secret ?? credential?.oauth2?.clientSecret;
}

export function checkAuditFields(record: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const credential = record.credential;
  if (credential !== undefined) {
    if (!isObject(credential)) problems.push('credential must be an object');
    else {
      if (typeof credential.target !== 'string') problems.push('credential.target must be a string');
      if (credential.kind === 'secret') {
        problems.push(...checkRef(credential.secret, 'credential.secret'));
      } else if (credential.kind === 'oauth2') {
        const o = credential.oauth2;
        if (!isObject(o)) problems.push('credential.oauth2 must be an object');
        else {
          if (typeof o.clientId !== 'string') problems.push('credential.oauth2.clientId must be a string');
          problems.push(...checkRef(o.clientSecret, 'credential.oauth2.clientSecret'));
          if (o.expiresAt !== undefined && !Number.isSafeInteger(o.expiresAt)) problems.push('credential.oauth2.expiresAt must be a time in integer milliseconds');
          if (o.jti !== undefined && typeof o.jti !== 'string') problems.push('credential.oauth2.jti must be a string');
        }
      } else problems.push('credential.kind must be secret or oauth2');
    }
  }
  const masking = record.masking;
  if (masking !== undefined) {
    if (!isObject(masking)) problems.push('masking must be an object');
    else {
      if (masking.profile !== null && typeof masking.profile !== 'string') problems.push('masking.profile must be a string or null');
      for (const side of ['request', 'response'] as const) problems.push(...checkDirection(masking[side], `masking.${side}`));
    }
  }
  return problems;
}

function checkRef(ref: unknown, where: string): string[] {
  if (!isObject(ref)) return [`${where} must be an object`];
  return typeof ref.name === 'string' && typeof ref.version === 'string' ? [] : [`${where} must have a name and a version`];
}

function checkDirection(side: unknown, where: string): string[] {
  if (!isObject(side)) return [`${where} must be an object`];
  const problems: string[] = [];
  if (!isCounts(side.masked)) problems.push(`${where}.masked must map names to counts`);
  if (side.headers !== undefined && !isCounts(side.headers)) problems.push(`${where}.headers must map names to counts`);
  if (typeof side.delivered !== 'boolean') problems.push(`${where}.delivered must be a boolean`);
  if (typeof side.recordedTruncated !== 'boolean') problems.push(`${where}.recordedTruncated must be a boolean`);
  return problems;
}

/** Copies with only the known fields (a checked record); `truncated` says which bodies the store itself cut. */
export function copyCredential(c: RecordedCredential, text: (s: string) => string): RecordedCredential {
  const ref = (r: SecretRef): SecretRef => ({ name: text(r.name), version: text(r.version) });
  return {
    target: text(c.target),
    kind: c.kind,
    ...(c.secret ? { secret: ref(c.secret) } : {}),
    ...(c.oauth2
      ? { oauth2: { clientId: text(c.oauth2.clientId), clientSecret: ref(c.oauth2.clientSecret), ...(c.oauth2.expiresAt === undefined ? {} : { expiresAt: c.oauth2.expiresAt }), ...(c.oauth2.jti === undefined ? {} : { jti: text(c.oauth2.jti) }) } }
      : {}),
  };
}

export function copyMasking(m: MaskingSummary, cut: { request: boolean; response: boolean }, text: (s: string) => string): MaskingSummary {
  const counts = (report: Readonly<Record<string, number>>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [name, count] of Object.entries(report)) {
      Object.defineProperty(out, text(name), { value: count, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const side = (d: DirectionMasking, wasCut: boolean): DirectionMasking => ({
    masked: counts(d.masked),
    delivered: d.delivered,
    recordedTruncated: d.recordedTruncated || wasCut,
    ...(d.headers === undefined ? {} : { headers: counts(d.headers) }),
  });
  return { profile: m.profile === null ? null : text(m.profile), request: side(m.request, cut.request), response: side(m.response, cut.response) };
}

function isCounts(value: unknown): boolean {
  return isObject(value) && Object.values(value).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
