import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, loadConfig, configPosition } from './config.ts';

function issuesOf(text: string): { line: number; column: number; path: string; message: string }[] {
  try {
    parseConfig(text, 'sluice.yaml');
  } catch (err: any) {
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    return err.issues;
  }
  assert.fail('expected ERR_CONFIG_INVALID');
}

const at = (issues: ReturnType<typeof issuesOf>) => issues.map((i) => `${i.line}:${i.column} ${i.path}`);

test('defaults are applied and the result is frozen', () => {
  const config = parseConfig('extAuthz: { port: 9100 }\n', '/etc/sluice/sluice.yaml');
  assert.equal(config.extAuthz.port, 9100);
  assert.equal(config.extAuthz.policyDir, 'policies');
  assert.equal(config.envoy.listenPort, 10000);
  assert.equal(config.dev.enabled, false, 'the dev issuer is off unless enabled');
  assert.equal(config.baseDir, '/etc/sluice');
  assert.deepEqual(config.targets, []);
  assert.ok(Object.isFrozen(config.extAuthz));
});

test('every schema problem is reported at once, with line and column', () => {
  const issues = issuesOf('extAuthz:\n  port: "nine"\n  bogus: 1\ndev:\n  enabled: maybe\n');
  assert.deepEqual(at(issues), ['2:9 /extAuthz/port', '3:3 /extAuthz/bogus', '5:12 /dev/enabled']);
  assert.match(issues[0]!.message, /must be an integer/);
  assert.match(issues[1]!.message, /unknown field "bogus"/);
});

test('YAML syntax errors and duplicate keys name the line', () => {
  assert.deepEqual(issuesOf('extAuthz: { port: 1\n').length > 0, true);
  assert.deepEqual(issuesOf('dev: {}\ndev: {}\n').map((i) => i.line), [2]);
});

test('targets are normalised: endpoints parsed, defaults from envoy:, TLS names and paths resolved', () => {
  const config = parseConfig(`envoy: { routeIdleTimeout: 60s }
targets:
  - name: orders
    endpoints: ["orders-1.internal:8443", "10.0.0.7:8443"]
    tls: { caFile: ca.pem }
    http: { hosts: [orders.example.com] }
  - name: legacy
    endpoints: ["[::1]:8080"]
    timeouts: { request: 30s }
    http: { pathPrefix: /legacy/ }
`, '/etc/sluice/sluice.yaml');
  const [orders, legacy] = config.targets;
  assert.deepEqual(orders!.endpoints, [{ host: 'orders-1.internal', port: 8443 }, { host: '10.0.0.7', port: 8443 }]);
  assert.deepEqual(orders!.tls, { sni: 'orders-1.internal', caFile: '/etc/sluice/ca.pem', subjectAltNames: ['orders-1.internal'] });
  assert.deepEqual(orders!.http, { hosts: ['orders.example.com'], pathPrefix: '/' });
  assert.deepEqual(orders!.timeouts, { connect: '5s', request: '0s', idle: '60s' });
  assert.equal(orders!.protocol, 'http');
  assert.deepEqual(legacy!.endpoints, [{ host: '::1', port: 8080 }]);
  assert.equal(legacy!.tls, null);
  assert.equal(legacy!.timeouts.request, '30s');
  assert.equal(configPosition(config, '/targets/1/name'), '/etc/sluice/sluice.yaml:7:11');
});

test('cross-checks: every reference to a target or profile resolves, at its line', () => {
  const issues = issuesOf(`targets:
  - { name: a, endpoints: ["127.0.0.1:1"] }
  - { name: a, endpoints: ["127.0.0.1:2"] }
  - { name: b, endpoints: ["127.0.0.1:3"], http: { pathPrefix: / } }
extProc:
  credentials:
    - { target: nope, secret: s }
    - { target: b, secret: s, oauth2: { tokenUrl: "https://x/t", clientId: c, clientSecret: cs } }
    - { target: a }
  masking:
    profiles: [{ name: pii, recognizers: [{ use: email, strategy: redact }] }]
    targets: { ghost: pii, b: piii }
`);
  const text = issues.map((i) => `${i.line} ${i.path} ${i.message}`).join('\n');
  assert.match(text, /^3 \/targets\/1\/name duplicate target "a"/m);
  assert.match(text, /^4 \/targets\/2\/http host "\*" and path prefix "\/" are already routed to target "a"/m);
  assert.match(text, /^7 \/extProc\/credentials\/0\/target unknown target "nope" \(targets: a, b\)/m);
  assert.match(text, /^8 \/extProc\/credentials\/1 give exactly one of "secret"/m);
  assert.match(text, /^9 \/extProc\/credentials\/2 give exactly one of "secret"/m);
  assert.match(text, /^12 \/extProc\/masking\/targets\/ghost unknown target "ghost"/m);
  assert.match(text, /^12 \/extProc\/masking\/targets\/b no masking profile named "piii"/m);
});

test('issuers and masking profiles are validated with the file, at their line', () => {
  const issues = issuesOf(`issuers:
  - name: people
    issuer: https://idp.example.com
    audiences: [sluice]
    algorithms: [RS256, HS256]
extProc:
  masking:
    profiles:
      - name: p
        recognizers: [{ use: credit-card }]
`);
  assert.deepEqual(at(issues), ['5:25 /issuers/0/algorithms/1', '10:30 /extProc/masking/profiles/0/recognizers/0/use']);
  assert.match(issues[0]!.message, /never accepted/);
  assert.match(issues[1]!.message, /must be a built-in recognizer/);
  // What only compiling can tell (RE2 syntax) is reported at its line too, once the shape is right.
  const compiled = issuesOf(`extProc:
  masking:
    profiles:
      - name: p
        patterns: [{ name: bad, pattern: "(unclosed", strategy: redact }]
`);
  assert.deepEqual(at(compiled), ['5:42 /extProc/masking/profiles/0/patterns/0/pattern']);
  assert.match(compiled[0]!.message, /not valid RE2 syntax/);
});

test('keys that moved say where to', () => {
  const issues = issuesOf('envoy:\n  template: envoy/gateway.yaml\n  upstream: { host: api, port: 80 }\n');
  assert.deepEqual(at(issues), ['2:3 /envoy/template', '3:3 /envoy/upstream']);
  assert.match(issues[0]!.message, /generated from targets/);
  assert.match(issues[1]!.message, /declare each upstream as a target/);
});

test('the shipped configs load, and their credentials and masking profiles compile', async () => {
  const { compileCredentials } = await import('../ext-proc/credentials.ts');
  const { compileMaskingPlans } = await import('../ext-proc/masking-plans.ts');
  const secrets = { get: (name: string) => `value-of-${name}-padded-to-sixteen`, close: async () => {} };
  for (const file of ['deploy/sluice.example.yaml', 'deploy/sluice.dev.yaml']) {
    const config = loadConfig(new URL(`../${file}`, import.meta.url).pathname);
    assert.ok(config.targets.length >= 2, file);
    const credentials = compileCredentials(config.extProc.credentials, secrets);
    assert.ok(credentials.size > 0, file);
    const plans = compileMaskingPlans(config.extProc.masking, secrets);
    assert.ok(plans.profiles.size > 0, file);
  }
});

test('postgres.sessionRoles: defaults filled in; a grantable pg_* or admin role, a prefix that catches a named role, a credentials entry beside it are refused', () => {
  const config = parseConfig(`targets:
  - name: db
    protocol: postgres
    endpoints: ["db.internal:5432"]
    postgres:
      port: 15432
      sessionRoles: { admin: { user: sluice_admin, secret: db-admin }, grantable: [readonly] }
`, 'sluice.yaml');
  assert.deepEqual(config.targets[0]!.postgres!.sessionRoles, {
    admin: { user: 'sluice_admin', secret: 'db-admin', database: 'postgres' }, grantable: ['readonly'],
    namePrefix: 'sluice_s_', onEnd: 'drop', ownedObjects: 'drop', adminTimeout: '5s',
  });
  const issues = issuesOf(`targets:
  - name: db
    protocol: postgres
    endpoints: ["db.internal:5432"]
    postgres:
      port: 15432
      sessionRoles:
        admin: { user: app_admin, secret: db-admin }
        grantable: [readonly, pg_read_server_files, app_admin, "Bad Name"]
        namePrefix: app_
        ownedObjects: reassign
extProc:
  credentials:
    - { target: db, secret: db-password }
`);
  const messages = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  assert.match(messages, /grantable\/3/); // the schema: not a role name
  const crossChecked = issuesOf(`targets:
  - name: db
    protocol: postgres
    endpoints: ["db.internal:5432"]
    postgres:
      port: 15432
      sessionRoles:
        admin: { user: app_admin, secret: db-admin }
        grantable: [readonly, pg_read_server_files, app_admin]
        namePrefix: app_
        ownedObjects: reassign
extProc:
  credentials:
    - { target: db, secret: db-password }
`).map((i) => `${i.path}: ${i.message}`).join('\n');
  assert.match(crossChecked, /grantable\/1: "pg_read_server_files" is a predefined PostgreSQL role/);
  assert.match(crossChecked, /grantable\/2: "app_admin" is the admin role itself/);
  assert.match(crossChecked, /namePrefix: namePrefix "app_" also matches role "app_admin"/);
  assert.match(crossChecked, /ownedObjects: ownedObjects: reassign needs reassignTo/);
  assert.match(crossChecked, /credentials\/0\/target: target "db" mints a role per session/);
});

test('redis targets: a listener port each (not shared with postgres), defaults filled in, denied commands upper-cased; credentials name an ACL user', () => {
  const config = parseConfig(`targets:
  - { name: cache, protocol: redis, endpoints: ["127.0.0.1:6379"], redis: { port: 16379, deniedCommands: [eval, EVAL, xadd] } }
extProc:
  credentials:
    - { target: cache, secret: cache-pw, redis: { user: sluice-gw } }
`, 'sluice.yaml');
  const redis = config.targets[0]!.redis!;
  assert.deepEqual(redis, { port: 16379, deniedCommands: ['EVAL', 'XADD'], commands: 'auto', recording: 'commands', opTimeout: '5s', maxRecordedCommands: 1000, allowPrivilegedUpstream: false });
  assert.deepEqual(config.extProc.credentials[0]!.redis, { user: 'sluice-gw' });

  const text = issuesOf(`targets:
  - { name: db, protocol: postgres, endpoints: ["127.0.0.1:5432"], postgres: { port: 16379 } }
  - { name: cache, protocol: redis, endpoints: ["127.0.0.1:6379"], redis: { port: 16379 } }
  - { name: bare, protocol: redis, endpoints: ["127.0.0.1:6379"] }
  - { name: web, endpoints: ["127.0.0.1:80"] }
extProc:
  credentials:
    - { target: cache, oauth2: { tokenUrl: "https://x/t", clientId: c, clientSecret: cs } }
    - { target: web, secret: s, redis: { user: x } }
`).map((i) => `${i.line} ${i.path} ${i.message}`).join('\n');
  assert.match(text, /^3 \/targets\/1\/redis\/port port 16379 is already the listener of target "db"/m);
  assert.match(text, /^4 \/targets\/2 a redis target needs "redis: \{ port/m);
  assert.match(text, /^8 \/extProc\/credentials\/0\/oauth2 Envoy logs in to a redis target with a password/m);
  assert.match(text, /^9 \/extProc\/credentials\/1\/redis "redis" applies to redis targets only/m);
});
