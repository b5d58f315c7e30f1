// Everything the Electron shell decides about trust, as plain functions: the window's web preferences, which URLs
// count as the app, what a web contents may do (navigate, open windows, attach webviews, ask for permissions), the
// CSP, how renderer files are served, and who sent an IPC call. main.ts only wires these to Electron, so they are
// tested without the Electron binary (test/electron.security.test.ts). Only types are imported from 'electron'.
//
// The renderer is treated as untrusted: it holds no secret and can reach main only through the one preload bridge,
// whose every call main validates (channels.ts) and checks the sender of (senderInfo below, then dispatch).

import type { BrowserWindowConstructorOptions, Privileges } from 'electron';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CSP } from '../../renderer/csp.ts';

/** The packaged renderer is served from app://tandem/: a privileged standard scheme, so it has a real origin. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'tandem';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** The two IPC channel names: renderer → main calls, main → renderer events (preload.ts spells the same). */
export const IPC_INVOKE = 'tandem:invoke';
export const IPC_EVENT = 'tandem:event';

/**
 * Standard: a real origin, relative URLs and storage work. Secure: a secure context, so no mixed-content downgrade.
 * Deliberately not bypassCSP (our CSP must apply), not corsEnabled (nothing else may read app:// cross-origin),
 * not allowServiceWorkers (nothing should outlive a page load).
 */
export const APP_SCHEME_PRIVILEGES: Privileges = { standard: true, secure: true };

/** The one window's options. Every flag is spelled out, even defaults, so a reviewer sees them and tests pin them. */
export function windowOptions(opts: { preload: string; release: boolean }): BrowserWindowConstructorOptions {
  return {
    title: 'Tandem',
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 640,
    // Shown on 'ready-to-show', so the user never sees a blank or half-drawn window.
    show: false,
    backgroundColor: '#f5f6f8',
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      plugins: false,
      enableWebSQL: false,
      // Linux spellchecking downloads dictionaries, and nothing typed here (names, addresses, amounts) needs it.
      spellcheck: false,
      // A released build has no devtools: they would let anyone at the desk drive the renderer's bridge.
      devTools: !opts.release,
      // Dropping a file on the window must not navigate away from the app.
      navigateOnDragDrop: false,
      // A page looping alert() cannot lock the user out.
      safeDialogs: true,
    },
  };
}

const SPECIAL = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:']);

/**
 * The origin of a URL as Chromium sees it for our schemes, or null when it has none we would trust. Node's URL gives
 * 'null' as the origin of any non-special scheme (app:), so the origin is built from protocol and host here.
 * Userinfo is refused outright: `app://tandem@evil/` is host `evil`, and no link of ours carries credentials.
 */
export function originOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '') return null;
  if (SPECIAL.has(u.protocol)) return u.origin;
  // file:, data:, blob:, javascript:, about:… have no host: never the app.
  if (u.host === '') return null;
  // Chromium lowercases the host of a standard scheme; Node keeps an opaque host's case. Percent-escapes and a
  // trailing dot stay as they are, so `app://tand%65m` and `app://tandem.` do not compare equal: refusing is safe.
  return `${u.protocol}//${u.host.toLowerCase()}`;
}

/** True only when `url` has exactly the app's origin (scheme, host and port): parsed, never a string prefix. */
export function isAppUrl(url: string, appOrigin: string): boolean {
  const want = originOf(appOrigin);
  return want !== null && originOf(url) === want;
}

/** Hosts whose https pages the app may open in the user's browser. Empty by default; IT or the shell may add some. */
export const EXTERNAL_HOSTS: readonly string[] = [];

/** An https URL on an allowlisted host (exact match, default port, no userinfo); mailto:, http:, file: are refused. */
export function isAllowedExternal(url: string, hosts: readonly string[] = EXTERNAL_HOSTS): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.port !== '') return false;
  return hosts.some((h) => h.toLowerCase() === u.hostname);
}

/** What hardenContents needs of a preventable Electron event. */
export interface PreventableEvent {
  preventDefault(): void;
  /** Electron ≥ 25 puts the target on the event too; the deprecated second argument carries it as well. */
  url?: string;
}

/** The parts of Electron's Session that hardenContents uses. */
export interface SessionLike {
  setPermissionRequestHandler(
    handler: ((webContents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null,
  ): void;
  setPermissionCheckHandler(handler: ((webContents: unknown, permission: string) => boolean) | null): void;
  setDevicePermissionHandler?(handler: ((details: unknown) => boolean) | null): void;
}

/** The parts of Electron's WebContents that hardenContents uses (a structural type, so tests pass a fake). */
export interface ContentsLike {
  // One overload per event, so Electron's own overloaded WebContents is assignable to this.
  on(event: 'will-navigate', listener: NavigationListener): unknown;
  on(event: 'will-redirect', listener: NavigationListener): unknown;
  on(event: 'will-frame-navigate', listener: NavigationListener): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'devtools-opened', listener: () => void): unknown;
  on(event: 'render-process-gone', listener: (event: unknown, details: GoneDetails) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  closeDevTools(): void;
  readonly session: SessionLike;
}

type NavigationListener = (event: PreventableEvent, url?: string) => void;

export interface GoneDetails {
  reason: string;
  exitCode: number;
}

export interface HardenOptions {
  appOrigin: string;
  release: boolean;
  /** Opens an allowlisted https URL in the user's browser (main passes shell.openExternal). */
  openExternal: (url: string) => unknown;
  /** Allowlist for openExternal; EXTERNAL_HOSTS by default. */
  externalHosts?: readonly string[];
  /** Told when a renderer crashes or is killed, for the log. */
  onRenderProcessGone?: (details: GoneDetails) => void;
}

/** Locks a web contents to the app: called for every one Electron creates ('web-contents-created'). */
export function hardenContents(contents: ContentsLike, opts: HardenOptions): void {
  const stayInApp: NavigationListener = (event, url) => {
    // A missing URL is treated as foreign: fail closed.
    if (!isAppUrl(event.url ?? url ?? '', opts.appOrigin)) event.preventDefault();
  };
  contents.on('will-navigate', stayInApp);
  contents.on('will-redirect', stayInApp);
  // Subframes too (the CSP already forbids frames; this is the second lock).
  contents.on('will-frame-navigate', stayInApp);

  // webviewTag is off; should one ever be attached anyway, refuse it.
  contents.on('will-attach-webview', (event) => event.preventDefault());

  // No new windows, ever. An allowlisted documentation link goes to the user's browser instead.
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url, opts.externalHosts)) {
      Promise.resolve()
        .then(() => opts.openExternal(url))
        .catch(() => undefined);
    }
    return { action: 'deny' };
  });

  // The app needs no camera, location, clipboard read, notifications API (main shows those), USB, HID, serial…
  const session = contents.session;
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler?.(() => false);

  contents.on('devtools-opened', () => {
    if (opts.release) contents.closeDevTools();
  });
  contents.on('render-process-gone', (_event, details) => opts.onRenderProcessGone?.(details));
}

/**
 * The renderer's CSP, from its one home (desktop/renderer/csp.ts, which index.html's meta tag must match). It allows
 * ws://127.0.0.1 for the development shell; the packaged app's header (packagedCsp) removes that source, and since a
 * page enforces every policy it gets, the header wins over the meta tag's looser connect-src.
 */
export { CSP };

/** The packaged app's CSP: the development shell's loopback WebSocket source removed. */
export function packagedCsp(csp: string = CSP): string {
  return csp
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((directive) => {
      const [name, ...sources] = directive.split(/\s+/);
      if (name !== 'connect-src') return directive;
      const kept = sources.filter((s) => !/^wss?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/i.test(s));
      return `connect-src ${kept.length > 0 ? kept.join(' ') : "'none'"}`;
    })
    .join('; ');
}

type Headers = Record<string, string | string[]>;

/**
 * Response headers with our CSP added (for protocol.handle and webRequest.onHeadersReceived). An existing policy is
 * kept beside ours: a browser enforces every policy it gets, so adding can only tighten.
 */
export function cspHeaders(responseHeaders: Headers | undefined, csp: string = packagedCsp()): Headers {
  const out: Headers = { ...responseHeaders };
  const key = Object.keys(out).find((k) => k.toLowerCase() === 'content-security-policy');
  if (key === undefined) {
    out['Content-Security-Policy'] = [csp];
  } else {
    const existing = out[key] ?? [];
    out[key] = [...(Array.isArray(existing) ? existing : [existing]), csp];
  }
  return out;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` that an app:// URL names, or null (another origin, a path that leaves `root`, a NUL, a
 * malformed escape). `..` and `%2e%2e` are already folded by URL parsing; `%2f`-smuggled ones are caught by the
 * containment check, which also covers Windows backslashes.
 */
export function rendererFile(root: string, url: string, appOrigin: string = APP_ORIGIN): string | null {
  if (!isAppUrl(url, appOrigin)) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0')) return null;
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${pathname}`);
  const rel = path.relative(base, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return file;
}

/** A protocol.handle handler serving the built renderer from `root`: GET/HEAD only, unknown → 404, CSP on all. */
export function rendererHandler(root: string, appOrigin: string = APP_ORIGIN) {
  const headers = (type?: string): Headers => ({
    ...cspHeaders({}),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    ...(type ? { 'Content-Type': type } : {}),
  });
  const plain = (status: number) => new Response(null, { status, headers: flatten(headers()) });
  return async (request: { url: string; method: string }): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405);
    const file = rendererFile(root, request.url, appOrigin);
    const type = file ? CONTENT_TYPES[path.extname(file).toLowerCase()] : undefined;
    if (!file || !type) return plain(404);
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return plain(404);
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: flatten(headers(type)),
    });
  };
}

const flatten = (h: Headers): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));

/** Who sent an IPC call: the frame's URL and whether it is the top frame. A destroyed frame yields '' (refused). */
export function senderInfo(event: { senderFrame: { url: string; parent: unknown } | null }): {
  url: string;
  topFrame: boolean;
} {
  try {
    const frame = event.senderFrame;
    if (!frame) return { url: '', topFrame: false };
    return { url: typeof frame.url === 'string' ? frame.url : '', topFrame: frame.parent === null };
  } catch {
    // Reading a frame that went away mid-call can throw: treat it as no sender.
    return { url: '', topFrame: false };
  }
}
