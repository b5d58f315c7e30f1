// Builds the renderer into desktop/dist/renderer, loaded by Electron from disk and by the development shell over
// http://127.0.0.1. Relative asset paths (base './') work for both.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { CSP } from './csp.ts';

const CSP_META = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/gi;

/**
 * Fails the build when index.html's CSP drifts from csp.ts, or when the emitted page gains an inline script or
 * style: either would make the policy the shell asserts differ from the one the page enforces.
 */
function cspGuard(): Plugin {
  return {
    name: 'tandem-csp-guard',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const metas = [...html.matchAll(CSP_META)];
        if (metas.length !== 1)
          throw new Error(`index.html must carry exactly one CSP meta tag, found ${metas.length}`);
        if (metas[0]?.[1] !== CSP) throw new Error('index.html CSP differs from desktop/renderer/csp.ts');
        if (/<script\b(?![^>]*\bsrc=)[^>]*>/i.test(html)) throw new Error('index.html has an inline <script>');
        if (/<style\b/i.test(html) || /\sstyle="/i.test(html)) throw new Error('index.html has inline styles');
        return html;
      },
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react(), cspGuard()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: false,
  },
});
