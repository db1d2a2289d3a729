import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SessionRolesConfig } from '../../../common/config.ts';
import { describeError, isSluiceError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { AdminSql } from './admin-sql.ts';
import { SessionRoleError } from './errors.ts';
import {
  FORBIDDEN_PREDEFINED, GRANT_REACH_SQL, LIST_MINTED_SQL, TERMINATE_SQL, createRoleSql, decodeMarker, likePrefix, releaseRoleSql,
  type OwnedObjects,
} from './role-sql.ts';
import { mintPassword, scramVerifier } from './scram-verifier.ts';

/** Expired leftovers (of any replica) are swept this often while the gateway runs. */
const SWEEP_EVERY_MS = 5 * 60_000;

export interface MintRequest {
  sessionId: string;
  database: string;
  /** The verdict's granted roles (undefined: the policy gave none). */
  granted: readonly string[] | undefined;
  /** The token's exp, epoch ms. */
  expiresAt: number | undefined;
}

/** A minted role: its name goes into the record; its password only into the upstream login. */
export interface MintedRole {
  readonly name: string;
  readonly password: string;
  readonly granted: readonly string[];
  readonly validUntil: number;
  readonly database: string;
}

/** What a PostgreSQL session asks of its target's session roles. */
export interface SessionRoleMinter {
  mint(request: MintRequest): Promise<MintedRole>;
  /** Ends the role (drop or disable, per config) in the background; never throws. */
  release(role: MintedRole, reason: string): void;
}

export interface SessionRolesOptions {
  target: string;
  config: SessionRolesConfig;
  /** The target's postgres.expiryGrace: the session lives this long past exp, so does the role's login. */
  expiryGraceMs: number;
  /** This ext-proc replica's id, written on every role it mints. */
  replica: string;
  admin: AdminSql;
  logger: Logger;
  /** How long the admin waits for a terminated backend to be gone before the drop (ms); under the admin statement timeout. */
  terminateWaitMs?: number;
  now?: () => number;
  /** 16 hex characters per role (tests pin it). */
  newId?: () => string;
}

/**
 * Per-session roles of one target. Phases of a role: mint (the grant checked against the
 * target's allow-list and, on the server, against what the granted roles reach; then one
 * CREATE ROLE … COMMENT transaction) → the session logs in as it → release at the session's end
 * (terminate its backends, then drop it with what it owns, or disable it). The sweep ends
 * leftovers: on start every one this replica minted (none of its sessions survived its restart),
 * and any replica's once its VALID UNTIL has passed. Everything fails closed: a mint that cannot
 * complete refuses the login; a release that fails is retried by the sweep once the role expired.
 */
export class SessionRoles implements SessionRoleMinter {
  private readonly live = new Map<string, MintedRole>();
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly owned: OwnedObjects;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: SessionRolesOptions) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => randomBytes(8).toString('hex'));
    const { config } = options;
    this.owned = config.ownedObjects === 'reassign' ? { kind: 'reassign', to: config.reassignTo! } : { kind: 'drop' };
  }

  /** Roles minted and not yet released. */
  get liveCount(): number {
    return this.live.size;
  }

  async mint(request: MintRequest): Promise<MintedRole> {
    const { config, target } = this.options;
    if (this.closing) throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'the gateway is shutting down');
    const granted = [...new Set(request.granted ?? [])];
    if (granted.length === 0) throw new SessionRoleError('ERR_PG_ROLE_NOT_GRANTABLE', `the policy grants no roles on target "${target}" (database.grant)`);
    const outside = granted.filter((role) => !config.grantable.includes(role));
    if (outside.length > 0) throw new SessionRoleError('ERR_PG_ROLE_NOT_GRANTABLE', `the verdict grants roles target "${target}" does not allow: ${outside.join(', ')}`, { details: { roles: outside } });
    if (request.expiresAt === undefined) throw new SessionRoleError('ERR_PG_ROLE_MINT_FAILED', 'the login verdict has no token expiry to bound the role with');
    await this.checkReach(request.database, granted);

    const name = `${config.namePrefix}${this.newId()}`;
    const password = mintPassword();
    const validUntil = request.expiresAt + this.options.expiryGraceMs;
    const sql = createRoleSql({
      name, verifier: await scramVerifier(password), validUntil, granted, admin: config.admin.user,
      marker: { replica: this.options.replica, session: request.sessionId, target, database: request.database, validUntil },
    });
    try {
      await this.options.admin.query(request.database, sql);
    } catch (err) {
      throw this.asMintError(err, `could not create role "${name}"`);
    }
    const role: MintedRole = Object.freeze({ name, password, granted: Object.freeze(granted), validUntil, database: request.database });
    this.live.set(name, role);
    if (this.closing) {
      // Shutdown began while this was being created: it must not outlive the process.
      this.release(role, 'the gateway is shutting down');
      throw new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'the gateway is shutting down');
    }
    return role;
  }

  release(role: MintedRole, reason: string): void {
    if (!this.live.delete(role.name)) return;
    this.track(this.end(role.name, role.database, reason));
  }

  /**
   * Ends leftovers of this target: `own` (at start) every role this replica minted, else only
   * expired ones of any replica. Roles of this process's live sessions are never touched.
   */
  async sweep(scope: { own: boolean }): Promise<{ released: number; kept: number }> {
    const { config, target } = this.options;
    let rows: Record<string, unknown>[];
    try {
      rows = await this.options.admin.query(config.admin.database, LIST_MINTED_SQL, [likePrefix(config.namePrefix)]);
    } catch (err) {
      throw new SessionRoleError('ERR_PG_ROLE_SWEEP_FAILED', `could not list leftover session roles of target "${target}": ${describeError(err).message}`, { cause: err });
    }
    let released = 0;
    let kept = 0;
    for (const row of rows) {
      const name = String(row.rolname);
      const marker = decodeMarker(typeof row.comment === 'string' ? row.comment : null);
      // Not one the gateway minted for this target (a hand-made role with the prefix, another target's).
      if (marker === null || marker.target !== target || this.live.has(name)) continue;
      const disabledAlready = config.onEnd === 'disable' && row.rolcanlogin === false;
      const due = (scope.own && marker.replica === this.options.replica) || marker.validUntil <= this.now();
      if (!due || disabledAlready) {
        kept++;
        continue;
      }
      if (await this.end(name, marker.database, marker.replica === this.options.replica ? 'left over by this replica' : 'expired, left over')) released++;
    }
    return { released, kept };
  }

  /** Sweeps now (own leftovers too), then expired ones every few minutes. Errors are logged. */
  startSweeping(): Promise<void> {
    const run = (own: boolean) => this.sweep({ own }).then(
      (result) => { if (result.released > 0) this.options.logger.info({ target: this.options.target, ...result }, 'swept leftover session roles'); },
      (err) => this.options.logger.error({ err: describeError(err), target: this.options.target }, 'could not sweep leftover session roles'),
    );
    this.sweepTimer = setInterval(() => this.track(run(false)), SWEEP_EVERY_MS).unref();
    const first = run(true);
    this.track(first);
    return first;
  }

  /** A config reload replaced this target's settings: no more sweeps; live sessions still release their roles here. */
  retire(): void {
    clearInterval(this.sweepTimer);
  }

  /** Releases every live role and waits for all releases and sweeps under way; then closes the admin connections. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    for (const role of [...this.live.values()]) this.release(role, 'the gateway is shutting down');
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.options.admin.close();
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.then(() => undefined, () => undefined);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** The server's view of the grant: every granted role exists, and none reaches superuser-like powers. */
  private async checkReach(database: string, granted: string[]): Promise<void> {
    let rows: Record<string, unknown>[];
    try {
      rows = await this.options.admin.query(database, GRANT_REACH_SQL, [granted]);
    } catch (err) {
      throw this.asMintError(err, 'could not check the granted roles');
    }
    const existing = new Set(rows.filter((r) => r.granted === true).map((r) => String(r.rolname)));
    const missing = granted.filter((role) => !existing.has(role));
    if (missing.length > 0) throw new SessionRoleError('ERR_PG_ROLE_MINT_FAILED', `granted roles do not exist on the server: ${missing.join(', ')}`, { details: { roles: missing } });
    const powerful = rows.filter((r) => r.powerful === true || FORBIDDEN_PREDEFINED.has(String(r.rolname))).map((r) => String(r.rolname));
    if (powerful.length > 0) {
      throw new SessionRoleError('ERR_PG_ROLE_NOT_GRANTABLE', `the granted roles are or reach roles with powers a session must not have (superuser, createrole, replication, bypassrls, server files or signals): ${powerful.join(', ')}`, { details: { roles: powerful } });
    }
  }

  /** Terminates the role's backends and drops (or disables) it in `database`. True when done. */
  private async end(name: string, database: string, reason: string): Promise<boolean> {
    const { admin, config, logger, target } = this.options;
    try {
      await admin.query(database, TERMINATE_SQL, [name, this.options.terminateWaitMs ?? 5000]);
      await admin.query(database, releaseRoleSql(name, config.onEnd, this.owned));
      logger.info({ target, role: name, database, action: config.onEnd, reason }, config.onEnd === 'drop' ? 'session role dropped' : 'session role disabled');
      return true;
    } catch (err) {
      // Objects in another database, or the server gone: the role cannot log in after VALID UNTIL,
      // and the sweep ends it once expired. Take its login away now if the server still listens.
      if (config.onEnd === 'drop') await admin.query(database, releaseRoleSql(name, 'disable', this.owned)).catch(() => undefined);
      const sqlstate = err instanceof pg.DatabaseError ? err.code : undefined;
      logger.error({ err: describeError(err), code: 'ERR_PG_ROLE_RELEASE_FAILED', target, role: name, database, sqlstate, reason }, 'could not end a session role; the sweep retries once it has expired');
      return false;
    }
  }

  private asMintError(err: unknown, what: string): SessionRoleError {
    if (isSluiceError(err) && err instanceof SessionRoleError) return err;
    const sqlstate = err instanceof pg.DatabaseError ? err.code : undefined;
    return new SessionRoleError('ERR_PG_ROLE_MINT_FAILED', `${what}: ${sqlstate ?? ''} ${describeError(err).message}`.trim(), { cause: err, details: { sqlstate } });
  }
}
