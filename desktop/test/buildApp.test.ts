// What the Electron app loads (desktop/dist, built by scripts/buildApp.ts): self-contained bundles that import only
// electron, the native keychain module and Node's own modules; a preload that requires nothing but electron; no
// source maps; and a bundled P2 worker that really runs a job.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../scripts/buildApp.ts';
import { startP2Job } from '../src/worker/client.ts';
import { Vault } from '../src/vault/vault.ts';
import { Worker } from 'node:worker_threads';
import { utilityWorker, type UtilityProcessLike } from '../src/electron/utilityWorker.ts';

const dist = fileURLToPath(new URL('../dist', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
/**
 * Every module an ES bundle imports (its leading import block: a bundle hoists them all, and library comments further
 * down may quote import lines) and every require() of a CommonJS one.
 */
function specifiers(code: string): string[] {
  const lines = code.split('\n');
  const head = lines.slice(
    0,
    lines.findIndex((l) => l.trim() !== '' && !/^import\s/.test(l)),
  );
  return [
    ...head.map((l) => /["']([^"']+)["'];?\s*$/.exec(l)?.[1]).filter((s): s is string => s !== undefined),
    ...[...code.matchAll(/\brequire\(["']([^"']+)["']\)/g)].map((m) => m[1]!),
  ];
}

before(async () => {
  await buildApp();
});

test('the bundles import only electron, the native keychain module and node: modules; no source maps', () => {
  const allowed = (s: string) => s === 'electron' || s === '@napi-rs/keyring' || s.startsWith('node:');
  for (const f of ['electron/main.js', 'worker/p2Worker.js']) {
    const bad = specifiers(readFileSync(path.join(dist, f), 'utf8')).filter((s) => !allowed(s));
    assert.deepEqual(bad, [], f);
  }
  const preload = readFileSync(path.join(dist, 'electron/preload.cjs'), 'utf8');
  assert.deepEqual([...new Set(specifiers(preload))], ['electron']);
  assert.doesNotMatch(preload, /^import\s/m, 'a sandboxed preload must be CommonJS');
  assert.deepEqual(
    files(dist).filter((f) => f.endsWith('.map') || /sourceMappingURL=/.test(readFileSync(f, 'utf8'))),
    [],
  );
  assert.ok(files(path.join(dist, 'renderer')).some((f) => f.endsWith('index.html')));
});

test('the bundled P2 worker runs a job (the device setup) and stores its result in the vault', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tandem-bundle-'));
  const vault = { dir: path.join(dir, 'vault'), profileId: `bundle-${randomBytes(4).toString('hex')}` };
  const steps: string[] = [];
  const result = await startP2Job(
    { job: 'setup', profile: 'test', password: 'correct horse battery staple', vault },
    { workerUrl: pathToFileURL(path.join(dist, 'worker', 'p2Worker.js')), onProgress: (p) => steps.push(p.step) },
  );
  assert.deepEqual(result, { stored: true });
  assert.equal(steps.at(-1), 'done');
  assert.equal(await new Vault(vault.dir, vault.profileId).hasSetup(), true);
});

test('as a utilityProcess (the adapter around fork, here over a worker thread): messages wait for spawn, kill ends it', async () => {
  const forks: string[] = [];
  // Stands in for electron's utilityProcess.fork: a separate thread instead of a process, same events.
  const fork = (modulePath: string): UtilityProcessLike => {
    forks.push(modulePath);
    const w = new Worker(modulePath);
    return {
      on: ((event: string, listener: (...a: unknown[]) => void) =>
        w.on(event === 'spawn' ? 'online' : event, listener)) as UtilityProcessLike['on'],
      postMessage: (m) => w.postMessage(m),
      kill: () => (void w.terminate(), true),
    };
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'tandem-utility-'));
  const vault = { dir: path.join(dir, 'vault'), profileId: `utility-${randomBytes(4).toString('hex')}` };
  const url = pathToFileURL(path.join(dist, 'worker', 'p2Worker.js'));
  const result = await startP2Job(
    { job: 'setup', profile: 'test', password: 'correct horse battery staple', vault },
    { workerUrl: url, spawn: utilityWorker(fork) },
  );
  assert.deepEqual(result, { stored: true });
  assert.deepEqual(forks, [fileURLToPath(url)]);
});
