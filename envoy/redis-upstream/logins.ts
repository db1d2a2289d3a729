import { createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { CredentialEntry, SluiceConfig, TargetConfig } from '../../common/config.ts';
import { SluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { SecretStore } from '../../ext-proc/secrets/types.ts';
import { probeRedisUpstream, type ProbeLogin, type ProbeResult } from './probe.ts';

/** Files Envoy reads a redis target's upstream login from (see target-cluster.ts). */
export interface UpstreamAuthFiles {
  usernameFile?: string;
  passwordFile: string;
}

/** Redis target name → its upstream login files (absent: the target logs in with no password). */
export type UpstreamLogins = ReadonlyMap<string, UpstreamAuthFiles>;

export interface RedisUpstreamLoginsOptions {
  /** Where the files go (mode 0700; files 0600): beside the xDS files, so one mount serves a fleet. */
  dir: string;
  /** `open()`, when present, is awaited before the first lookup (a secrets file opened on demand). */
  secrets: SecretStore & { open?: () => Promise<void> };
  logger: Logger;
  /** Replaces the real probe (tests). */
  probe?: typeof probeRedisUpstream;
}

/**
 * The upstream side of redis targets, before Envoy's config is generated: each target's ACL user
 * and password from the secret stores, written to files only the gateway's user can read (their
 * names carry a keyed digest of the value, so a rotation is a new file and a changed cluster), and
 * a check of what that user may do: a user that can run CONFIG can read the server's password, so
 * such a target is refused unless the operator said `allowPrivilegedUpstream` (development).
 * A probe's result is kept until the target's endpoints, user or password change.
 */
export class RedisUpstreamLogins {
  /** Random per process: digests tell versions apart without being a hash anyone could test guesses against. */
  readonly #key = randomBytes(32);
  readonly #probed = new Map<string, ProbeResult>();

  constructor(private readonly options: RedisUpstreamLoginsOptions) {}

  async prepare(config: SluiceConfig): Promise<UpstreamLogins> {
    const logins = new Map<string, UpstreamAuthFiles>();
    const redisTargets = config.targets.filter((t) => t.protocol === 'redis');
    if (redisTargets.length === 0) return logins;
    if (config.extProc.credentials.some((c) => redisTargets.some((t) => t.name === c.target))) await this.options.secrets.open?.();
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    await chmod(this.options.dir, 0o700);
    for (const target of redisTargets) {
      const entry = config.extProc.credentials.find((c) => c.target === target.name);
      const login = entry ? this.#login(target, entry) : null;
      await this.#check(target, login);
      if (login) logins.set(target.name, await this.#write(target.name, login));
    }
    return logins;
  }

  /** Removes login files no live config names (after a publish). */
  async prune(live: UpstreamLogins): Promise<void> {
    const keep = new Set([...live.values()].flatMap((f) => [f.passwordFile, ...(f.usernameFile ? [f.usernameFile] : [])]).map((f) => path.basename(f)));
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => !keep.has(n)).map((n) => rm(path.join(this.options.dir, n), { force: true })));
  }

  #login(target: TargetConfig, entry: CredentialEntry): ProbeLogin {
    const password = entry.secret === undefined ? undefined : this.options.secrets.get(entry.secret);
    if (password === undefined) {
      throw new SluiceError('ERR_REDIS_NO_CREDENTIAL', `the secret "${entry.secret ?? ''}" of redis target "${target.name}" is not in the secret stores; its listener is not published`, {
        details: { target: target.name, secretName: entry.secret ?? '' },
      });
    }
    return { ...(entry.redis?.user ? { user: entry.redis.user } : {}), password };
  }

  async #check(target: TargetConfig, login: ProbeLogin | null): Promise<void> {
    const key = `${target.name}\0${target.endpoints.map((e) => `${e.host}:${e.port}`).join(',')}\0${login?.user ?? ''}\0${login ? this.#digest(login.password) : ''}`;
    let results = this.#probed.get(key);
    if (results === undefined) {
      // Every endpoint: one privileged server among several would be enough to leak.
      for (const endpoint of target.endpoints) {
        const result = await probeRedisUpstream(endpoint, login).catch((err: unknown) => {
          throw err instanceof SluiceError ? new SluiceError(err.code, `redis target "${target.name}": ${err.message}`, { cause: err, details: { ...err.details, target: target.name } }) : err;
        });
        if (result.canRunConfig) {
          results = result;
          break;
        }
        results = result;
      }
    }
    if (results!.canRunConfig) {
      const user = login?.user ?? 'default';
      if (!target.redis?.allowPrivilegedUpstream) {
        throw new SluiceError('ERR_REDIS_UPSTREAM_PRIVILEGED',
          `redis target "${target.name}": the upstream user "${user}" can run CONFIG (so CONFIG GET requirepass would hand out the server's password); give the gateway an ACL user without @dangerous, select and client (README, "Redis for operators"), or set redis.allowPrivilegedUpstream for development`,
          { details: { target: target.name, user } });
      }
      if (!this.#probed.has(key)) this.options.logger.warn({ target: target.name, user }, 'redis target runs with an upstream user that can run CONFIG (allowPrivilegedUpstream): development only');
    }
    this.#probed.set(key, results!);
  }

  async #write(target: string, login: ProbeLogin): Promise<UpstreamAuthFiles> {
    const files: UpstreamAuthFiles = { passwordFile: await this.#file(`${target}.password`, login.password) };
    if (login.user) files.usernameFile = await this.#file(`${target}.user`, login.user);
    return files;
  }

  async #file(name: string, value: string): Promise<string> {
    const file = path.join(this.options.dir, `${name}.${this.#digest(value)}`);
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, value, { mode: 0o600 });
    await rename(temp, file);
    return file;
  }

  #digest(value: string): string {
    return createHmac('sha256', this.#key).update(value).digest('hex').slice(0, 16);
  }
}
