// Builds what the Electron app loads, under desktop/dist/ (the layout src/electron/main.ts expects):
//   dist/renderer/          the React renderer (renderer/vite.config.ts)
//   dist/electron/main.js   the main process, ESM, self-contained but for electron and the native keychain module
//                           (@napi-rs/keyring must stay a real file: the packager unpacks it from the asar)
//   dist/electron/preload.cjs  the preload, CommonJS and self-contained: a sandboxed preload can require only electron
//   dist/worker/p2Worker.js    the P2 worker, loaded by main for each job
// No source maps: the package must not carry them.
//
//   npm run -w desktop build:app

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig } from 'vite';

const desktop = fileURLToPath(new URL('..', import.meta.url));

/** A Node-side bundle of one entry. */
function nodeEntry(entry: string, outDir: string, fileName: string, format: 'es' | 'cjs'): InlineConfig {
  return {
    configFile: false,
    root: desktop,
    logLevel: 'warn',
    ssr: { noExternal: true, external: ['electron', '@napi-rs/keyring'] },
    build: {
      ssr: join(desktop, entry),
      outDir: join(desktop, outDir),
      emptyOutDir: false,
      sourcemap: false,
      minify: false,
      target: 'node20',
      rollupOptions: { output: { format, entryFileNames: fileName, codeSplitting: false } },
    },
  };
}

export async function buildApp(): Promise<void> {
  await build({ configFile: join(desktop, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
  await build(nodeEntry('src/electron/main.ts', 'dist/electron', 'main.js', 'es'));
  await build(nodeEntry('src/electron/preload.ts', 'dist/electron', 'preload.cjs', 'cjs'));
  await build(nodeEntry('src/worker/p2Worker.ts', 'dist/worker', 'p2Worker.js', 'es'));
}

if (import.meta.url === `file://${process.argv[1]}`) await buildApp();
