import type { TargetConfig } from '../../../common/config.ts';
import type { Logger } from '../../../common/logger.ts';
import { durationSeconds } from '../../../envoy/generate/envoy-values.ts';
import type { SecretStore } from '../../secrets/types.ts';
import { PgAdminConnections, type AdminSql, type AdminEndpoint } from './admin-sql.ts';
import { SessionRoles } from './session-roles.ts';

export interface SessionRoleRegistryDeps {
  secrets: SecretStore;
  /** This ext-proc replica's id (SLUICE_REPLICA_ID, else the host name). */
  replica: string;
  logger: Logger;
  /** Tests swap the admin connection. */
  admin?: (endpoint: AdminEndpoint) => AdminSql;
}

/**
 * The SessionRoles of every target that mints roles, following config reloads: a target whose
 * settings change gets a new instance (and a sweep); the old one stops sweeping but keeps taking
 * the releases of sessions that began under it, until ext-proc stops.
 */
export class SessionRoleRegistry {
  private readonly current = new Map<string, { spec: string; roles: SessionRoles }>();
  private readonly retired: SessionRoles[] = [];

  constructor(private readonly deps: SessionRoleRegistryDeps) {}

  /** Brings the instances in line with `targets`; resolves when the new ones' first sweeps are done. */
  apply(targets: readonly TargetConfig[]): Promise<void> {
    const sweeps: Promise<void>[] = [];
    const seen = new Set<string>();
    for (const target of targets) {
      const config = target.postgres?.sessionRoles;
      if (target.protocol !== 'postgres' || !config) continue;
      seen.add(target.name);
      const endpoint = target.endpoints[0]!;
      const spec = JSON.stringify({ endpoint, tls: target.tls, config, grace: target.postgres!.expiryGrace });
      if (this.current.get(target.name)?.spec === spec) continue;
      this.retire(target.name);
      const timeoutMs = Math.round(durationSeconds(config.adminTimeout, 'postgres.sessionRoles.adminTimeout') * 1000);
      const roles = new SessionRoles({
        target: target.name,
        config,
        expiryGraceMs: Math.round(durationSeconds(target.postgres!.expiryGrace, 'postgres.expiryGrace') * 1000),
        replica: this.deps.replica,
        logger: this.deps.logger,
        // The wait runs inside one admin statement: half its timeout leaves room for the rest.
        terminateWaitMs: Math.floor(timeoutMs / 2),
        admin: (this.deps.admin ?? ((e) => new PgAdminConnections(e)))({
          host: endpoint.host, port: endpoint.port, user: config.admin.user, tls: target.tls,
          password: () => this.deps.secrets.get(config.admin.secret),
          timeoutMs,
          allowCleartext: target.postgres!.allowCleartextUpstream,
        }),
      });
      this.current.set(target.name, { spec, roles });
      sweeps.push(roles.startSweeping());
    }
    for (const name of [...this.current.keys()]) if (!seen.has(name)) this.retire(name);
    return Promise.all(sweeps).then(() => undefined);
  }

  /** The target's session roles, or undefined when it does not mint them. */
  for(target: string): SessionRoles | undefined {
    return this.current.get(target)?.roles;
  }

  /** Releases every live role (ext-proc is stopping) and closes the admin connections. */
  async close(): Promise<void> {
    const all = [...[...this.current.values()].map((c) => c.roles), ...this.retired];
    this.current.clear();
    this.retired.length = 0;
    await Promise.all(all.map((roles) => roles.close()));
  }

  private retire(name: string): void {
    const old = this.current.get(name);
    if (!old) return;
    old.roles.retire();
    this.retired.push(old.roles);
    this.current.delete(name);
  }
}
