// The built renderer (desktop/dist/renderer) for the development shell and the Playwright specs: built with Vite
// when missing or older than any renderer source, so `npm start` and the specs always serve the current code.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const desktopDir = fileURLToPath(new URL('../..', import.meta.url));
export const RENDERER_SRC = join(desktopDir, 'renderer');
export const RENDERER_DIST = join(desktopDir, 'dist', 'renderer');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export async function ensureRendererBuilt(): Promise<string> {
  const index = join(RENDERER_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(RENDERER_SRC)) return RENDERER_DIST;
  const { build } = await import('vite');
  await build({ configFile: join(RENDERER_SRC, 'vite.config.ts'), logLevel: 'warn' });
  return RENDERER_DIST;
}
