import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { PolicyError } from './errors.ts';
import { PolicyStore, type ReloadResult } from './store.ts';
import { declaredTargets, identity, request } from './testing.ts';

/** What sluice.yaml declares for these tests. */
const CONTEXT = declaredTargets('demo-api');
const policy = (path: string) => `policies:
  - name: readers
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - name: read
        effect: allow
        paths: ["${path}"]
`;
const BROKEN = `policies:
  - name: readers
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - name: read
        effect: alow
`;

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Resolves with the first reload result that satisfies `accept`, or fails after `timeoutMs`. */
function waitForReload(store: PolicyStore, accept: (r: ReloadResult) => boolean, timeoutMs = 2000): Promise<ReloadResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching reload within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = store.onReload((result) => {
      if (!accept(result)) return;
      clearTimeout(timer);
      off();
      resolve(result);
    });
  });
}

const allowedPath = (store: PolicyStore, path: string) =>
  store.current().evaluate(request({ identity: identity(), path })).effect === 'allow';

describe('PolicyStore', () => {
  let dir: string;
  let store: PolicyStore | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-policy-'));
    await writeFile(join(dir, 'readers.yaml'), policy('/v1/**'));
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to open on a broken bundle', async () => {
    await writeFile(join(dir, 'readers.yaml'), BROKEN);
    await assert.rejects(PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT }), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.code, 'ERR_POLICY_INVALID');
      assert.equal(err.issues[0]!.line, 7);
      return true;
    });
  });

  it('openOrRefuse starts on a broken bundle refusing everything, and goes live with the first good edit', async () => {
    await writeFile(join(dir, 'readers.yaml'), BROKEN);
    store = (await PolicyStore.openOrRefuse(dir, { logger: captureLogger().logger, context: CONTEXT })).watch();
    assert.equal(store.loaded, false);
    assert.match(store.current().unavailable ?? '', /^readers\.yaml:7:\d+: /, 'names the file and line');
    assert.equal(store.lastError?.code, 'ERR_POLICY_INVALID');
    assert.equal(allowedPath(store, '/v1/x'), false);
    const reloaded = waitForReload(store, (r) => r.ok);
    await writeFile(join(dir, 'readers.yaml'), policy('/v1/**'));
    await reloaded;
    assert.equal(store.loaded, true);
    assert.equal(store.lastError, undefined);
    assert.equal(store.current().unavailable, undefined);
    assert.equal(allowedPath(store, '/v1/x'), true);
  });

  it('refuses to open a missing directory', async () => {
    await assert.rejects(PolicyStore.open(join(dir, 'missing'), { logger: captureLogger().logger }), {
      code: 'ERR_POLICY_DIR_UNREADABLE',
    });
  });

  it('picks up a good edit within 2 s', async () => {
    store = (await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT })).watch();
    assert.equal(allowedPath(store, '/v1/x'), true);
    assert.equal(allowedPath(store, '/v2/x'), false);
    const reloaded = waitForReload(store, (r) => r.ok && allowedPath(store!, '/v2/x'));
    const started = Date.now();
    await writeFile(join(dir, 'readers.yaml'), policy('/v2/**'));
    await reloaded;
    assert.ok(Date.now() - started < 2000);
    assert.equal(allowedPath(store, '/v1/x'), false);
  });

  it('picks up a file replaced by rename, as editors save', async () => {
    store = (await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT })).watch();
    const reloaded = waitForReload(store, (r) => r.ok && allowedPath(store!, '/v3/x'));
    await writeFile(join(dir, '.readers.yaml.tmp'), policy('/v3/**'));
    await rename(join(dir, '.readers.yaml.tmp'), join(dir, 'readers.yaml'));
    await reloaded;
  });

  it('falls back to polling when fs.watch cannot see the change (directory symlink flipped)', async () => {
    // Kubernetes-style: the directory path is a symlink swapped to a new directory. A watcher on
    // the old directory sees nothing, so only the periodic poll can notice.
    const v2 = join(dir, 'v2');
    await mkdir(v2);
    await writeFile(join(v2, 'readers.yaml'), policy('/v5/**'));
    const v1 = join(dir, 'v1');
    await mkdir(v1);
    await writeFile(join(v1, 'readers.yaml'), policy('/v1/**'));
    const live = join(dir, 'live');
    await symlink(v1, live);

    store = (await PolicyStore.open(live, { logger: captureLogger().logger, context: CONTEXT })).watch();
    assert.equal(allowedPath(store, '/v1/x'), true);
    const reloaded = waitForReload(store, (r) => r.ok && allowedPath(store!, '/v5/x'));
    await symlink(v2, join(dir, 'live.next'));
    await rename(join(dir, 'live.next'), live);
    await reloaded;
  });

  it('keeps the last good bundle on a broken edit, logs file and line, and recovers after the fix', async () => {
    const { logger, lines } = captureLogger();
    store = (await PolicyStore.open(dir, { logger, context: CONTEXT })).watch();
    const good = store.current();

    const failed = waitForReload(store, (r) => !r.ok);
    await writeFile(join(dir, 'readers.yaml'), BROKEN);
    const result = await failed;
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_POLICY_INVALID');
    assert.deepEqual(
      result.error.issues.map((i) => [i.file, i.line, i.column, i.path]),
      [[join(dir, 'readers.yaml'), 7, 17, '/policies/0/rules/0/effect']],
    );
    assert.equal(store.current(), good);
    assert.equal(allowedPath(store, '/v1/x'), true);
    const logged = lines.find((line) => line.level === 50 && line.code === 'ERR_POLICY_INVALID');
    assert.ok(logged, 'an error-level log line');
    assert.match(String(logged.msg), new RegExp(`${join(dir, 'readers.yaml').replaceAll('/', '\\/')}:7:17`));

    const recovered = waitForReload(store, (r) => r.ok);
    await writeFile(join(dir, 'readers.yaml'), policy('/v4/**'));
    await recovered;
    assert.notEqual(store.current(), good);
    assert.equal(allowedPath(store, '/v4/x'), true);
  });

  it('applies a deleted file, and keeps the old bundle when the deletion breaks it', async () => {
    await writeFile(join(dir, 'more.yaml'), policy('/more/**').replace('name: readers', 'name: more'));
    store = (await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT })).watch();
    assert.equal(allowedPath(store, '/more/x'), true);

    const removed = waitForReload(store, (r) => r.ok && !allowedPath(store!, '/more/x'));
    await rm(join(dir, 'more.yaml'));
    await removed;
    assert.deepEqual(store.current().sources, [join(dir, 'readers.yaml')]);
  });

  it('a new sluice.yaml context that drops a target the policies name is refused; the old bundle and context stay', async () => {
    store = await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT });
    const before = store.current();
    const result = await store.setContext(declaredTargets('other-api'));
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.issues[0]!.path, '/policies/0/targets/0');
    assert.equal(store.current(), before);
    // The old context is still the one reloads use.
    assert.equal((await store.reload()).ok, true);
    const added = await store.setContext(declaredTargets('demo-api', 'new-api'));
    assert.equal(added.ok, true);
    assert.deepEqual([...store.current().targets].sort(), ['demo-api', 'new-api']);
  });

  it('keeps the old bundle when the directory disappears', async () => {
    store = await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT });
    const before = store.current();
    await rm(dir, { recursive: true });
    const result = await store.reload();
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'ERR_POLICY_DIR_UNREADABLE');
    assert.equal(store.current(), before);
  });

  it('coalesces concurrent reload() calls', async () => {
    store = await PolicyStore.open(dir, { logger: captureLogger().logger, context: CONTEXT });
    let count = 0;
    store.onReload(() => count++);
    const results = await Promise.all([store.reload(), store.reload(), store.reload()]);
    assert.ok(results.every((r) => r.ok));
    assert.ok(count <= 2, `ran ${count} reloads`);
  });

  it('warns when the bundle declares no targets', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sluice-policy-empty-'));
    try {
      const { logger, lines } = captureLogger();
      const s = await PolicyStore.open(empty, { logger, context: declaredTargets() });
      assert.equal(s.current().targets.size, 0);
      assert.ok(lines.some((line) => line.level === 40));
      await s.close();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
