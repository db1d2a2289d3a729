import type { SessionReader } from '../ext-proc/sessions-api/readers.ts';

/**
 * sluice.yaml `console:`, the operator console on ext-authz's admin port. Off by default: it is
 * only useful once an issuer that people sign in with is named, and who may see what is written
 * down. The schema fragment lives here, beside the code that reads it, and common/config/schema.ts
 * assembles it with the rest.
 */
export interface ConsoleSettings {
  enabled: boolean;
  /** The configured issuer (its `name`) that people sign in with; `dev` is the dev issuer under `npm start`. */
  issuer: string;
  /** The console's OAuth client id; ID tokens carry it as `aud`, so the issuer must accept it as an audience. */
  clientId: string;
  /** Where browsers reach the admin port, e.g. https://sluice.example.com; the redirect URI is built from it, never from the Host header. */
  publicUrl: string;
  /** How long a console sign-in lasts (never past the ID token's own expiry). */
  sessionTtl: string;
  /** Who may read recorded sessions (like a policy's subjects: issuer, users, groups). */
  auditors: SessionReader[];
  /** Who may use the explain form. */
  policyAuthors: SessionReader[];
  /** ext-proc's admin server, whose sessions and metrics the console reads; default: extProc.host:extProc.adminPort. */
  extProcAdminUrl: string;
}

const READERS = {
  type: 'array',
  items: {
    type: 'object', additionalProperties: false,
    properties: { issuer: { type: 'string', minLength: 1 }, users: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }, groups: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } },
  },
  default: [],
} as const;

export const CONSOLE_SCHEMA = {
  type: 'object', additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: false },
    issuer: { type: 'string', default: '' },
    clientId: { type: 'string', minLength: 1, default: 'sluice' },
    publicUrl: { type: 'string', pattern: '^(https?://[^/?#]+)?$', hint: 'must be an origin such as https://sluice.example.com (no path)', default: '' },
    sessionTtl: { type: 'string', pattern: '^[0-9]+s$', hint: 'must be whole seconds, e.g. "900s"', default: '900s' },
    auditors: READERS,
    policyAuthors: READERS,
    extProcAdminUrl: { type: 'string', pattern: '^(https?://[^/?#]+)?$', default: '' },
  },
  default: {},
} as const;
