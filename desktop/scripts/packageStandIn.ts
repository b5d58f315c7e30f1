// A stand-in for Electron's linux zip, for machines that cannot download Electron (this one): the same layout
// (an `electron` executable, resources/, locales/, chrome-sandbox, LICENSE, version), so electron-builder packs the
// app around it exactly as around the real thing, and an executable that carries a fuse wire where
// @electron/fuses looks for one, so the fuses can be flipped and read back. It cannot run the app: started, it says
// so and exits 1. A package made with it is for checking the packaging, never for anyone to install.
//
//   npx tsx desktop/scripts/packageStandIn.ts DIR      # then: npx electron-builder --dir --linux -c.electronDist=DIR

import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const STAND_IN_NOTICE = 'stand-in Electron: this package cannot run';

/** What @electron/fuses searches an Electron binary for (its constants.ts; not exported by the package). */
export const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

/**
 * The fuse wire of a stock Electron 39 (one character per fuse, in FuseV1Options order): RunAsNode on, cookie
 * encryption off, NODE_OPTIONS on, inspect arguments on, asar integrity off, only-asar off, V8 snapshot off,
 * file:// privileges on, Wasm trap handlers on.
 */
export const STOCK_WIRE = '101100011';

/**
 * The stand-in executable: a shell script, so it explains itself when started, whose last line is a comment
 * holding what @electron/fuses scans an Electron binary for: the sentinel, the wire's version byte (1), its length
 * byte, then one byte per fuse ('0' off, '1' on, 'r' removed).
 */
export function standInExecutable(wire = STOCK_WIRE): Buffer {
  return Buffer.concat([
    Buffer.from(`#!/bin/sh\necho '${STAND_IN_NOTICE}' >&2\nexit 1\n# `, 'latin1'),
    Buffer.from(SENTINEL, 'latin1'),
    Buffer.from([1, wire.length]),
    Buffer.from(`${wire}\n`, 'latin1'),
  ]);
}

export async function createStandInElectron(dir: string, version: string): Promise<string> {
  await mkdir(path.join(dir, 'resources'), { recursive: true });
  await mkdir(path.join(dir, 'locales'), { recursive: true });
  const placeholder = `${STAND_IN_NOTICE}\n`;
  await writeFile(path.join(dir, 'electron'), standInExecutable());
  await chmod(path.join(dir, 'electron'), 0o755);
  // The real zip's chrome-sandbox is the setuid helper for systems without user namespaces.
  await writeFile(path.join(dir, 'chrome-sandbox'), `#!/bin/sh\necho '${STAND_IN_NOTICE}' >&2\nexit 1\n`);
  await chmod(path.join(dir, 'chrome-sandbox'), 0o755);
  await writeFile(path.join(dir, 'version'), version);
  await writeFile(path.join(dir, 'LICENSE'), placeholder);
  await writeFile(path.join(dir, 'LICENSES.chromium.html'), placeholder);
  await writeFile(path.join(dir, 'resources.pak'), placeholder);
  await writeFile(path.join(dir, 'locales', 'en-US.pak'), placeholder);
  // No resources/default_app.asar: Electron's fallback app has no place in a package.
  return dir;
}

/** Whether an Electron distribution is this stand-in (its executable says so; the real one is 100+ MB). */
export function isStandIn(dir: string): boolean {
  const exe = path.join(dir, 'electron');
  return existsSync(exe) && statSync(exe).size < 4096 && readFileSync(exe, 'latin1').includes(STAND_IN_NOTICE);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: tsx desktop/scripts/packageStandIn.ts DIR');
    process.exit(2);
  }
  const { electronVersion } = await import('./package.ts');
  await createStandInElectron(path.resolve(dir), electronVersion());
  console.warn(`${STAND_IN_NOTICE}: made in ${path.resolve(dir)}`);
  console.warn(`npx electron-builder --dir --linux -c.electronDist=${path.resolve(dir)}`);
}
