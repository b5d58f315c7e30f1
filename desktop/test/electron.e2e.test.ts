// The treasury story (ui/story.ts) through the same page objects in the real Electron app, driven by Playwright's
// _electron: one app instance (its own profile) per person. It needs an Electron binary, which this project's machines
// cannot download (see ../shared/ENVIRONMENT.md): where none is installed the whole spec is skipped and says so.
// To run it elsewhere: TANDEM_FETCH_ELECTRON=1 bash scripts/setup.sh (or `npx electron --version` after a normal
// npm install with network), then this file's test command.

import { test, before, after } from 'node:test';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication } from 'playwright-core';
import { buildApp } from '../scripts/buildApp.ts';
import { stackDefaults, startStack, type Stack } from './appHarness.ts';
import { TandemApp } from './ui/pages.ts';
import { treasuryStory } from './ui/story.ts';

/** The Electron binary's path, or why there is none. */
function electronBinary(): { path: string } | { missing: string } {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    if (typeof p === 'string' && existsSync(p)) return { path: p };
    return { missing: `the electron package points at ${String(p)}, which does not exist` };
  } catch (e) {
    return { missing: `no Electron binary is installed (${(e as Error).message.split('\n')[0]})` };
  }
}

const binary = electronBinary();
if ('missing' in binary) {
  test(
    `the treasury story in the Electron app: SKIPPED, ${binary.missing}; it runs where an Electron binary exists`,
    {
      skip: binary.missing,
    },
    () => {},
  );
} else {
  const desktopDir = fileURLToPath(new URL('..', import.meta.url));
  let s: Stack;
  let rootPassword: string;
  const apps: ElectronApplication[] = [];
  const errorsOf = new Map<TandemApp, string[]>();

  before(async () => {
    await buildApp();
    s = await startStack();
    rootPassword = (await s.user('root', ['admin'])).password;
  });
  after(async () => {
    for (const a of apps) await a.close();
    await s?.close();
  });

  treasuryStory({
    stack: () => s,
    rootPassword: () => rootPassword,
    errorsOf: (a) => errorsOf.get(a) ?? [],
    async open(who) {
      const d = stackDefaults(s);
      const app = await _electron.launch({
        executablePath: binary.path,
        args: [desktopDir],
        env: {
          ...process.env,
          TANDEM_PROFILE_DIR: await mkdtemp(path.join(tmpdir(), `tandem-electron-${who}-`)),
          TANDEM_POLICY_FILE: path.join(tmpdir(), 'tandem-no-policy.json'),
          TANDEM_COORDINATOR_URL: d.coordinatorUrl,
          TANDEM_COORDINATOR_CA_FILE: d.coordinatorCaFile!,
          TANDEM_SIGNER_PUBLIC_KEY: d.signerPublicKey,
          TANDEM_CHAIN_ID: String(d.chainId),
        },
      });
      apps.push(app);
      const page = await app.firstWindow();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const t = new TandemApp(page, `electron-${who}`);
      errorsOf.set(t, errors);
      return t;
    },
  });
}
