// electron-builder's afterPack hook (wired in electron-builder.yml through afterPack.mjs): runs on the unpacked app,
// after app.asar is written and before anything is signed, so the fuses are flipped in the binary that gets signed.
//
//   1. The native keychain module for the target platform and arch is in app.asar.unpacked (npm installs only the
//      host's; a cross-arch build would otherwise ship an app that cannot open its vault).
//   2. The flavour's fuses (fuses.ts, TANDEM_BUILD_FLAVOR) are flipped and read back.
//   3. Signing: a release build that will not be code-signed says so in a banner; with TANDEM_REQUIRE_SIGNING=1 (set
//      it on release machines) it fails instead. Linux packages are not code-signed: their trust is the apt
//      repository's signature.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { flipFuses, getCurrentFuseWire } from '@electron/fuses';
import type { AfterPackContext } from 'electron-builder';
import { type Flavor, flavorFromEnv, fuseConfig, fuseSet, wireDifferences } from './fuses.ts';

// builder-util's Arch enum, by value (a type-only import keeps electron-builder out of this module's load).
const ARCH_NAMES = ['ia32', 'x64', 'armv7l', 'arm64', 'universal'] as const;
export const archName = (arch: number): string => ARCH_NAMES[arch] ?? `arch ${arch}`;

type Platform = 'darwin' | 'mas' | 'win32' | 'linux';

/** The file the fuses live in, as electron-builder names the packed executable. */
export function packedBinary(
  context: Pick<AfterPackContext, 'appOutDir' | 'electronPlatformName' | 'packager'>,
): string {
  const { appOutDir, electronPlatformName, packager } = context;
  if (electronPlatformName === 'linux')
    return path.join(appOutDir, (packager as unknown as { executableName: string }).executableName);
  const ext = electronPlatformName === 'win32' ? '.exe' : '.app';
  return path.join(appOutDir, `${packager.appInfo.productFilename}${ext}`);
}

/** The @napi-rs/keyring platform package a target needs, e.g. keyring-linux-x64-gnu (prefix match). */
export function keyringPackagePrefix(platform: string, arch: number): string {
  const napiArch: Record<string, string> = { ia32: 'ia32', x64: 'x64', armv7l: 'arm', arm64: 'arm64' };
  const os = platform === 'mas' ? 'darwin' : platform;
  // A universal macOS app is merged from the two single-arch builds, each already checked.
  return archName(arch) === 'universal'
    ? `keyring-${os}-`
    : `keyring-${os}-${napiArch[archName(arch)] ?? archName(arch)}`;
}

export function checkNativeModule(resourcesDir: string, platform: string, arch: number): string {
  const dir = path.join(resourcesDir, 'app.asar.unpacked', 'node_modules', '@napi-rs');
  const prefix = keyringPackagePrefix(platform, arch);
  const found = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(prefix)) : [];
  const withBinary = found.filter((n) => readdirSync(path.join(dir, n)).some((f) => f.endsWith('.node')));
  if (withBinary.length === 0)
    throw new Error(
      `The packed app has no native keychain module for ${platform} ${archName(arch)} (@napi-rs/${prefix}*, ` +
        `unpacked under ${dir}). npm installs only the host's; build on a matching machine or install that ` +
        `platform package first (see docs/release-guide.md).`,
    );
  return path.join(dir, withBinary[0]!);
}

export interface SigningInput {
  platform: Platform;
  env: NodeJS.ProcessEnv;
  /** The platform section of the configuration (mac or win), as electron-builder resolved it. */
  options: Record<string, unknown>;
}

export interface SigningPlan {
  status: 'signed' | 'unsigned' | 'repository';
  how: string;
}

const set = (v: unknown) => typeof v === 'string' && v.trim() !== '';

/** Whether electron-builder is configured to code-sign this build, from the environment and the configuration. */
export function signingPlan({ platform, env, options }: SigningInput): SigningPlan {
  if (platform === 'linux')
    return { status: 'repository', how: 'Linux packages are not code-signed; sign the apt repository or the .deb' };
  if (platform === 'win32') {
    const signtool = (options['signtoolOptions'] ?? {}) as Record<string, unknown>;
    if (options['azureSignOptions']) return { status: 'signed', how: 'Azure Trusted Signing (win.azureSignOptions)' };
    if (set(env['WIN_CSC_LINK']) || set(env['CSC_LINK']))
      return { status: 'signed', how: 'certificate file (CSC_LINK)' };
    if (set(signtool['certificateSubjectName']) || set(signtool['certificateSha1']))
      return { status: 'signed', how: 'certificate from the Windows store (signtoolOptions)' };
    if (signtool['sign']) return { status: 'signed', how: 'custom signtoolOptions.sign' };
    return {
      status: 'unsigned',
      how: 'no WIN_CSC_LINK / CSC_LINK, no signtoolOptions certificate, no azureSignOptions',
    };
  }
  if (options['identity'] === null) return { status: 'unsigned', how: 'mac.identity is null' };
  if (set(env['CSC_LINK'])) return { status: 'signed', how: 'certificate file (CSC_LINK)' };
  if (set(env['CSC_NAME']) || set(options['identity']))
    return { status: 'signed', how: 'keychain identity (CSC_NAME / mac.identity)' };
  return {
    status: 'unsigned',
    how: 'no CSC_LINK, CSC_NAME or mac.identity (electron-builder may still find a keychain identity; name it to be sure)',
  };
}

export function unsignedBanner(platform: string, arch: string, how: string): string {
  const bar = '='.repeat(78);
  return [
    bar,
    `UNSIGNED release build of Tandem for ${platform} ${arch}: ${how}.`,
    'For local testing only: do not distribute it. Users would see OS warnings, and nothing proves it is ours.',
    'To sign, see docs/release-guide.md. Set TANDEM_REQUIRE_SIGNING=1 on release machines to make this an error.',
    bar,
  ].join('\n');
}

export function qaBanner(platform: string, arch: string): string {
  const bar = '='.repeat(78);
  return [
    bar,
    `QA build of Tandem for ${platform} ${arch}: Node inspector arguments are ENABLED (for Playwright).`,
    'Anyone who can start it can debug the main process. Never distribute it to users.',
    bar,
  ].join('\n');
}

export interface AfterPackOptions {
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

export async function afterPack(context: AfterPackContext, opts: AfterPackOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((m: string) => console.warn(m));
  const flavor: Flavor = flavorFromEnv(env);
  const platform = context.electronPlatformName as Platform;
  const arch = archName(context.arch);

  checkNativeModule(context.packager.getResourcesDir(context.appOutDir), platform, context.arch);

  const binary = packedBinary(context);
  // Flipping fuses breaks the ad-hoc signature every arm64 macOS binary must carry; re-sign ad hoc (a real identity
  // signs over it later).
  const isMac = platform === 'darwin' || platform === 'mas';
  await flipFuses(binary, fuseConfig(flavor, isMac && (arch === 'arm64' || arch === 'universal')));
  const differences = wireDifferences(await getCurrentFuseWire(binary), fuseSet(flavor));
  if (differences.length > 0) throw new Error(`fuses not as set in ${binary}:\n  ${differences.join('\n  ')}`);
  log(`Tandem: ${flavor} fuses set on ${binary}`);

  if (flavor === 'qa') log(qaBanner(platform, arch));
  const plan = signingPlan({ platform, env, options: context.packager.platformSpecificBuildOptions });
  if (plan.status === 'signed') log(`Tandem: this build will be code-signed: ${plan.how}`);
  else if (plan.status === 'repository') log(`Tandem: ${plan.how}`);
  else if (flavor === 'release') {
    if (env['TANDEM_REQUIRE_SIGNING'] === '1')
      throw new Error(`TANDEM_REQUIRE_SIGNING=1 but this release build would be unsigned: ${plan.how}`);
    log(unsignedBanner(platform, arch, plan.how));
  } else log(`Tandem: this QA build is unsigned (${plan.how})`);
}
