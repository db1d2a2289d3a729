import type { DocumentProblem } from './schema-problems.ts';
import type { CredentialEntry, TargetConfig } from './types.ts';

interface CheckInput {
  targets: readonly TargetConfig[];
  issuers: readonly { name: string }[];
  credentials: readonly CredentialEntry[];
  masking: { profiles: readonly unknown[]; targets: Readonly<Record<string, string>> };
  sessions: { store: string; databaseUrl: string };
}

/**
 * What the schema cannot say about one schema-valid config: names unique, every reference to a
 * target or profile resolving, no two targets claiming the same host and path prefix, exactly one
 * credential source per entry. Each problem points at the line to fix.
 */
export function crossCheck(config: CheckInput): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const report = (path: string, message: string, atKey = false) => problems.push({ path, atKey, message });

  const targets = new Map<string, number>();
  const routes = new Map<string, string>();
  const ports = new Map<number, string>();
  config.targets.forEach((target, t) => {
    const first = targets.get(target.name);
    if (first !== undefined) report(`/targets/${t}/name`, `duplicate target "${target.name}" (first declared as targets[${first}])`);
    else targets.set(target.name, t);
    if (target.protocol === 'postgres') {
      if (target.postgres === null) {
        report(`/targets/${t}`, 'a postgres target needs "postgres: { port: <listen port> }" (where clients connect)');
      } else {
        const owner = ports.get(target.postgres.port);
        if (owner !== undefined) report(`/targets/${t}/postgres/port`, `port ${target.postgres.port} is already the listener of target "${owner}"`);
        else ports.set(target.postgres.port, target.name);
        if (target.postgres.sessionRoles) checkSessionRoles(target.postgres.sessionRoles, `/targets/${t}/postgres/sessionRoles`, report);
      }
      return;
    }
    if (target.protocol === 'redis') {
      if (target.redis === null) {
        report(`/targets/${t}`, 'a redis target needs "redis: { port: <listen port> }" (where clients connect)');
      } else {
        const owner = ports.get(target.redis.port);
        if (owner !== undefined) report(`/targets/${t}/redis/port`, `port ${target.redis.port} is already the listener of target "${owner}"`);
        else ports.set(target.redis.port, target.name);
      }
      return;
    }
    for (const host of target.http.hosts.length > 0 ? target.http.hosts : ['*']) {
      const key = `${host.toLowerCase()} ${target.http.pathPrefix}`;
      const owner = routes.get(key);
      if (owner !== undefined && owner !== target.name) {
        report(`/targets/${t}/http`, `host "${host}" and path prefix "${target.http.pathPrefix}" are already routed to target "${owner}"`);
      } else routes.set(key, target.name);
    }
    if (target.tls && (target.tls.certFile === undefined) !== (target.tls.keyFile === undefined)) {
      report(`/targets/${t}/tls`, 'a client certificate needs both certFile and keyFile');
    }
  });
  const unknownTarget = (name: string) => `unknown target "${name}" (targets: ${[...targets.keys()].sort().join(', ') || 'none declared'})`;

  const issuers = new Set<string>();
  config.issuers.forEach((issuer, i) => {
    if (issuers.has(issuer.name)) report(`/issuers/${i}/name`, `duplicate issuer name "${issuer.name}"`);
    issuers.add(issuer.name);
  });

  const withCredential = new Set<string>();
  config.credentials.forEach((entry, c) => {
    const at = `/extProc/credentials/${c}`;
    if (!targets.has(entry.target)) report(`${at}/target`, unknownTarget(entry.target));
    else if (withCredential.has(entry.target)) report(`${at}/target`, `target "${entry.target}" already has a credential`);
    withCredential.add(entry.target);
    const target = config.targets[targets.get(entry.target) ?? -1];
    if (target?.protocol === 'postgres' && entry.oauth2 !== undefined) {
      report(`${at}/oauth2`, 'a postgres target logs in with a password: give "secret" (and optionally "postgres.user"), not "oauth2"');
    } else if (target?.protocol !== 'postgres' && entry.postgres !== undefined) {
      report(`${at}/postgres`, `"postgres" applies to postgres targets only; "${entry.target}" is ${target?.protocol ?? 'unknown'}`);
    }
    if (target?.postgres?.sessionRoles !== undefined) {
      report(`${at}/target`, `target "${entry.target}" mints a role per session (postgres.sessionRoles): its admin credential is the only one; remove this entry`);
    }
    if (target?.protocol === 'redis' && entry.oauth2 !== undefined) {
      report(`${at}/oauth2`, 'Envoy logs in to a redis target with a password: give "secret" (and optionally "redis.user"), not "oauth2"');
    } else if (target?.protocol !== 'redis' && entry.redis !== undefined) {
      report(`${at}/redis`, `"redis" applies to redis targets only; "${entry.target}" is ${target?.protocol ?? 'unknown'}`);
    }
    if ((entry.secret === undefined) === (entry.oauth2 === undefined)) {
      report(at, 'give exactly one of "secret" (a stored secret) and "oauth2" (a minted token)');
    }
  });

  const profiles = new Set<string>();
  config.masking.profiles.forEach((profile, p) => {
    const name = (profile as { name: string }).name;
    if (profiles.has(name)) report(`/extProc/masking/profiles/${p}/name`, `masking profile "${name}" is defined twice`);
    profiles.add(name);
  });
  for (const [target, profile] of Object.entries(config.masking.targets)) {
    const at = `/extProc/masking/targets/${target.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!targets.has(target)) report(at, unknownTarget(target), true);
    if (!profiles.has(profile)) report(at, `no masking profile named "${profile}" (profiles: ${[...profiles].sort().join(', ') || 'none'})`);
  }

  if (config.sessions.store === 'postgres' && config.sessions.databaseUrl === '') {
    report('/extProc/sessions', 'store: postgres needs databaseUrl');
  }
  return problems;
}

/**
 * A per-session roles block: a grantable role may not be a predefined one (pg_*: server files,
 * signals) or the admin itself, and the name prefix must not catch any role the operator named
 * (the sweep drops roles with the prefix). Whether a grantable role is a superuser or can create
 * roles is only known to the server: ext-proc checks that at every mint.
 */
function checkSessionRoles(roles: NonNullable<NonNullable<TargetConfig['postgres']>['sessionRoles']>, at: string, report: (path: string, message: string, atKey?: boolean) => void): void {
  roles.grantable.forEach((role, r) => {
    if (role.startsWith('pg_')) report(`${at}/grantable/${r}`, `"${role}" is a predefined PostgreSQL role; grant only roles you created for this purpose`);
    else if (role === roles.admin.user) report(`${at}/grantable/${r}`, `"${role}" is the admin role itself; a session must never hold its powers`);
  });
  const named = [roles.admin.user, ...roles.grantable, ...(roles.reassignTo ? [roles.reassignTo] : [])];
  const caught = named.find((name) => name.startsWith(roles.namePrefix));
  if (caught !== undefined) report(`${at}/namePrefix`, `namePrefix "${roles.namePrefix}" also matches role "${caught}"; pick a prefix only minted roles have`);
  if (roles.ownedObjects === 'reassign' && roles.reassignTo === undefined) report(`${at}/ownedObjects`, 'ownedObjects: reassign needs reassignTo (the role that keeps what sessions created)');
  if (roles.ownedObjects === 'drop' && roles.reassignTo !== undefined) report(`${at}/reassignTo`, 'reassignTo applies to ownedObjects: reassign only');
}
