// The Electron fuses Tandem ships with: switches compiled into the Electron binary that the packager flips before
// signing (afterPack.ts), so no command-line flag or environment variable can turn them back at run time.
//
// Two flavours of the same app:
//   release  what users get;
//   qa       identical except for EnableNodeCliInspectArguments, which Playwright's _electron.launch() needs
//            (it starts the app with --inspect=0 and drives it over the inspector). Never distributed.
// Choose with TANDEM_BUILD_FLAVOR=release|qa (default release).
//
// Every fuse is set explicitly and strictlyRequireAllFuses is on: when an Electron upgrade adds a fuse, packaging
// fails until someone decides its value here.

import { FuseState, FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

export const FLAVORS = ['release', 'qa'] as const;
export type Flavor = (typeof FLAVORS)[number];

export type FuseSet = Record<FuseV1Options, boolean>;

const RELEASE: FuseSet = {
  // ELECTRON_RUN_AS_NODE would turn the signed binary into a plain Node interpreter with the app's identity (and its
  // keychain access on macOS). The P2 worker runs as an Electron utilityProcess, which does not need it.
  [FuseV1Options.RunAsNode]: false,
  // Cookies and the rest of Chromium's on-disk secrets encrypted with a key held in the OS keychain.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS could preload any script into the main process (--require).
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  // --inspect and friends would open a debugger on the main process, where the coordinator token lives.
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // Electron checks app.asar against the hash embedded at packaging (macOS Info.plist, a Windows resource; Electron
  // does not implement the check on Linux, where the fuse is inert), so a patched asar does not start.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  // Only app.asar is loaded: an app/ folder or default_app.asar dropped beside it is ignored.
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  // Tandem ships no custom V8 snapshot.
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // The renderer is served from app://, so file:// needs none of its historical extra powers.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  // Electron's default: WebAssembly bounds checks through signal handlers (the safe, fast path).
  [FuseV1Options.WasmTrapHandlers]: true,
};

export function fuseSet(flavor: Flavor): FuseSet {
  return flavor === 'qa' ? { ...RELEASE, [FuseV1Options.EnableNodeCliInspectArguments]: true } : { ...RELEASE };
}

/** The flavour asked for by TANDEM_BUILD_FLAVOR; anything but release or qa is refused rather than guessed. */
export function flavorFromEnv(env: NodeJS.ProcessEnv = process.env): Flavor {
  const raw = (env['TANDEM_BUILD_FLAVOR'] ?? '').trim().toLowerCase() || 'release';
  if (!(FLAVORS as readonly string[]).includes(raw))
    throw new Error(`TANDEM_BUILD_FLAVOR must be one of ${FLAVORS.join(', ')} (got "${env['TANDEM_BUILD_FLAVOR']}")`);
  return raw as Flavor;
}

/** What @electron/fuses' flipFuses takes for this flavour. */
export function fuseConfig(flavor: Flavor, resetAdHocDarwinSignature = false): FuseV1Config {
  return { version: FuseVersion.V1, strictlyRequireAllFuses: true, resetAdHocDarwinSignature, ...fuseSet(flavor) };
}

export const fuseName = (index: number): string => FuseV1Options[index] ?? `fuse #${index}`;

type Wire = Partial<Record<number, number>> & { version: string };

/**
 * How a binary's fuse wire (from getCurrentFuseWire) differs from a fuse set, one line per difference; empty when it
 * matches. A fuse the set does not know, or one Electron marked removed, is a difference too.
 */
export function wireDifferences(wire: Wire, expected: FuseSet): string[] {
  if (wire.version !== FuseVersion.V1) return [`fuse wire version ${wire.version}, expected ${FuseVersion.V1}`];
  const out: string[] = [];
  const indexes = new Set([
    ...Object.keys(expected).map(Number),
    ...Object.keys(wire)
      .filter((k) => k !== 'version')
      .map(Number),
  ]);
  for (const i of [...indexes].sort((a, b) => a - b)) {
    const want = (expected as Partial<Record<number, boolean>>)[i];
    const got = wire[i];
    const state =
      got === FuseState.ENABLE ? 'on' : got === FuseState.DISABLE ? 'off' : got === undefined ? 'absent' : 'removed';
    if (want === undefined) out.push(`${fuseName(i)} is ${state} in the binary but not decided in fuses.ts`);
    else if (state !== (want ? 'on' : 'off')) out.push(`${fuseName(i)} is ${state}, expected ${want ? 'on' : 'off'}`);
  }
  return out;
}
