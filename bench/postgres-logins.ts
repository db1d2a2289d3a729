/**
 * What does a per-session role cost a PostgreSQL login? node-pg logins (connect, SELECT 1, end),
 * one after another, against one throwaway scram-sha-256 server, three ways, alternated in rounds:
 *   direct        node-pg → PostgreSQL, as the app role (the floor)
 *   static        through Sluice (real Envoy, ext-authz, ext-proc), the target's stored credential
 *   session-role  through Sluice, a role minted per session (postgres.sessionRoles): a grant check
 *                 and CREATE ROLE before the upstream login, DROP OWNED + DROP ROLE after it
 * Prints median and p95 per login and the ratio session-role / static. Roles of one login are
 * dropped in the background while the next begins, as with a real client.
 *   npm run bench:postgres-logins     (BENCH_LOGINS=50 per way, BENCH_ROUNDS=5)
 */
import pg from 'pg';
import { freePort } from '../common/free-port.ts';
import { Gateway } from '../test/harness/gateway.ts';
import { startPostgresServer } from '../test/harness/postgres-server.ts';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ADMIN_PASSWORD = 'bench-admin-password';

const POLICY = `
policies:
  - name: bench-static
    targets: [pgstatic]
    subjects: [{ issuer: dev, groups: [engineering] }]
    database: { users: [bench], databases: [app] }
    rules: [{ name: reads, effect: allow, statements: [read] }]
  - name: bench-roles
    targets: [pgroles]
    subjects: [{ issuer: dev, groups: [engineering] }]
    database: { users: [bench], databases: [app], grant: [readonly] }
    rules: [{ name: reads, effect: allow, statements: [read] }]
`;

async function login(port: number, user: string, password: string): Promise<number> {
  const started = process.hrtime.bigint();
  const client = new pg.Client({ host: '127.0.0.1', port, user, database: 'app', password });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

async function main(): Promise<void> {
  const db = await startPostgresServer({ auth: 'scram-sha-256', user: 'bench' });
  await db.sql(`CREATE ROLE readonly NOLOGIN; GRANT USAGE ON SCHEMA public TO readonly;
    CREATE ROLE sluice_admin LOGIN CREATEROLE PASSWORD '${ADMIN_PASSWORD}'; GRANT readonly TO sluice_admin WITH ADMIN OPTION;`);
  const [staticPort, rolesPort] = [await freePort(), await freePort()];
  const gw = await Gateway.start({
    extraPolicies: { 'bench.yaml': POLICY },
    targets: [
      { name: 'pgstatic', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port: staticPort } },
      { name: 'pgroles', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port: rolesPort, sessionRoles: { admin: { user: 'sluice_admin', secret: 'pg-admin', database: 'app' }, grantable: ['readonly'] } } },
    ],
    credentials: [{ target: 'pgstatic', secret: 'pg-password' }],
    secrets: { 'pg-password': db.password, 'pg-admin': ADMIN_PASSWORD },
  });
  try {
    const token = await gw.issuer.mint({ sub: 'bench', groups: ['engineering'], ttlSeconds: 3600 });
    const ways = {
      direct: () => login(db.port, db.user, db.password),
      static: () => login(staticPort, 'bench', token),
      'session-role': () => login(rolesPort, 'bench', token),
    };
    const times: Record<keyof typeof ways, number[]> = { direct: [], static: [], 'session-role': [] };
    // Warm-up: JWKS fetch, admin connection, SCRAM caches, JIT.
    for (const way of Object.values(ways)) for (let i = 0; i < 3; i++) await way();
    const perRound = Math.ceil(LOGINS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, way] of Object.entries(ways) as [keyof typeof ways, () => Promise<number>][]) {
        for (let i = 0; i < perRound && times[name].length < LOGINS; i++) times[name].push(await way());
      }
    }
    const leftover = (await db.sql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'sluice!_s!_%' ESCAPE '!'`)).trim();
    console.log(`${LOGINS} sequential node-pg logins per way (connect + SELECT 1 + end), ${ROUNDS} alternating rounds, PostgreSQL ${(await db.sql('SHOW server_version')).trim()}`);
    console.log('way            median ms   p95 ms    mean ms');
    for (const [name, values] of Object.entries(times)) {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      console.log(`${name.padEnd(14)} ${quantile(values, 0.5).toFixed(2).padStart(9)} ${quantile(values, 0.95).toFixed(2).padStart(8)} ${mean.toFixed(2).padStart(10)}`);
    }
    const ratio = quantile(times['session-role'], 0.5) / quantile(times.static, 0.5);
    console.log(`session-role / static (median): ×${ratio.toFixed(2)}, +${(quantile(times['session-role'], 0.5) - quantile(times.static, 0.5)).toFixed(2)} ms per login`);
    console.log(`minted roles left after the run (drops still in flight): ${leftover}`);
  } finally {
    await gw.stop();
    await db.stop();
  }
}

await main();
