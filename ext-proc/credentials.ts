import type { CredentialEntry } from '../common/config.ts';
import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { ClientCredentialsMinter } from './oauth2/client-credentials.ts';
import type { SecretStore } from './secrets/types.ts';
import type { SecretVersions } from './secrets/secret-versions.ts';
import type { RecordedCredential } from './sessions/types.ts';
import type { ExtProcMetrics } from './metrics.ts';

/**
 * Where a target's credential value comes from: a named secret read on every request (so a
 * rotation is used at once), or a short-lived token minted with OAuth2 client credentials and
 * cached by its minter until shortly before it expires.
 */
export type CredentialSource =
  | { kind: 'secret'; name: string }
  | { kind: 'oauth2'; clientSecret: string; minter: ClientCredentialsMinter; spec: string };

/**
 * How the real credential reaches the target, apart from where its value comes from. HTTP targets
 * take it in a header, inside a template (`Bearer {secret}`); a database target will add its own
 * kind (`postgres-password`), which only that protocol's processor presents.
 */
export type CredentialPresentation = { kind: 'http-header'; header: string; prefix: string; suffix: string };

/** A target's credential: where its value comes from, and how it is presented upstream. */
export interface CredentialPlan {
  source: CredentialSource;
  presentation: CredentialPresentation;
  /** PostgreSQL targets: the db user the gateway logs in as (absent: the user the client asked for). */
  postgresUser?: string;
}

/** A credential with its value, resolved once for one exchange. */
export interface ResolvedCredential {
  readonly presentation: CredentialPresentation;
  readonly secret: string;
  /** What the session record says about it (names and versions, never a value). */
  readonly recorded: RecordedCredential;
}

/**
 * Compiles the `extProc.credentials` list once. The config loader has already checked it (each
 * target declared, at most one entry per target, exactly one of secret and oauth2).
 */
export function compileCredentials(
  entries: readonly CredentialEntry[],
  secrets: SecretStore,
  previous?: ReadonlyMap<string, CredentialPlan>,
  metrics?: Pick<ExtProcMetrics, 'oauth2Mints'>,
): ReadonlyMap<string, CredentialPlan> {
  const plans = new Map<string, CredentialPlan>();
  for (const entry of entries) {
    // On a config reload, an unchanged OAuth2 grant keeps its minter (and the token it holds).
    const kept = previous?.get(entry.target)?.source;
    const reuse = kept?.kind === 'oauth2' && kept.spec === JSON.stringify(entry.oauth2) ? kept : undefined;
    const at = entry.template.indexOf('{secret}');
    plans.set(entry.target, {
      source: reuse ?? sourceOf(entry, secrets, metrics),
      presentation: {
        kind: 'http-header',
        header: entry.header.toLowerCase(),
        prefix: entry.template.slice(0, at),
        suffix: entry.template.slice(at + '{secret}'.length),
      },
      ...(entry.postgres?.user !== undefined ? { postgresUser: entry.postgres.user } : {}),
    });
  }
  return plans;
}

function sourceOf(entry: CredentialEntry, secrets: SecretStore, metrics: Pick<ExtProcMetrics, 'oauth2Mints'> | undefined): CredentialSource {
  if (!entry.oauth2) return { kind: 'secret', name: entry.secret! };
  const spec = entry.oauth2;
  const mints = metrics?.oauth2Mints;
  return {
    kind: 'oauth2',
    spec: JSON.stringify(spec),
    clientSecret: spec.clientSecret,
    minter: new ClientCredentialsMinter({
      tokenUrl: spec.tokenUrl,
      clientId: spec.clientId,
      clientSecret: () => secrets.get(spec.clientSecret),
      scopes: spec.scopes,
      ...(spec.audience !== undefined ? { audience: spec.audience } : {}),
      auth: spec.auth,
      timeoutMs: spec.timeoutMs,
      refreshSkewMs: spec.refreshSkewMs,
    }, mints ? { onMint: (outcome) => mints.cell(entry.target, outcome).inc() } : {}),
  };
}

/**
 * The value to inject for one exchange, or undefined when there is none: the reason is logged
 * with `context` (never the secret), and the caller refuses the exchange.
 */
export async function resolveCredential(source: CredentialSource, secrets: SecretStore, logger: Logger, context: Record<string, unknown>): Promise<string | undefined> {
  if (source.kind === 'secret') {
    const value = secrets.get(source.name);
    if (value === undefined) logger.error({ ...context, secret_name: source.name }, 'credential for target is not in any secret store; refusing');
    return value;
  }
  try {
    return await source.minter.token();
  } catch (err) {
    logger.error({ ...context, err: describeError(err) }, 'could not mint the upstream OAuth2 token; refusing');
    return undefined;
  }
}

/**
 * What a session record names about the credential `value` that `source` resolved to. A secret's
 * version is made from the value injected, so it is exactly the one used even if the file was
 * rewritten meanwhile. For OAuth2 the client secret's version is the one the store holds when the
 * exchange is planned: the token in use may have been minted under the previous value for up to
 * one token lifetime after a rotation (the minter does not keep which value it minted with).
 */
export function recordedCredential(target: string, source: CredentialSource, value: string, versions: SecretVersions): RecordedCredential {
  if (source.kind === 'secret') return { target, kind: 'secret', secret: { name: source.name, version: versions.of(value) } };
  const facts = source.minter.facts(value);
  return {
    target,
    kind: 'oauth2',
    oauth2: {
      clientId: source.minter.clientId,
      clientSecret: { name: source.clientSecret, version: versions.version(source.clientSecret) ?? 'unknown' },
      ...(facts?.expiresAt === undefined ? {} : { expiresAt: facts.expiresAt }),
      ...(facts?.jti === undefined ? {} : { jti: facts.jti }),
    },
  };
}
