// Packages the desktop app as electron-builder.yml says, into an unpacked directory (electron-builder's --dir), and
// on Linux into a .deb (packageDeb.ts) when asked:
//
//   npm run -w desktop package:dir       # desktop/release/local/<flavour>/<platform>-unpacked
//   npm run -w desktop package:deb       # the same, then desktop/release/local/<flavour>/tandem_<version>_<arch>.deb
//   TANDEM_BUILD_FLAVOR=qa npm run -w desktop package:dir
//
// It builds desktop/dist first when the sources are newer than it. It packs around the real Electron
// (node_modules/electron/dist) when npm could download it, for this machine's platform and arch. Where it could not
// (this machine), it packs a Linux layout around a stand-in (packageStandIn.ts) and says so loudly: such a package
// shows what would be shipped, with its fuses, but cannot run. Release installers are made on release machines with
// electron-builder itself (docs/release-guide.md).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Arch, Platform, build, log as builderLog } from 'electron-builder';
import { buildApp } from './buildApp.ts';
import { type Flavor, flavorFromEnv } from './fuses.ts';
import { type BuilderConfig, desktopDir, loadBuilderConfig, repoRoot } from './packageConfig.ts';
import { STAND_IN_NOTICE, createStandInElectron, isStandIn } from './packageStandIn.ts';

const require = createRequire(import.meta.url);
const electronPackageDir = () => path.dirname(require.resolve('electron/package.json'));

/** The Electron version installed in node_modules: the one the app is built and typed against. */
export function electronVersion(): string {
  return (JSON.parse(readFileSync(path.join(electronPackageDir(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** node_modules/electron/dist when npm managed to download Electron (its install script writes path.txt last). */
export function realElectronDist(): string | null {
  const dir = electronPackageDir();
  return existsSync(path.join(dir, 'path.txt')) && existsSync(path.join(dir, 'dist')) ? path.join(dir, 'dist') : null;
}

const BUILT = [
  'dist/electron/main.js',
  'dist/electron/preload.cjs',
  'dist/worker/p2Worker.js',
  'dist/renderer/index.html',
];
// What the bundles are made from: the desktop's sources, the workspaces they inline, and the lockfile.
const INPUTS = [
  'desktop/src',
  'desktop/renderer',
  'desktop/scripts/buildApp.ts',
  'desktop/package.json',
  'tecdsa/src',
  'common/src',
  'proto/src',
  'package-lock.json',
];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((e) => newestMtime(path.join(p, e))));
}

/** Builds desktop/dist unless every output is newer than every input (so another test's build is reused). */
export async function ensureAppBuilt(log: (m: string) => void = console.log): Promise<'built' | 'up to date'> {
  const outputs = BUILT.map((f) => path.join(desktopDir, f));
  const oldestOutput = Math.min(...outputs.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  const newestInput = Math.max(...INPUTS.map((p) => newestMtime(path.join(repoRoot, p))));
  if (oldestOutput > newestInput) return 'up to date';
  log('Tandem: building desktop/dist (npm run -w desktop build:app)');
  await buildApp();
  return 'built';
}

export interface PackageOptions {
  /** Where electron-builder writes (directories.output). */
  outDir: string;
  flavor?: Flavor;
  /** An Electron distribution to pack around; by default the real one if present, else a stand-in. */
  electronDist?: string;
  log?: (message: string) => void;
}

export interface PackageResult {
  flavor: Flavor;
  standIn: boolean;
  platform: 'linux' | 'darwin' | 'win32';
  arch: 'x64' | 'arm64';
  /** The unpacked app, e.g. <outDir>/linux-unpacked. */
  appOutDir: string;
  /** The file that carries the fuses. */
  binary: string;
  /** Where app.asar and app.asar.unpacked are. */
  resourcesDir: string;
  config: BuilderConfig;
}

/**
 * Sends electron-builder's log to `log` a whole line at a time, for the call's duration. It writes each line in pieces
 * straight to stdout, where node --test expects its own messages from a test process.
 */
async function withBuilderLog<T>(log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const logger = builderLog as unknown as { stream: NodeJS.WritableStream };
  const saved = logger.stream;
  let pending = '';
  logger.stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line);
      done();
    },
  });
  try {
    return await fn();
  } finally {
    if (pending) log(pending);
    logger.stream = saved;
  }
}

function hostArch(): 'x64' | 'arm64' {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  throw new Error(`packaging on ${process.arch} is not supported (x64 and arm64 only)`);
}

/** electron-builder --dir, programmatically, with electron-builder.yml and only what a local run must change. */
export async function packageDir(opts: PackageOptions): Promise<PackageResult> {
  const log = opts.log ?? console.log;
  const flavor = opts.flavor ?? flavorFromEnv();
  let electronDist = opts.electronDist ?? realElectronDist();
  let standInDir: string | null = null;
  if (!electronDist) {
    standInDir = await mkdtemp(path.join(tmpdir(), 'tandem-electron-stand-in-'));
    electronDist = await createStandInElectron(standInDir, electronVersion());
  }
  const standIn = isStandIn(electronDist);
  if (standIn) log(`Tandem: ${STAND_IN_NOTICE} (packing around ${electronDist})`);
  // The stand-in has Linux's layout; the real Electron is this machine's.
  const platform = standIn ? 'linux' : (process.platform as PackageResult['platform']);
  const arch = hostArch();
  const config = loadBuilderConfig();
  const target = { linux: Platform.LINUX, darwin: Platform.MAC, win32: Platform.WINDOWS }[platform];
  if (!target) throw new Error(`cannot package on ${process.platform}`);

  // The hook reads the flavour from the environment, as it does under the electron-builder CLI.
  const savedFlavor = process.env['TANDEM_BUILD_FLAVOR'];
  process.env['TANDEM_BUILD_FLAVOR'] = flavor;
  try {
    await rm(opts.outDir, { recursive: true, force: true });
    await withBuilderLog(log, () =>
      build({
        projectDir: repoRoot,
        targets: target.createTarget(['dir'], Arch[arch]),
        publish: 'never',
        // Merged over electron-builder.yml, which electron-builder still reads from projectDir.
        config: {
          directories: { output: opts.outDir },
          electronDist,
          electronVersion: electronVersion(),
          // The CLI resolves a relative hook path against the working directory; npm runs this script in desktop/.
          afterPack: path.resolve(repoRoot, String(config['afterPack'])),
        },
      }),
    );
  } finally {
    if (savedFlavor === undefined) delete process.env['TANDEM_BUILD_FLAVOR'];
    else process.env['TANDEM_BUILD_FLAVOR'] = savedFlavor;
    if (standInDir) await rm(standInDir, { recursive: true, force: true });
  }

  const unpacked = readdirSync(opts.outDir).filter((n) => /-unpacked$/.test(n) || /^mac(-arm64)?$/.test(n));
  if (unpacked.length !== 1)
    throw new Error(`expected one unpacked app in ${opts.outDir}, found: ${unpacked.join(', ')}`);
  const appOutDir = path.join(opts.outDir, unpacked[0]!);
  const productName = String(config['productName']);
  const linux = (config['linux'] ?? {}) as { executableName?: string };
  const binary =
    platform === 'linux'
      ? path.join(appOutDir, linux.executableName ?? productName)
      : path.join(appOutDir, platform === 'win32' ? `${productName}.exe` : `${productName}.app`);
  const resourcesDir =
    platform === 'darwin' ? path.join(binary, 'Contents', 'Resources') : path.join(appOutDir, 'resources');
  if (standIn) log(`Tandem: ${STAND_IN_NOTICE}: ${appOutDir} is for inspection only`);
  return { flavor, standIn, platform, arch, appOutDir, binary, resourcesDir, config };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wantDeb = process.argv.includes('--deb');
  const flavor = flavorFromEnv();
  await ensureAppBuilt();
  const outDir = path.join(desktopDir, 'release', 'local', flavor);
  const result = await packageDir({ outDir, flavor });
  console.log(`Tandem: ${flavor} app in ${result.appOutDir}`);
  if (wantDeb) {
    const { buildDeb } = await import('./packageDeb.ts');
    if (result.platform !== 'linux') throw new Error('a .deb is built on Linux only');
    const deb = await buildDeb({ appOutDir: result.appOutDir, outDir, config: result.config, arch: result.arch });
    console.log(`Tandem: ${deb}${result.standIn ? ` (${STAND_IN_NOTICE})` : ''}`);
  }
}
