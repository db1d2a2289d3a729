import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../common/free-port.ts';

const execFileAsync = promisify(execFile);

export type PostgresAuth = 'scram-sha-256' | 'md5' | 'password' | 'trust';

export interface PostgresServerOptions {
  /** The pg_hba method for TCP logins from 127.0.0.1. */
  auth: PostgresAuth;
  /** The application role, LOGIN, owner of database `app`. Default sluice_app. */
  user?: string;
  /** Its password. Default: random. */
  password?: string;
  /**
   * Commits survive a crash (fsync and synchronous_commit on), as on a production server. Off by
   * default: a test server starts faster without, but an immediate stop then loses the last commits.
   */
  durable?: boolean;
}

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Runs SQL as the superuser over the unix socket (trusted) in database app; stdout in psql's -A -t form. */
  sql(query: string): Promise<string>;
  /** The server log so far. */
  log(): string;
  /** Stops the server at once (immediate shutdown, as a crash would), keeping its data. */
  down(): Promise<void>;
  /** Starts it again on the same port after down(). */
  up(): Promise<void>;
  /** Kills the server (immediate shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const DATABASE = 'app';
const HOST = '127.0.0.1';
/** The OS user the server runs as when we are root (PostgreSQL refuses to run as root). */
const OS_USER = 'postgres';

/**
 * A throwaway PostgreSQL cluster for one test file: its own directory under /tmp, its own port,
 * the requested auth method on 127.0.0.1 and trust for the superuser on the unix socket.
 * Durability is off (fsync, full-page writes), which is what makes it start in about a second.
 *
 * Phases: find the binaries, make the directory, initdb (once per process, then copied), write
 * the config, start, create the role and database. A start that fails anywhere stops what it
 * started and removes the directory; the error carries the server log.
 */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const user = options.user ?? 'sluice_app';
  const password = options.password ?? randomBytes(18).toString('base64url');
  const bin = postgresBinDir();
  const dir = await mkdtemp('/tmp/sluice-pg-');
  const cluster: Cluster = { bin, dir, data: path.join(dir, 'data'), logFile: path.join(dir, 'server.log'), port: 0 };
  try {
    await ownByServerUser(dir);
    // cp -a keeps the postgres owner and the 0700 mode; fs.cp is three times slower here.
    await execFileAsync('cp', ['-a', await templateCluster(bin), cluster.data]);
    await writeHba(cluster, options.auth);
    await startOnFreePort(cluster, options.auth, options.durable ?? false);
    LIVE.add(cluster);
    await provision(cluster, user, password);
  } catch (err) {
    const log = readLog(cluster);
    await stopCluster(cluster);
    throw new Error(`PostgreSQL test server in ${dir} did not start: ${(err as Error).message}\n--- server log ---\n${log}`, { cause: err });
  }
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port: cluster.port,
    user,
    password,
    database: DATABASE,
    sql: (query) => psql(cluster, query),
    log: () => readLog(cluster),
    down: async () => {
      await runServerTool(cluster, 'pg_ctl', ['stop', '-D', cluster.data, '-m', 'immediate', '-w', '-s']);
    },
    up: async () => {
      await runServerTool(cluster, 'pg_ctl', ['start', '-D', cluster.data, '-l', cluster.logFile, '-w', '-t', '30', '-s']);
    },
    stop: () => (stopped ??= stopCluster(cluster)),
  };
}

interface Cluster {
  bin: string;
  dir: string;
  data: string;
  logFile: string;
  port: number;
}

// ---- binaries ---------------------------------------------------------------------------------

/** SLUICE_PG_BINDIR, else the newest Debian/Ubuntu install under /usr/lib/postgresql/<version>/bin. */
function postgresBinDir(): string {
  const fromEnv = process.env.SLUICE_PG_BINDIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) throw new Error(`no PostgreSQL server binaries: none under ${root}/<version>/bin and SLUICE_PG_BINDIR is not set`);
  return path.join(root, versions[0], 'bin');
}

// ---- running commands -------------------------------------------------------------------------

const isRoot = () => process.getuid?.() === 0;

/** Runs a server binary, as the postgres OS user when we are root. */
async function runServerTool(cluster: Pick<Cluster, 'bin' | 'dir'>, tool: string, args: string[]): Promise<string> {
  const command = path.join(cluster.bin, tool);
  const [file, argv] = isRoot() ? ['runuser', ['-u', OS_USER, '--', command, ...args]] : [command, args];
  // cwd: the postgres user may not be allowed into the caller's directory.
  const { stdout } = await execFileAsync(file, argv, { cwd: cluster.dir, encoding: 'utf8' }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`${tool} failed: ${err.stderr?.trim() || err.message}`);
  });
  return stdout;
}

let serverUserIds: Promise<{ uid: number; gid: number }> | undefined;

async function ownByServerUser(target: string): Promise<void> {
  if (!isRoot()) return;
  serverUserIds ??= Promise.all([execFileAsync('id', ['-u', OS_USER]), execFileAsync('id', ['-g', OS_USER])]).then(([u, g]) => ({
    uid: Number(u.stdout.trim()),
    gid: Number(g.stdout.trim()),
  }));
  const { uid, gid } = await serverUserIds;
  await chown(target, uid, gid);
}

// ---- initdb, once per process -----------------------------------------------------------------

let template: Promise<string> | undefined;

/**
 * initdb is most of a start (about 1.4 s); a process that starts several servers runs it once and
 * copies the result (about 0.4 s; 1 MB WAL segments keep the copy small). Auth and port live in
 * files written per copy.
 */
function templateCluster(bin: string): Promise<string> {
  template ??= (async () => {
    const dir = await mkdtemp('/tmp/sluice-pg-template-');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await ownByServerUser(dir);
    const data = path.join(dir, 'data');
    await runServerTool({ bin, dir }, 'initdb', ['-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions', '--wal-segsize=1']);
    return data;
  })();
  template.catch(() => { template = undefined; });
  return template;
}

// ---- configuration ----------------------------------------------------------------------------

async function writeHba(cluster: Cluster, auth: PostgresAuth): Promise<void> {
  await writeFile(path.join(cluster.data, 'pg_hba.conf'), [
    '# written by test/harness/postgres-server.ts',
    `local all ${SUPERUSER} trust`,
    `host all all ${HOST}/32 ${auth}`,
    '',
  ].join('\n'));
}

/** With md5 in pg_hba, a SCRAM-stored password would make the server use SCRAM anyway. */
function settings(cluster: Cluster, auth: PostgresAuth, durable: boolean): string {
  return [
    '',
    '# test/harness/postgres-server.ts',
    `listen_addresses = '${HOST}'`,
    `port = ${cluster.port}`,
    `unix_socket_directories = '${cluster.dir}'`,
    `password_encryption = '${auth === 'md5' ? 'md5' : 'scram-sha-256'}'`,
    ...(durable ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']),
    'shared_buffers = 16MB',
    'max_connections = 30',
    'log_connections = on',
    '',
  ].join('\n');
}

// ---- start and provision ----------------------------------------------------------------------

/** freePort checks by binding, but another process can still take the port first: then retry. */
async function startOnFreePort(cluster: Cluster, auth: PostgresAuth, durable: boolean): Promise<void> {
  const conf = path.join(cluster.data, 'postgresql.conf');
  const base = readFileSync(conf, 'utf8');
  for (let attempt = 1; ; attempt++) {
    cluster.port = await freePort(HOST);
    await writeFile(conf, base + settings(cluster, auth, durable));
    try {
      await runServerTool(cluster, 'pg_ctl', ['start', '-D', cluster.data, '-l', cluster.logFile, '-w', '-t', '30', '-s']);
      return;
    } catch (err) {
      if (attempt >= 3 || !/could not bind|already in use/i.test(readLog(cluster))) throw err;
      await appendFile(cluster.logFile, `--- port ${cluster.port} was taken, retrying ---\n`);
    }
  }
}

async function provision(cluster: Cluster, user: string, password: string): Promise<void> {
  await psql(cluster, `CREATE ROLE ${identifier(user)} LOGIN PASSWORD ${literal(password)}`, 'postgres');
  await psql(cluster, `CREATE DATABASE ${DATABASE} OWNER ${identifier(user)}`, 'postgres');
}

const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** psql as the superuser over the unix socket; -X skips ~/.psqlrc, ON_ERROR_STOP makes a failed statement fail the call. */
async function psql(cluster: Cluster, query: string, database = DATABASE): Promise<string> {
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', cluster.dir, '-p', String(cluster.port), '-U', SUPERUSER, '-d', database, '-c', query];
  const { stdout } = await execFileAsync(path.join(cluster.bin, 'psql'), args, { encoding: 'utf8', env: { ...process.env, PGCLIENTENCODING: 'UTF8' } }).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`psql failed: ${err.stderr?.trim() || err.message}`);
    },
  );
  return stdout;
}

// ---- log and stop -----------------------------------------------------------------------------

function readLog(cluster: Cluster): string {
  try {
    return readFileSync(cluster.logFile, 'utf8');
  } catch {
    return '';
  }
}

/** Servers still running, stopped synchronously if the process exits without stop(). */
const LIVE = new Set<Cluster>();
process.once('exit', () => {
  for (const cluster of LIVE) {
    try {
      const pgCtl = path.join(cluster.bin, 'pg_ctl');
      const [file, argv] = isRoot() ? ['runuser', ['-u', OS_USER, '--', pgCtl]] : [pgCtl, []];
      execFileSync(file, [...argv, 'stop', '-D', cluster.data, '-m', 'immediate', '-w', '-s'], { stdio: 'ignore', cwd: cluster.dir });
    } catch { /* already gone */ }
    rmSync(cluster.dir, { recursive: true, force: true });
  }
});

async function stopCluster(cluster: Cluster): Promise<void> {
  LIVE.delete(cluster);
  if (existsSync(path.join(cluster.data, 'postmaster.pid'))) {
    await runServerTool(cluster, 'pg_ctl', ['stop', '-D', cluster.data, '-m', 'immediate', '-w', '-s']).catch(() => undefined);
  }
  await rm(cluster.dir, { recursive: true, force: true });
}
