// Updates without Electron: a real HTTP server on 127.0.0.1 serves a signed manifest, its signature and installers,
// and the checker (src/main/updates.ts) must install nothing that a pinned release key did not sign, nothing older,
// and no file whose size or SHA-512 differs from the signed manifest's, leaving no bad file on disk. Then the service
// that schedules it (announce once, ask, open the installer only when quitting), and the release tool's round trip
// (scripts/signUpdate.ts: a key pair, a signed release directory the checker accepts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp as mkdtempFs, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '@tandem/coordinator/test/until.ts';
import {
  MANIFEST_NAME,
  SIGNATURE_NAME,
  UpdateChecker,
  type UpdateCheckerOptions,
  UpdateError,
  type Fetch,
  compareVersions,
} from '../src/main/updates.ts';
import { type InstallQuestion, UpdateService, startUpdates } from '../src/main/updateService.ts';
import { pinnedReleaseKeys } from '../src/main/releaseKeys.ts';
import { type UiEvent } from '../src/main/channels.ts';
import { publicKeyHex } from '../scripts/signUpdate.ts';

const DESKTOP = fileURLToPath(new URL('..', import.meta.url));
const isWindows = process.platform === 'win32';
const CURRENT = '1.4.0';
const NEXT = '1.5.0';
const LINUX_FILE = `Tandem-${NEXT}-x86_64.AppImage`;

// ---------------------------------------------------------------------------------------------------------------
// The update server: routes by decoded path; a 404 and a 500 carry bodies that must never reach a message.

interface Route {
  status?: number;
  body: Buffer;
  /** Sent in pieces without Content-Length, so only the bytes themselves tell the size. */
  chunked?: boolean;
}

const routes = new Map<string, Route>();
const hits: string[] = [];
let server: Server;
let origin: string;

before(async () => {
  server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    hits.push(p);
    const r = routes.get(p);
    if (!r) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('SECRET-404-BODY');
    if (!r.chunked) return void res.writeHead(r.status ?? 200, { 'content-length': r.body.length }).end(r.body);
    res.writeHead(r.status ?? 200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < r.body.length; i += 16 * 1024) res.write(r.body.subarray(i, i + 16 * 1024));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Temporary directories, removed at the end (one holds a throwaway release key). */
const temps: string[] = [];
async function mkdtemp(prefix: string): Promise<string> {
  const dir = await mkdtempFs(prefix);
  temps.push(dir);
  return dir;
}
after(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

const hitsOf = (p: string) => hits.filter((h) => h === p).length;

// ---------------------------------------------------------------------------------------------------------------
// Release fixtures.

const release = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const releaseRaw = Buffer.from(publicKeyHex(release.publicKey), 'hex');
const installer = randomBytes(300_000);
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('base64');

function manifestFor(over: Record<string, unknown> = {}) {
  return {
    product: 'Tandem',
    version: NEXT,
    releaseDate: '2025-06-01T12:00:00Z',
    files: [
      { platform: 'linux', arch: 'x64', url: LINUX_FILE, sha512: sha512(installer), size: installer.length },
      { platform: 'win32', arch: 'x64', url: 'Tandem%20Setup.exe', sha512: sha512(installer), size: installer.length },
    ],
    ...over,
  };
}

/** Serves `manifest` under /<prefix>/ with its signature by `key`; `mutate` changes the bytes after signing. */
function publish(
  prefix: string,
  manifest: object,
  o: { key?: KeyObject; mutate?: (b: Buffer) => Buffer; signature?: Buffer; file?: Route } = {},
): string {
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  const signature =
    o.signature ?? Buffer.from(sign(null, bytes, o.key ?? release.privateKey).toString('base64') + '\n');
  routes.set(`/${prefix}/${MANIFEST_NAME}`, { body: o.mutate ? o.mutate(bytes) : bytes });
  routes.set(`/${prefix}/${SIGNATURE_NAME}`, { body: signature });
  routes.set(`/${prefix}/${LINUX_FILE}`, o.file ?? { body: installer });
  return `${origin}/${prefix}`;
}

async function stagingDir(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'tandem-updates-')), 'updates');
}

async function checker(updateUrl: string | null, over: Partial<UpdateCheckerOptions> = {}) {
  const dir = await stagingDir();
  const c = new UpdateChecker({
    updateUrl,
    currentVersion: CURRENT,
    platform: 'linux',
    arch: 'x64',
    releasePublicKeys: [releaseRaw],
    stagingDir: dir,
    allowInsecureLoopbackForTests: true,
    ...over,
  });
  return { c, dir };
}

async function refused(p: Promise<unknown>, code: string): Promise<UpdateError> {
  const e = await p.then(
    () => assert.fail(`expected ${code}`),
    (err: unknown) => err,
  );
  assert.ok(e instanceof UpdateError, String(e));
  assert.equal(e.code, code, e.message);
  return e;
}

/** What the staging directory holds (nothing, after any failure). */
const leftIn = (dir: string) => readdir(dir).catch(() => [] as string[]);

function spyFetch(): { fetch: Fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

test('versions compare by semver precedence (pre-releases below their release, numbers as numbers)', () => {
  const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0'];
  for (let i = 1; i < ordered.length; i++) assert.equal(compareVersions(ordered[i - 1]!, ordered[i]!), -1);
  assert.equal(compareVersions('1.10.0', '1.9.0'), 1);
  assert.equal(compareVersions('1.4.0+build.7', '1.4.0'), 0);
  assert.equal(compareVersions('10000000000000000000001.0.0', '10000000000000000000000.0.0'), 1);
  assert.throws(() => compareVersions('1.4', '1.4.0'));
});

test('the pinned release keys are well-formed', () => {
  for (const k of pinnedReleaseKeys()) assert.equal(k.length, 32);
});

test('off: with no update URL nothing touches the network, neither a check nor the service', async () => {
  const spy = spyFetch();
  const { c } = await checker(null, { fetch: spy.fetch });
  assert.equal(c.enabled, false);
  const r = await c.check();
  assert.deepEqual([r.status, r.version, r.path], ['disabled', CURRENT, null]);

  const s = new UpdateService({
    updateUrl: null,
    currentVersion: CURRENT,
    stagingDir: await stagingDir(),
    fetch: spy.fetch,
    firstCheckDelayMs: 1,
    intervalMs: 1,
  });
  s.start();
  await new Promise((r) => setTimeout(r, 50));
  await s.close();

  // From the settings: no policy file, so no update URL (the user cannot set one).
  const profile = await mkdtemp(path.join(tmpdir(), 'tandem-profile-'));
  const policyFile = path.join(profile, 'no-policy.json');
  const fromSettings = startUpdates({ profileDir: profile, policyFile, currentVersion: CURRENT, fetch: spy.fetch });
  assert.equal(fromSettings.enabled, false);
  await fromSettings.close();
  assert.deepEqual(spy.calls, []);

  // IT's policy turns it on (https only; the first check waits, so nothing is fetched here either).
  await writeFile(policyFile, JSON.stringify({ updateUrl: 'https://updates.example.com/tandem' }));
  const managed = startUpdates({ profileDir: profile, policyFile, currentVersion: CURRENT, fetch: spy.fetch });
  assert.equal(managed.enabled, true);
  await managed.close();
  assert.deepEqual(spy.calls, []);
});

test('up to date: the signed manifest offers this version, and no installer is fetched', async () => {
  const url = publish('same', manifestFor({ version: CURRENT }));
  const { c, dir } = await checker(url);
  const r = await c.check();
  assert.deepEqual([r.status, r.version, r.path], ['up_to_date', CURRENT, null]);
  assert.equal(hitsOf(`/same/${LINUX_FILE}`), 0);
  assert.deepEqual(await leftIn(dir), []);
});

test('ready: the installer is verified and written 0600 into the staging directory, then reused, or fetched again if changed', async () => {
  const url = publish('ready', manifestFor({ minimumVersion: '1.4.1' }));
  const { c, dir } = await checker(url);
  const r = await c.check();
  assert.equal(r.status, 'ready');
  assert.equal(r.version, NEXT);
  assert.equal(r.status === 'ready' && r.mandatory, true, 'below minimumVersion');
  assert.equal(r.path, path.join(dir, LINUX_FILE));
  assert.ok((await readFile(r.path!)).equals(installer));
  if (!isWindows) {
    assert.equal((await stat(r.path!)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  }
  assert.deepEqual(await leftIn(dir), [LINUX_FILE]);
  assert.equal(hitsOf(`/ready/${LINUX_FILE}`), 1);

  // The next check finds it verified on disk and downloads nothing.
  assert.equal((await c.check()).path, r.path);
  assert.equal(hitsOf(`/ready/${LINUX_FILE}`), 1);

  // Changed on disk: deleted, fetched again, verified again.
  await writeFile(r.path!, Buffer.concat([installer.subarray(0, 10), Buffer.from('x'), installer.subarray(11)]));
  assert.equal((await c.check()).status, 'ready');
  assert.equal(hitsOf(`/ready/${LINUX_FILE}`), 2);
  assert.ok((await readFile(r.path!)).equals(installer));
});

test('a malformed or wrong signature is refused before anything is parsed or downloaded', async () => {
  const sigs = [
    Buffer.from(randomBytes(64).toString('base64')),
    Buffer.from('not a signature'),
    Buffer.alloc(0),
    Buffer.from(randomBytes(65).toString('base64')),
  ];
  for (const [i, signature] of sigs.entries()) {
    const { c, dir } = await checker(publish(`badsig${i}`, manifestFor(), { signature }));
    await refused(c.check(), 'UPDATE_SIGNATURE_INVALID');
    assert.equal(hitsOf(`/badsig${i}/${LINUX_FILE}`), 0);
    assert.deepEqual(await leftIn(dir), []);
  }
  // Not even JSON: the signature check comes first, so it is a signature failure, not a manifest one.
  const { c } = await checker(
    publish('badsig-json', manifestFor(), { signature: sigs[0], mutate: () => Buffer.from('{') }),
  );
  await refused(c.check(), 'UPDATE_SIGNATURE_INVALID');
});

test('a signature by a key this build does not pin is refused', async () => {
  const { c } = await checker(publish('stranger', manifestFor(), { key: stranger.privateKey }));
  await refused(c.check(), 'UPDATE_SIGNATURE_INVALID');
  assert.equal(hitsOf(`/stranger/${LINUX_FILE}`), 0);
  // Either of two pinned keys will do (rotation).
  const both = await checker(publish('rotated', manifestFor(), { key: stranger.privateKey }), {
    releasePublicKeys: [releaseRaw, Buffer.from(publicKeyHex(stranger.publicKey), 'hex')],
  });
  assert.equal((await both.c.check()).status, 'ready');
  // No key pinned at all: refused without a request.
  const spy = spyFetch();
  const none = await checker(publish('nokeys', manifestFor()), { releasePublicKeys: [], fetch: spy.fetch });
  await refused(none.c.check(), 'UPDATE_SIGNATURE_INVALID');
  assert.deepEqual(spy.calls, []);
});

test('a manifest changed after signing is refused, however small the change', async () => {
  const other = randomBytes(installer.length);
  const tampers: Array<(b: Buffer) => Buffer> = [
    (b) => Buffer.from(b.toString().replace(sha512(installer), sha512(other))),
    (b) => Buffer.from(b.toString().replace(`"version": "${NEXT}"`, '"version": "9.9.9"')),
    (b) => Buffer.concat([b, Buffer.from(' ')]),
    (b) => b.subarray(0, b.length - 1),
  ];
  for (const [i, mutate] of tampers.entries()) {
    const { c, dir } = await checker(publish(`tamper${i}`, manifestFor(), { mutate }));
    await refused(c.check(), 'UPDATE_SIGNATURE_INVALID');
    assert.deepEqual(await leftIn(dir), []);
  }
});

test('downgrade: an older version, even properly signed, is refused and not downloaded', async () => {
  for (const [i, version] of ['1.3.9', '0.9.0', `${CURRENT}-rc.1`].entries()) {
    const { c } = await checker(publish(`down${i}`, manifestFor({ version })));
    const e = await refused(c.check(), 'UPDATE_DOWNGRADE');
    assert.match(e.message, new RegExp(version.replace(/\./g, '\\.')));
    assert.equal(hitsOf(`/down${i}/${LINUX_FILE}`), 0);
  }
});

test('a signed manifest that is not a Tandem manifest, or sends the app elsewhere, is refused', async () => {
  const bad: Array<[string, object]> = [
    ['product', manifestFor({ product: 'Other' })],
    ['version', manifestFor({ version: 'v1.5' })],
    ['releaseDate', manifestFor({ releaseDate: 'yesterday' })],
    ['minimumVersion', manifestFor({ minimumVersion: '2.0.0' })],
    ['files', manifestFor({ files: [] })],
    ['files.0.sha512', manifestFor({ files: [{ ...manifestFor().files[0], sha512: 'abc' }] })],
    ['files.0.size', manifestFor({ files: [{ ...manifestFor().files[0], size: -1 }] })],
    ['files.1', manifestFor({ files: [manifestFor().files[0], manifestFor().files[0]] })],
  ];
  for (const [field, m] of bad) {
    const { c } = await checker(publish(`invalid-${field}`, m));
    const e = await refused(c.check(), 'UPDATE_MANIFEST_INVALID');
    assert.match(e.message, new RegExp(`: ${field.replace(/\./g, '\\.')}\\.$`), field);
  }
  // Files on another origin (another host, another port, credentials) are refused, never fetched.
  for (const [i, url] of [
    'https://evil.example/Tandem.AppImage',
    'http://127.0.0.2:1/Tandem.AppImage',
    '//evil.example/Tandem.AppImage',
    `${origin.replace('//', '//user:pw@')}/x/Tandem.AppImage`,
  ].entries()) {
    const m = manifestFor({ files: [{ ...manifestFor().files[0], url }] });
    const spy = spyFetch();
    const { c } = await checker(publish(`origin${i}`, m), { fetch: spy.fetch });
    await refused(c.check(), 'UPDATE_MANIFEST_INVALID');
    assert.equal(spy.calls.length, 2, 'the manifest and its signature only');
  }
  // Signed, but not JSON.
  const bytes = Buffer.from('not json');
  routes.set('/notjson/tandem-update.json', { body: bytes });
  routes.set('/notjson/tandem-update.json.sig', {
    body: Buffer.from(sign(null, bytes, release.privateKey).toString('base64')),
  });
  await refused((await checker(`${origin}/notjson`)).c.check(), 'UPDATE_MANIFEST_INVALID');
});

test('hash mismatch: a file of the right size but other bytes is deleted', async () => {
  const other = Buffer.from(installer);
  other[1000] = other[1000]! ^ 0xff;
  const { c, dir } = await checker(publish('hash', manifestFor(), { file: { body: other } }));
  await refused(c.check(), 'UPDATE_HASH_MISMATCH');
  assert.deepEqual(await leftIn(dir), []);
});

test('size: more bytes than signed (declared or streamed) or fewer are refused, and nothing stays on disk', async () => {
  const longer = Buffer.concat([installer, randomBytes(100_000)]);
  const cases: Array<[string, Route]> = [
    ['declared', { body: longer }],
    ['streamed', { body: longer, chunked: true }],
    ['short', { body: installer.subarray(0, installer.length - 1), chunked: true }],
  ];
  for (const [name, file] of cases) {
    const { c, dir } = await checker(publish(`size-${name}`, manifestFor(), { file }));
    await refused(c.check(), 'UPDATE_DOWNLOAD_FAILED');
    assert.deepEqual(await leftIn(dir), [], name);
  }
  // An oversized manifest is not read to its end either.
  routes.set('/bigmanifest/tandem-update.json', { body: Buffer.alloc(300 * 1024, 0x20), chunked: true });
  routes.set('/bigmanifest/tandem-update.json.sig', { body: Buffer.from('x') });
  await refused((await checker(`${origin}/bigmanifest`)).c.check(), 'UPDATE_DOWNLOAD_FAILED');
});

test('no installer for this platform and architecture', async () => {
  const url = publish('platform', manifestFor());
  for (const [platform, arch] of [
    ['darwin', 'arm64'],
    ['linux', 'arm64'],
  ]) {
    const { c, dir } = await checker(url, { platform, arch });
    const e = await refused(c.check(), 'UPDATE_NO_FILE_FOR_PLATFORM');
    assert.match(e.message, new RegExp(`${platform}, ${arch}`));
    assert.deepEqual(await leftIn(dir), []);
  }
  // A universal macOS build serves both Mac architectures.
  const universal = manifestFor({ files: [{ ...manifestFor().files[0], platform: 'darwin', arch: 'universal' }] });
  const mac = await checker(publish('universal', universal), { platform: 'darwin', arch: 'arm64' });
  assert.equal((await mac.c.check()).status, 'ready');
});

test('the update URL must be https: plain http only on loopback and only with the test flag', async () => {
  const url = publish('insecure', manifestFor());
  const cases: Array<[string, boolean]> = [
    ['http://updates.example.com/tandem', true],
    ['http://localhost:1/tandem', true],
    ['http://10.0.0.1/tandem', true],
    [url, false],
    ['ftp://updates.example.com/', true],
    ['https://user:pw@updates.example.com/', false],
    ['https://updates.example.com/?token=1', false],
    ['not a url', false],
  ];
  for (const [updateUrl, flag] of cases) {
    const spy = spyFetch();
    const { c } = await checker(updateUrl, { fetch: spy.fetch, allowInsecureLoopbackForTests: flag });
    await refused(c.check(), 'UPDATE_URL_INVALID');
    assert.deepEqual(spy.calls, [], updateUrl);
  }
});

test("a server's error answers never reach a message", async () => {
  routes.set('/err/tandem-update.json', { status: 500, body: Buffer.from('SECRET-500-BODY stack trace') });
  for (const prefix of ['err', 'missing']) {
    const e = await refused((await checker(`${origin}/${prefix}`)).c.check(), 'UPDATE_DOWNLOAD_FAILED');
    assert.match(e.message, /answered (500|404)/);
    assert.doesNotMatch(e.message, /SECRET/);
  }
  // A server that is not there.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await refused((await checker(`http://127.0.0.1:${port}/`)).c.check(), 'UPDATE_DOWNLOAD_FAILED');
});

// ---------------------------------------------------------------------------------------------------------------
// The service.

function service(updateUrl: string, dir: string, over: Partial<ConstructorParameters<typeof UpdateService>[0]> = {}) {
  const events: UiEvent[] = [];
  const questions: InstallQuestion[] = [];
  const opened: string[] = [];
  const logs: string[] = [];
  let quits = 0;
  const s = new UpdateService({
    updateUrl,
    currentVersion: CURRENT,
    platform: 'linux',
    arch: 'x64',
    releasePublicKeys: [releaseRaw],
    stagingDir: dir,
    allowInsecureLoopbackForTests: true,
    firstCheckDelayMs: 1,
    intervalMs: 10,
    emit: (e) => events.push(e),
    ask: async (q) => {
      questions.push(q);
      return true;
    },
    openInstaller: async (file) => {
      opened.push(file);
      return '';
    },
    quit: () => quits++,
    log: (l) => logs.push(l),
    ...over,
  });
  return { s, events, questions, opened, logs, quits: () => quits };
}

test('service: a ready update is announced once, offered once, and its installer opened only on close', async () => {
  const url = publish('svc', manifestFor());
  const dir = await stagingDir();
  const t = service(url, dir);
  t.s.start();
  await until('the question', () => (t.quits() > 0 ? true : undefined), 10_000, 5);
  assert.deepEqual(t.events, [{ event: 'update_ready', version: NEXT }]);
  assert.equal(t.questions.length, 1);
  assert.match(t.questions[0]!.message, new RegExp(`Tandem ${NEXT.replace(/\./g, '\\.')}`));
  assert.deepEqual(t.questions[0]!.buttons, ['Close Tandem and install', 'Later']);
  assert.deepEqual(t.opened, [], 'nothing opens before the app has closed');
  // Later checks find it again, but neither announce nor ask twice.
  const before = hitsOf(`/svc/${MANIFEST_NAME}`);
  await until('more checks', () => (hitsOf(`/svc/${MANIFEST_NAME}`) >= before + 2 ? true : undefined), 10_000, 5);
  assert.equal(t.events.length, 1);
  assert.equal(t.questions.length, 1);
  // The shell's quit path ends in close(): the installer, checked again, goes to the OS.
  await t.s.close();
  assert.deepEqual(t.opened, [path.join(dir, LINUX_FILE)]);
  assert.deepEqual(t.logs, []);
});

test('service: "Later" installs nothing; an installer changed on disk before closing is deleted, not opened', async () => {
  const url = publish('svc2', manifestFor());
  const later = service(url, await stagingDir(), { ask: async () => false });
  await later.s.checkNow();
  await until('the answer', () => (later.events.length > 0 ? true : undefined), 5_000, 5);
  await later.s.close();
  assert.equal(later.quits(), 0);
  assert.deepEqual(later.opened, []);

  const dir = await stagingDir();
  const t = service(url, dir);
  const r = await t.s.checkNow();
  await until('the question', () => (t.quits() > 0 ? true : undefined), 5_000, 5);
  await writeFile(r.path!, randomBytes(installer.length));
  await t.s.close();
  assert.deepEqual(t.opened, []);
  assert.deepEqual(await leftIn(dir), []);
  assert.match(t.logs.join('\n'), /changed on disk/);
});

test('service: failed checks are logged with their code, and checking goes on', async () => {
  routes.set('/svc3/tandem-update.json', { status: 500, body: Buffer.from('SECRET-500-BODY') });
  const t = service(`${origin}/svc3`, await stagingDir());
  t.s.start();
  await until('two failures', () => (t.logs.length >= 2 ? true : undefined), 10_000, 5);
  await t.s.close();
  assert.match(t.logs[0]!, /\(UPDATE_DOWNLOAD_FAILED\)/);
  assert.doesNotMatch(t.logs.join('\n'), /SECRET/);
  assert.deepEqual(t.events, []);
});

// ---------------------------------------------------------------------------------------------------------------
// The release tool, as the release team runs it.

const SCRIPT = path.join(DESKTOP, 'scripts', 'signUpdate.ts');

function run(args: string[], env: Record<string, string> = {}) {
  // Only what a case passes: never a key inherited from the environment running the tests.
  const base = { ...process.env };
  delete base['TANDEM_UPDATE_SIGNING_KEY'];
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: DESKTOP,
    env: { ...base, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, err })),
  );
}

test('signUpdate: a generated key signs a release directory that the checker accepts; the key is never printed', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'tandem-release-'));
  const keyFile = path.join(work, 'release-key.pem');
  const gen = await run(['--generate-key', '--out', keyFile]);
  assert.equal(gen.code, 0, gen.err);
  const pem = await readFile(keyFile, 'utf8');
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
  if (!isWindows) assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  const hex = /^([0-9a-f]{64})$/m.exec(gen.out)?.[1];
  assert.ok(hex, gen.out);
  const secretLine = pem.split('\n')[1]!;
  assert.ok(!gen.out.includes(secretLine) && !gen.err.includes(secretLine));
  // Never overwritten.
  assert.equal((await run(['--generate-key', '--out', keyFile])).code, 1);
  assert.equal(await readFile(keyFile, 'utf8'), pem);

  // A release directory as electron-builder leaves it.
  const dir = path.join(work, 'release');
  await mkdir(dir);
  await mkdir(path.join(dir, 'linux-unpacked'));
  const built: Record<string, Buffer> = {
    [`Tandem-${NEXT}-x86_64.AppImage`]: randomBytes(50_000),
    [`Tandem Setup ${NEXT}.exe`]: randomBytes(60_000),
    [`Tandem-${NEXT}-arm64.dmg`]: randomBytes(70_000),
    'latest.yml': Buffer.from('version: x\n'),
    [`Tandem Setup ${NEXT}.exe.blockmap`]: randomBytes(100),
  };
  for (const [name, body] of Object.entries(built)) await writeFile(path.join(dir, name), body);

  // No key: refused. The key from the environment (PEM text): signed.
  assert.equal((await run(['--dir', dir, '--version', NEXT])).code, 1);
  const signed = await run(['--dir', dir, '--version', NEXT], { TANDEM_UPDATE_SIGNING_KEY: pem });
  assert.equal(signed.code, 0, signed.err);
  assert.ok(!signed.out.includes(secretLine) && !signed.err.includes(secretLine));
  assert.match(signed.out, new RegExp(`signed by ${hex}`));
  assert.match(signed.err, /not pinned/);
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_NAME), 'utf8')) as ReturnType<typeof manifestFor>;
  assert.deepEqual(manifest.files.map((f) => `${f.platform}/${f.arch}`).sort(), [
    'darwin/arm64',
    'linux/x64',
    'win32/x64',
  ]);

  // Served as it is, the checker with that public key accepts each platform's installer.
  const serveDir = async (prefix: string) => {
    for (const name of await readdir(dir)) {
      const st = await stat(path.join(dir, name));
      if (st.isFile()) routes.set(`/${prefix}/${name}`, { body: await readFile(path.join(dir, name)) });
    }
    return `${origin}/${prefix}/`;
  };
  const url = await serveDir('signed');
  const keys = [Buffer.from(hex, 'hex')];
  for (const [platform, arch, name] of [
    ['linux', 'x64', `Tandem-${NEXT}-x86_64.AppImage`],
    ['win32', 'x64', `Tandem Setup ${NEXT}.exe`],
    ['darwin', 'arm64', `Tandem-${NEXT}-arm64.dmg`],
  ] as const) {
    const { c } = await checker(url, { platform, arch, releasePublicKeys: keys });
    const r = await c.check();
    assert.equal(r.status, 'ready', name);
    assert.ok((await readFile(r.path!)).equals(built[name]!), name);
    assert.equal(path.basename(r.path!), name.replace(/ /g, '-'));
  }
  // The build's own pinned keys (not this one) refuse it.
  await refused((await checker(url, { releasePublicKeys: [releaseRaw] })).c.check(), 'UPDATE_SIGNATURE_INVALID');

  // Two installers for one platform: the release says which, with --file and the key from a file.
  await writeFile(path.join(dir, `tandem_${NEXT}_amd64.deb`), randomBytes(1000));
  const ambiguous = await run(['--dir', dir, '--version', NEXT, '--key-file', keyFile]);
  assert.equal(ambiguous.code, 1);
  assert.match(ambiguous.err, /two installers for linux\/x64/);
  const chosen = await run([
    ...['--dir', dir, '--version', NEXT, '--key-file', keyFile, '--minimum-version', '1.0.0'],
    ...['--file', `linux/x64=tandem_${NEXT}_amd64.deb`, '--file', `win32/x64=Tandem Setup ${NEXT}.exe`],
  ]);
  assert.equal(chosen.code, 0, chosen.err);
  const deb = await checker(await serveDir('chosen'), { releasePublicKeys: keys });
  const r = await deb.c.check();
  assert.equal(r.status === 'ready' && path.basename(r.path), `tandem_${NEXT}_amd64.deb`);
  // A wrong key file is refused without quoting it.
  await writeFile(path.join(work, 'wrong.pem'), 'SECRET-NOT-A-KEY');
  const wrong = await run(['--dir', dir, '--key-file', path.join(work, 'wrong.pem')]);
  assert.equal(wrong.code, 1);
  assert.doesNotMatch(wrong.out + wrong.err, /SECRET/);
});
