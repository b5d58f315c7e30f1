// The renderer's Content Security Policy, in one place: index.html carries it as a meta tag (vite.config.ts fails the
// build when the two differ), and the Electron shell and tests can assert the same string. No inline script or style
// is allowed, so the page can only run the bundle it was built with; ws://127.0.0.1 is the development shell's IPC.

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:*",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');
