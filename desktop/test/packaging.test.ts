// The packaging, checked where the real Electron cannot be downloaded: electron-builder packs desktop/dist as
// electron-builder.yml says around a stand-in Electron (same layout, a binary with a fuse wire), then we look at
// what it produced: what app.asar holds and what it must not, the keychain module beside it, the fuses read back from
// the packed binary (release, and a QA build that differs in the inspect fuse only), the afterPack hook's refusals
// and notices, and a .deb built from the unpacked app with its control data from the yml.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { extractFile, listPackage, statFile } from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import type { AfterPackContext } from 'electron-builder';
import { afterPack, signingPlan } from '../scripts/afterPack.ts';
import { flavorFromEnv, fuseSet, wireDifferences } from '../scripts/fuses.ts';
import { type PackageResult, electronVersion, ensureAppBuilt, packageDir } from '../scripts/package.ts';
import {
  builderConfigFile,
  desktopDir,
  desktopPackageJson,
  loadBuilderConfig,
  repoRoot,
  schemaErrors,
  secretKeys,
} from '../scripts/packageConfig.ts';
import { buildDeb, debArch, hasDpkgDeb } from '../scripts/packageDeb.ts';
import { LINUX_ICON_SIZES, pngSize } from '../scripts/packageIcon.ts';
import { STOCK_WIRE, createStandInElectron, standInExecutable } from '../scripts/packageStandIn.ts';

const run = promisify(execFile);
const config = loadBuilderConfig();
let work = '';
let electronDist = '';
let release: PackageResult;
const quiet = () => {};

before(async () => {
  await ensureAppBuilt(quiet);
  work = await mkdtemp(path.join(tmpdir(), 'tandem-packaging-'));
  electronDist = await createStandInElectron(path.join(work, 'electron'), electronVersion());
  release = await packageDir({ outDir: path.join(work, 'release'), flavor: 'release', electronDist, log: quiet });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('electron-builder.yml is valid for electron-builder’s JSON schema and holds no secret', () => {
  assert.deepEqual(schemaErrors(config), []);
  // The validator really validates: a string where the schema wants a boolean, and an unknown key, are errors.
  const nsis = config['nsis'] as Record<string, unknown>;
  const broken = schemaErrors({ ...config, nsis: { ...nsis, oneClick: 'false' }, signWith: 'x' });
  assert.ok(
    broken.some((e) => e.startsWith('/nsis/oneClick')),
    broken.join('\n'),
  );
  assert.ok(
    broken.some((e) => e.includes("'signWith'")),
    broken.join('\n'),
  );
  assert.deepEqual(secretKeys(config), []);
  assert.doesNotMatch(readFileSync(builderConfigFile, 'utf8'), /BEGIN [A-Z ]*PRIVATE KEY|MII[A-Za-z0-9+/]{40}/);
});

test('electron-builder.yml: the settings the release depends on', () => {
  const c = config;
  assert.equal(c['appId'], 'com.tandem.treasury');
  assert.equal(c['productName'], 'Tandem');
  assert.equal(c['asar'], true);
  assert.equal(c['npmRebuild'], false);
  assert.equal(c['publish'], null, 'no update feed: IT sets the managed update URL');
  assert.equal((c['directories'] as Record<string, string>)['app'], 'desktop');
  assert.equal(desktopPackageJson().main, 'dist/electron/main.js');
  assert.ok(existsSync(path.resolve(repoRoot, String(c['afterPack']))), 'the afterPack hook exists');
  const nsis = c['nsis'] as Record<string, unknown>;
  assert.equal(nsis['oneClick'], false);
  assert.equal(nsis['deleteAppDataOnUninstall'], false, 'uninstalling never deletes the vault');
  const mac = c['mac'] as Record<string, unknown>;
  assert.equal(mac['hardenedRuntime'], true);
  assert.equal(mac['notarize'], true);
  // The only hardened-runtime exception is V8's JIT.
  for (const key of ['entitlements', 'entitlementsInherit']) {
    const plist = readFileSync(path.resolve(repoRoot, String(mac[key])), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    assert.deepEqual(
      [...plist.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1]),
      ['com.apple.security.cs.allow-jit'],
    );
  }
  const deb = c['deb'] as Record<string, string[]>;
  assert.ok(deb['depends']!.includes('libsecret-1-0'));
  assert.deepEqual(deb['recommends'], ['gnome-keyring']);
});

test('app.asar holds the bundles and package.json, and nothing the app does not load', () => {
  const archive = path.join(release.resourcesDir, 'app.asar');
  const files = listPackage(archive, { isPack: false }).map((f) => f.replace(/\\/g, '/'));
  for (const f of [
    '/package.json',
    '/dist/electron/main.js',
    '/dist/electron/preload.cjs',
    '/dist/renderer/index.html',
    '/dist/worker/p2Worker.js',
  ])
    assert.ok(files.includes(f), `${f} is in app.asar`);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map') || /\.tsx?$/.test(f)),
    [],
    'no source maps, no TypeScript',
  );
  assert.deepEqual(
    files.filter(
      (f) => /^\/(src|test|renderer|scripts|bench|build|release)\//.test(f) || /\.test\.|fixtures?\//.test(f),
    ),
    [],
    'no sources, tests or test data',
  );
  // The bundles contain every dependency but the keychain module: node_modules holds it and nothing else.
  const packages = new Set(
    files.map((f) => /^\/node_modules\/((?:@[^/]+\/)?[^/@]+)/.exec(f)?.[1]).filter((p): p is string => p !== undefined),
  );
  assert.ok(packages.size > 0);
  for (const p of packages) assert.match(p, /^@napi-rs\/keyring(-[a-z0-9-]+)?$/, `${p} must not be packaged`);
  for (const dev of ['react', 'vite', 'playwright-core', 'electron', '@tandem/coordinator', 'viem', 'zod'])
    assert.ok(!files.some((f) => f.startsWith(`/node_modules/${dev}/`)), `${dev} is not in app.asar`);
});

test('the packaged package.json starts dist/electron/main.js and names the app Tandem', () => {
  const pkg = JSON.parse(extractFile(path.join(release.resourcesDir, 'app.asar'), 'package.json').toString()) as Record<
    string,
    unknown
  >;
  assert.equal(pkg['main'], 'dist/electron/main.js');
  // Electron names the profile folder (the vault, the settings) after productName.
  assert.equal(pkg['productName'], 'Tandem');
  assert.equal(pkg['devDependencies'], undefined);
  assert.equal(pkg['scripts'], undefined);
});

test('the native keychain module is unpacked beside app.asar', () => {
  const archive = path.join(release.resourcesDir, 'app.asar');
  const native = listPackage(archive, { isPack: false }).filter((f) => f.endsWith('.node'));
  assert.equal(native.length, 1, native.join(', '));
  const rel = native[0]!.replace(/^[/\\]/, '');
  assert.equal((statFile(archive, rel) as { unpacked?: boolean }).unpacked, true);
  assert.ok(
    statSync(path.join(release.resourcesDir, 'app.asar.unpacked', rel)).size > 100_000,
    'the .node file is there',
  );
  assert.ok(existsSync(path.join(release.resourcesDir, 'app.asar.unpacked', 'node_modules/@napi-rs/keyring/index.js')));
});

test('the packed binary carries the release fuses', async () => {
  const wire = await getCurrentFuseWire(release.binary);
  assert.deepEqual(wireDifferences(wire, fuseSet('release')), []);
  // Read back by index, as the brief for a release states them.
  const on = (f: FuseV1Options) => wire[f] === 0x31;
  assert.equal(on(FuseV1Options.RunAsNode), false);
  assert.equal(on(FuseV1Options.EnableNodeOptionsEnvironmentVariable), false);
  assert.equal(on(FuseV1Options.EnableNodeCliInspectArguments), false);
  assert.equal(on(FuseV1Options.EnableEmbeddedAsarIntegrityValidation), true);
  assert.equal(on(FuseV1Options.OnlyLoadAppFromAsar), true);
  assert.equal(on(FuseV1Options.EnableCookieEncryption), true);
  assert.equal(on(FuseV1Options.GrantFileProtocolExtraPrivileges), false);
  // They were flipped: the stand-in came with Electron's stock wire.
  const stock = await getCurrentFuseWire(path.join(electronDist, 'electron'));
  assert.equal(Object.keys(stock).filter((k) => k !== 'version').length, STOCK_WIRE.length);
  assert.notDeepEqual(wireDifferences(stock, fuseSet('release')), []);
});

test('a QA build differs from the release build only in EnableNodeCliInspectArguments', async () => {
  const differ = Object.keys(fuseSet('release')).filter(
    (k) => fuseSet('release')[Number(k) as FuseV1Options] !== fuseSet('qa')[Number(k) as FuseV1Options],
  );
  assert.deepEqual(differ.map(Number), [FuseV1Options.EnableNodeCliInspectArguments]);

  const qa = await packageDir({ outDir: path.join(work, 'qa'), flavor: 'qa', electronDist, log: quiet });
  const [r, q] = [await getCurrentFuseWire(release.binary), await getCurrentFuseWire(qa.binary)];
  const fuses = Object.values(FuseV1Options).filter((v): v is FuseV1Options => typeof v === 'number');
  assert.equal(Object.keys(r).length, fuses.length + 1, 'every fuse of the wire is known');
  assert.deepEqual(
    fuses.filter((i) => r[i] !== q[i]),
    [FuseV1Options.EnableNodeCliInspectArguments],
  );
  assert.equal(q[FuseV1Options.EnableNodeCliInspectArguments], 0x31);
  // Same app inside.
  assert.ok(
    readFileSync(path.join(release.resourcesDir, 'app.asar')).equals(
      readFileSync(path.join(qa.resourcesDir, 'app.asar')),
    ),
  );
});

test('the flavour comes from TANDEM_BUILD_FLAVOR: release by default, anything unknown refused', () => {
  assert.equal(flavorFromEnv({}), 'release');
  assert.equal(flavorFromEnv({ TANDEM_BUILD_FLAVOR: 'QA' }), 'qa');
  assert.throws(() => flavorFromEnv({ TANDEM_BUILD_FLAVOR: 'debug' }), /release, qa/);
});

/** A packed app as the afterPack hook sees it, with a stand-in binary where the platform keeps it. */
async function fakeContext(platform: 'win32' | 'darwin' | 'linux', arch: 'x64' | 'arm64', keyring: string[]) {
  const appOutDir = await mkdtemp(path.join(work, `fake-${platform}-`));
  const binary =
    platform === 'win32'
      ? path.join(appOutDir, 'Tandem.exe')
      : platform === 'darwin'
        ? path.join(appOutDir, 'Tandem.app/Contents/Frameworks/Electron Framework.framework/Electron Framework')
        : path.join(appOutDir, 'tandem');
  const resources =
    platform === 'darwin' ? path.join(appOutDir, 'Tandem.app/Contents/Resources') : path.join(appOutDir, 'resources');
  await mkdir(path.dirname(binary), { recursive: true });
  await writeFile(binary, standInExecutable());
  for (const name of keyring) {
    const dir = path.join(resources, 'app.asar.unpacked/node_modules/@napi-rs', name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'keyring.node'), 'stand-in');
  }
  const context = {
    appOutDir,
    outDir: work,
    electronPlatformName: platform,
    arch: arch === 'x64' ? 1 : 3,
    targets: [],
    packager: {
      executableName: 'tandem',
      appInfo: { productFilename: 'Tandem' },
      platformSpecificBuildOptions: {},
      getResourcesDir: () => resources,
    },
  } as unknown as AfterPackContext;
  return { context, binary };
}

test('afterPack: an unsigned release build says so, and is refused where signing is required', async () => {
  const { context, binary } = await fakeContext('win32', 'x64', ['keyring-win32-x64-msvc']);
  const said: string[] = [];
  await afterPack(context, { env: {}, log: (m) => said.push(m) });
  assert.match(said.join('\n'), /UNSIGNED release build of Tandem for win32 x64/);
  assert.deepEqual(wireDifferences(await getCurrentFuseWire(binary), fuseSet('release')), []);

  await assert.rejects(afterPack(context, { env: { TANDEM_REQUIRE_SIGNING: '1' }, log: quiet }), /would be unsigned/);

  const signed: string[] = [];
  await afterPack(context, {
    env: { TANDEM_REQUIRE_SIGNING: '1', WIN_CSC_LINK: '/secure/cert.p12' },
    log: (m) => signed.push(m),
  });
  assert.match(signed.join('\n'), /will be code-signed: certificate file/);
  assert.doesNotMatch(signed.join('\n'), /UNSIGNED/);

  const qa: string[] = [];
  await afterPack(context, { env: { TANDEM_BUILD_FLAVOR: 'qa', TANDEM_REQUIRE_SIGNING: '1' }, log: (m) => qa.push(m) });
  assert.match(qa.join('\n'), /QA build of Tandem .*inspector arguments are ENABLED/);
  assert.deepEqual(wireDifferences(await getCurrentFuseWire(binary), fuseSet('qa')), []);
});

test('signing plans: macOS and Windows from the environment and the configuration, Linux by its repository', () => {
  const plan = (platform: 'darwin' | 'win32' | 'linux', env: NodeJS.ProcessEnv, options = {}) =>
    signingPlan({ platform, env, options }).status;
  assert.equal(plan('darwin', {}), 'unsigned');
  assert.equal(plan('darwin', { CSC_NAME: 'Developer ID Application: Tandem (TEAMID)' }), 'signed');
  assert.equal(plan('darwin', { CSC_LINK: 'file.p12' }, { identity: null }), 'unsigned');
  assert.equal(plan('win32', {}), 'unsigned');
  assert.equal(plan('win32', {}, { azureSignOptions: { endpoint: 'https://weu.codesigning.azure.net' } }), 'signed');
  assert.equal(plan('win32', {}, { signtoolOptions: { certificateSubjectName: 'Tandem' } }), 'signed');
  assert.equal(plan('linux', { TANDEM_REQUIRE_SIGNING: '1' }), 'repository');
});

test('afterPack refuses a package without the keychain module for its target (a cross-arch build)', async () => {
  const { context } = await fakeContext('darwin', 'arm64', ['keyring-darwin-x64']);
  await assert.rejects(afterPack(context, { env: {}, log: quiet }), /no native keychain module for darwin arm64/);
  const mac = await fakeContext('darwin', 'x64', ['keyring-darwin-x64']);
  await afterPack(mac.context, { env: { CSC_NAME: 'Developer ID Application: Tandem' }, log: quiet });
  assert.deepEqual(wireDifferences(await getCurrentFuseWire(mac.binary), fuseSet('release')), []);
});

test('icons: a 1024 px icon for macOS and Windows, and the hicolor sizes for Linux', () => {
  assert.deepEqual(pngSize(readFileSync(path.join(desktopDir, 'build/icon.png'))), { width: 1024, height: 1024 });
  for (const n of LINUX_ICON_SIZES)
    assert.deepEqual(pngSize(readFileSync(path.join(desktopDir, `build/icons/${n}x${n}.png`))), {
      width: n,
      height: n,
    });
});

test('a .deb from the unpacked app, with its control data from electron-builder.yml', async (t) => {
  if (!(await hasDpkgDeb())) return t.skip('dpkg-deb is not installed (apt-get install dpkg)');
  const { arch } = release;
  const deb = await buildDeb({ appOutDir: release.appOutDir, outDir: path.join(work, 'deb'), config, arch });
  const linux = config['linux'] as Record<string, string>;
  const debConfig = config['deb'] as Record<string, string[] | string>;
  const field = async (name: string) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
  assert.equal(path.basename(deb), `tandem_${desktopPackageJson().version}_${debArch(arch)}.deb`);
  assert.equal(await field('Package'), 'tandem');
  assert.equal(await field('Version'), desktopPackageJson().version);
  assert.equal(await field('Architecture'), debArch(arch));
  assert.equal(await field('Maintainer'), linux['maintainer']);
  assert.equal(await field('Depends'), (debConfig['depends'] as string[]).join(', '));
  assert.equal(await field('Recommends'), 'gnome-keyring');
  assert.equal(await field('Section'), debConfig['packageCategory']);
  assert.equal((await field('Description')).split('\n')[0], linux['synopsis']);

  const contents = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const entry = (p: string) => contents.split('\n').find((l) => l.endsWith(` ./${p}`) || l.includes(` ./${p} -> `));
  assert.match(entry('opt/Tandem/tandem') ?? '', /^-rwxr-xr-x root\/root/);
  assert.match(entry('opt/Tandem/chrome-sandbox') ?? '', /^-rwsr-xr-x root\/root/);
  assert.ok(entry('opt/Tandem/resources/app.asar'));
  assert.ok(
    contents.includes(`./opt/Tandem/resources/app.asar.unpacked/node_modules/@napi-rs/keyring-linux-${arch}-gnu/`),
  );
  assert.match(entry('usr/bin/tandem') ?? '', /^l.* -> \/opt\/Tandem\/tandem$/);
  assert.ok(entry('usr/share/icons/hicolor/512x512/apps/tandem.png'));

  const root = path.join(work, 'deb-root');
  await run('dpkg-deb', ['-x', deb, root]);
  const desktopFile = readFileSync(path.join(root, 'usr/share/applications/tandem.desktop'), 'utf8');
  assert.match(desktopFile, /^Exec=\/opt\/Tandem\/tandem %U$/m);
  assert.match(desktopFile, /^Icon=tandem$/m);
  assert.match(desktopFile, /^StartupWMClass=tandem$/m);
  assert.match(desktopFile, /^Categories=Office;Finance;$/m);
  assert.deepEqual(readdirSync(path.join(root, 'opt/Tandem')).sort(), readdirSync(release.appOutDir).sort());
});
