// The Electron shell's security decisions, tested without Electron: security.ts is plain code, main.ts and preload.ts
// are checked as source, and a scan of desktop's code stands in for Electronegativity's checks that apply to us.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import {
  APP_ORIGIN,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  CSP,
  EXTERNAL_HOSTS,
  IPC_EVENT,
  IPC_INVOKE,
  type ContentsLike,
  type GoneDetails,
  cspHeaders,
  hardenContents,
  isAllowedExternal,
  isAppUrl,
  packagedCsp,
  rendererFile,
  rendererHandler,
  senderInfo,
  windowOptions,
} from '../src/electron/security.ts';

const DESKTOP = fileURLToPath(new URL('..', import.meta.url));

describe('windowOptions', () => {
  for (const release of [true, false]) {
    it(`pins every hardening flag (release: ${release})`, () => {
      const o = windowOptions({ preload: '/app/preload.cjs', release });
      const wp = o.webPreferences ?? {};
      assert.equal(wp.preload, '/app/preload.cjs');
      assert.equal(wp.contextIsolation, true);
      assert.equal(wp.sandbox, true);
      assert.equal(wp.nodeIntegration, false);
      assert.equal(wp.nodeIntegrationInWorker, false);
      assert.equal(wp.nodeIntegrationInSubFrames, false);
      assert.equal(wp.webSecurity, true);
      assert.equal(wp.allowRunningInsecureContent, false);
      assert.equal(wp.experimentalFeatures, false);
      assert.equal(wp.webviewTag, false);
      assert.equal(wp.spellcheck, false);
      assert.equal(wp.navigateOnDragDrop, false);
      assert.equal(wp.safeDialogs, true);
      assert.equal(wp.devTools, !release, 'devtools only outside a release');
      assert.ok(!('enableBlinkFeatures' in wp), 'no Blink feature is switched on');
      assert.ok(!('additionalArguments' in wp));
      assert.equal(o.show, false, 'shown on ready-to-show');
      assert.equal(o.title, 'Tandem');
      assert.ok(typeof o.backgroundColor === 'string');
      assert.ok((o.minWidth ?? 0) > 0 && (o.minHeight ?? 0) > 0 && (o.width ?? 0) >= (o.minWidth ?? 0));
    });
  }
});

describe('the app scheme', () => {
  it('is app://tandem, standard and secure, and neither bypasses CSP nor opens CORS or service workers', () => {
    assert.equal(APP_SCHEME, 'app');
    assert.equal(APP_ORIGIN, 'app://tandem');
    assert.equal(APP_SCHEME_PRIVILEGES.standard, true);
    assert.equal(APP_SCHEME_PRIVILEGES.secure, true);
    assert.notEqual(APP_SCHEME_PRIVILEGES.bypassCSP, true);
    assert.notEqual(APP_SCHEME_PRIVILEGES.corsEnabled, true);
    assert.notEqual(APP_SCHEME_PRIVILEGES.allowServiceWorkers, true);
  });
});

describe('isAppUrl', () => {
  const yes = [
    'app://tandem',
    'app://tandem/',
    'app://tandem/index.html?x=1#/withdrawals',
    'APP://TANDEM/index.html',
    'app://Tandem/assets/a.js',
  ];
  const no = [
    'app://tandem@evil/', // userinfo: the host is evil
    'app://evil@tandem/', // userinfo refused outright
    'app://tandem\\@evil/',
    'app://tandem:443/', // another port is another origin
    'app://tandem./', // trailing dot
    'app://tandem.evil/',
    'app://evil/tandem',
    'app://tand%65m/',
    'app:tandem/index.html',
    'app:///tandem',
    'https://tandem/',
    'file:///tandem/index.html',
    'javascript:alert(1)',
    'data:text/html,hi',
    'about:blank',
    '',
    'not a url',
  ];
  for (const url of yes) it(`accepts ${url}`, () => assert.equal(isAppUrl(url, APP_ORIGIN), true));
  for (const url of no) it(`refuses ${JSON.stringify(url)}`, () => assert.equal(isAppUrl(url, APP_ORIGIN), false));

  it('compares the port of an http origin (the development shell)', () => {
    const dev = 'http://127.0.0.1:5173';
    assert.equal(isAppUrl('http://127.0.0.1:5173/index.html', dev), true);
    assert.equal(isAppUrl('http://127.0.0.1:5174/', dev), false);
    assert.equal(isAppUrl('http://127.0.0.1/', dev), false);
    assert.equal(isAppUrl('https://127.0.0.1:5173/', dev), false);
    assert.equal(isAppUrl('http://localhost:5173/', dev), false);
    assert.equal(isAppUrl('http://127.0.0.1:5173@evil.example/', dev), false);
    assert.equal(isAppUrl('http://127.0.0.1:5173.evil.example/', dev), false);
    assert.equal(isAppUrl('https://a.example:443/x', 'https://a.example'), true, 'the default port is no port');
  });

  it('never matches when the app origin itself has no origin', () => {
    assert.equal(isAppUrl('file:///a/index.html', 'file:///a'), false);
    assert.equal(isAppUrl('', ''), false);
    assert.equal(isAppUrl('app://tandem/', 'not an origin'), false);
  });
});

describe('isAllowedExternal', () => {
  const hosts = ['docs.tandem.example'];
  it('allows https on an allowlisted host only', () => {
    assert.equal(isAllowedExternal('https://docs.tandem.example/guide#x', hosts), true);
    assert.equal(isAllowedExternal('https://DOCS.tandem.example/', hosts), true);
    for (const url of [
      'http://docs.tandem.example/',
      'https://docs.tandem.example:8443/',
      'https://user@docs.tandem.example/',
      'https://docs.tandem.example.evil.example/',
      'https://evil.example/?docs.tandem.example',
      'mailto:it@tandem.example',
      'file:///etc/passwd',
      'app://tandem/',
      'javascript:alert(1)',
      'not a url',
    ]) {
      assert.equal(isAllowedExternal(url, hosts), false, url);
    }
  });
  it('allows nothing by default', () => {
    assert.deepEqual(EXTERNAL_HOSTS, []);
    assert.equal(isAllowedExternal('https://docs.tandem.example/'), false);
  });
});

// A stand-in for WebContents and its Session that records every handler hardenContents installs.
function fakeContents(opts: { devicePermissions?: boolean } = {}) {
  const listeners = new Map<string, Array<(...args: unknown[]) => void>>();
  const rec = {
    windowOpen: undefined as undefined | ((d: { url: string }) => { action: string }),
    permissionRequest: undefined as undefined | ((wc: unknown, p: string, cb: (granted: boolean) => void) => void),
    permissionCheck: undefined as undefined | ((wc: unknown, p: string) => boolean),
    devicePermission: undefined as undefined | ((d: unknown) => boolean),
    devtoolsClosed: 0,
  };
  const session = {
    setPermissionRequestHandler: (h: typeof rec.permissionRequest | null) =>
      void (rec.permissionRequest = h ?? undefined),
    setPermissionCheckHandler: (h: typeof rec.permissionCheck | null) => void (rec.permissionCheck = h ?? undefined),
    ...(opts.devicePermissions === false
      ? {}
      : {
          setDevicePermissionHandler: (h: typeof rec.devicePermission | null) =>
            void (rec.devicePermission = h ?? undefined),
        }),
  };
  const contents = {
    on(event: string, listener: (...args: never[]) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener as (...args: unknown[]) => void]);
      return contents;
    },
    setWindowOpenHandler: (h: typeof rec.windowOpen) => void (rec.windowOpen = h),
    closeDevTools: () => void rec.devtoolsClosed++,
    session,
  };
  const emit = (event: string, ...args: unknown[]) => {
    const ls = listeners.get(event) ?? [];
    assert.ok(ls.length > 0, `a listener for ${event}`);
    for (const l of ls) l(...args);
  };
  /** Emits a navigation-style event as Electron ≥ 25 does (URL on the event and as the deprecated argument). */
  const navigate = (event: string, url: string | undefined, asArgument = true): boolean => {
    let prevented = false;
    const e = { url, preventDefault: () => void (prevented = true) };
    if (asArgument) emit(event, e, url);
    else emit(event, { preventDefault: e.preventDefault }, url);
    return prevented;
  };
  return { contents: contents as ContentsLike, rec, emit, navigate };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('hardenContents', () => {
  const setup = (over: { release?: boolean; externalHosts?: readonly string[]; devicePermissions?: boolean } = {}) => {
    const f = fakeContents({ devicePermissions: over.devicePermissions ?? true });
    const opened: string[] = [];
    const gone: GoneDetails[] = [];
    hardenContents(f.contents, {
      appOrigin: APP_ORIGIN,
      release: over.release ?? true,
      openExternal: (url) => opened.push(url),
      ...(over.externalHosts ? { externalHosts: over.externalHosts } : {}),
      onRenderProcessGone: (d) => gone.push(d),
    });
    return { ...f, opened, gone };
  };

  const foreign = [
    'https://evil.example/',
    'app://tandem.evil/',
    'app://tandem@evil/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<b>hi</b>',
    'http://127.0.0.1:5173/',
  ];
  for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
    it(`${event}: leaving the app origin is prevented`, () => {
      const { navigate } = setup();
      for (const url of foreign) assert.equal(navigate(event, url), true, url);
    });
    it(`${event}: in-app navigation is allowed`, () => {
      const { navigate } = setup();
      assert.equal(navigate(event, 'app://tandem/index.html'), false);
      assert.equal(navigate(event, 'app://tandem/index.html#/withdrawals'), false);
    });
  }

  it('reads the URL from the event or the argument, and prevents when there is none', () => {
    const { navigate } = setup();
    assert.equal(navigate('will-navigate', 'https://evil.example/', false), true, 'from the argument');
    assert.equal(navigate('will-navigate', 'app://tandem/index.html', false), false);
    assert.equal(navigate('will-navigate', undefined), true, 'no URL at all');
  });

  it('denies every window.open, sending only allowlisted https links to the browser', async () => {
    const { rec, opened } = setup({ externalHosts: ['docs.tandem.example'] });
    assert.ok(rec.windowOpen);
    for (const url of [
      'https://docs.tandem.example/guide',
      'http://docs.tandem.example/guide',
      'https://evil.example/',
      'mailto:it@tandem.example',
      'app://tandem/index.html',
      'file:///etc/passwd',
    ]) {
      assert.deepEqual(rec.windowOpen({ url }), { action: 'deny' }, url);
    }
    await tick();
    assert.deepEqual(opened, ['https://docs.tandem.example/guide']);
  });

  it('opens nothing externally with the default (empty) allowlist, and survives a failing openExternal', async () => {
    const { rec, opened } = setup();
    assert.deepEqual(rec.windowOpen?.({ url: 'https://docs.tandem.example/' }), { action: 'deny' });
    await tick();
    assert.deepEqual(opened, []);

    const f = fakeContents();
    hardenContents(f.contents, {
      appOrigin: APP_ORIGIN,
      release: true,
      externalHosts: ['docs.tandem.example'],
      openExternal: () => Promise.reject(new Error('no browser')),
    });
    assert.deepEqual(f.rec.windowOpen?.({ url: 'https://docs.tandem.example/' }), { action: 'deny' });
    await tick();
  });

  it('prevents attaching a webview', () => {
    const { emit } = setup();
    let prevented = false;
    emit('will-attach-webview', { preventDefault: () => (prevented = true) }, {}, { src: 'https://evil.example' });
    assert.equal(prevented, true);
  });

  it('answers every permission request false and every permission check false', () => {
    const { rec } = setup();
    const permissions = [
      'media',
      'geolocation',
      'notifications',
      'clipboard-read',
      'clipboard-sanitized-write',
      'openExternal',
      'fullscreen',
      'pointerLock',
      'midiSysex',
      'display-capture',
      'hid',
      'serial',
      'usb',
      'fileSystem',
      'unknown',
    ];
    for (const p of permissions) {
      const answers: boolean[] = [];
      rec.permissionRequest?.(null, p, (granted) => answers.push(granted));
      assert.deepEqual(answers, [false], p);
      assert.equal(rec.permissionCheck?.(null, p), false, p);
    }
    assert.equal(rec.devicePermission?.({ deviceType: 'usb' }), false);
  });

  it('works with a session that has no device permission handler', () => {
    const { rec } = setup({ devicePermissions: false });
    assert.equal(rec.permissionCheck?.(null, 'media'), false);
  });

  it('closes devtools in a release, and leaves them in development', () => {
    const rel = setup({ release: true });
    rel.emit('devtools-opened');
    assert.equal(rel.rec.devtoolsClosed, 1);
    const dev = setup({ release: false });
    dev.emit('devtools-opened');
    assert.equal(dev.rec.devtoolsClosed, 0);
  });

  it('reports a renderer that went away', () => {
    const { emit, gone } = setup();
    emit('render-process-gone', {}, { reason: 'crashed', exitCode: 11 });
    assert.deepEqual(gone, [{ reason: 'crashed', exitCode: 11 }]);
  });
});

describe('senderInfo', () => {
  it('maps the top frame, a subframe and a destroyed frame', () => {
    const top = { url: 'app://tandem/index.html', parent: null };
    assert.deepEqual(senderInfo({ senderFrame: top }), { url: 'app://tandem/index.html', topFrame: true });
    assert.deepEqual(senderInfo({ senderFrame: { url: 'app://tandem/x.html', parent: top } }), {
      url: 'app://tandem/x.html',
      topFrame: false,
    });
    assert.deepEqual(senderInfo({ senderFrame: null }), { url: '', topFrame: false });
  });
  it('treats a frame that throws when read as no sender', () => {
    const dying = {
      get url(): string {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
      parent: null,
    };
    assert.deepEqual(senderInfo({ senderFrame: dying }), { url: '', topFrame: false });
  });
});

describe('CSP', () => {
  const directives = (csp: string) =>
    new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...sources]) => [name as string, sources]),
    );

  for (const [name, csp] of [
    ['renderer (development) CSP', CSP],
    ['packaged CSP', packagedCsp()],
  ] as const) {
    it(`${name} forbids inline and eval, and defaults to nothing`, () => {
      assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|'unsafe-hashes'|'wasm-unsafe-eval'/);
      const d = directives(csp);
      assert.deepEqual(d.get('default-src'), ["'none'"]);
      assert.deepEqual(d.get('object-src'), ["'none'"]);
      assert.deepEqual(d.get('base-uri'), ["'none'"]);
      assert.deepEqual(d.get('form-action'), ["'none'"]);
      assert.deepEqual(d.get('script-src'), ["'self'"]);
      // No wildcard or whole-scheme source; data: only for images.
      for (const [directive, sources] of d) {
        for (const s of sources) {
          assert.ok(!['*', 'http:', 'https:', 'ws:', 'wss:', 'blob:', 'filesystem:'].includes(s), `${directive} ${s}`);
          if (s === 'data:') assert.equal(directive, 'img-src');
        }
      }
    });
  }

  it('the packaged CSP drops only the development shell’s loopback WebSocket', () => {
    const packaged = packagedCsp();
    assert.doesNotMatch(packaged, /ws:|127\.0\.0\.1|localhost/);
    assert.deepEqual(directives(packaged).get('connect-src'), ["'self'"]);
    const dev = directives(CSP);
    const pkg = directives(packaged);
    for (const [name, sources] of dev) {
      if (name !== 'connect-src') assert.deepEqual(pkg.get(name), sources, name);
    }
    assert.equal(
      packagedCsp("default-src 'none'; connect-src ws://127.0.0.1:*"),
      "default-src 'none'; connect-src 'none'",
    );
  });

  it('cspHeaders adds the packaged CSP and keeps other headers and any existing policy', () => {
    const added = cspHeaders({ 'Content-Type': ['text/html'] });
    assert.deepEqual(added['Content-Type'], ['text/html']);
    assert.deepEqual(added['Content-Security-Policy'], [packagedCsp()]);
    assert.doesNotMatch(JSON.stringify(added), /ws:\/\/127/);

    const kept = cspHeaders({ 'content-security-policy': "default-src 'none'" });
    assert.deepEqual(kept['content-security-policy'], ["default-src 'none'", packagedCsp()]);
    assert.equal(Object.keys(kept).length, 1);
    assert.deepEqual(cspHeaders(undefined), { 'Content-Security-Policy': [packagedCsp()] });
  });
});

describe('serving the renderer', () => {
  const root0 = mkdtempSync(path.join(tmpdir(), 'tandem-renderer-'));
  const root = path.join(root0, 'renderer');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Tandem</title>');
  writeFileSync(path.join(root, 'assets', 'app.js'), 'export {};');
  writeFileSync(path.join(root, 'notes.sh'), 'echo hi');
  // A sibling whose name starts with the root's: a prefix check would let it through.
  mkdirSync(path.join(root0, 'renderer-secret'));
  writeFileSync(path.join(root0, 'renderer-secret', 'secret.txt'), 'secret');
  after(() => rmSync(root0, { recursive: true, force: true }));
  const handle = rendererHandler(root);
  const get = (url: string, method = 'GET') => handle({ url, method });

  it('serves index.html for / and assets with their type, nosniff and the packaged CSP', async () => {
    const index = await get('app://tandem/');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), packagedCsp());
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await index.text(), /Tandem/);
    const js = await get('app://tandem/assets/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const head = await get('app://tandem/index.html', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('refuses traversal, other origins, unknown files and types, and methods other than GET/HEAD', async () => {
    for (const url of [
      'app://tandem/..%2Frenderer-secret%2Fsecret.txt',
      'app://tandem/assets/..%2F..%2Frenderer-secret/secret.txt',
      'app://tandem/%2e%2e/renderer-secret/secret.txt',
      'app://tandem/..%5C..%5Crenderer-secret%5Csecret.txt',
      'app://tandem/index.html%00.js',
      'app://tandem/%E0%A4%A',
      'app://tandem/missing.js',
      'app://tandem/notes.sh',
      'app://tandem/assets',
      'app://evil/index.html',
      'app://tandem@evil/index.html',
      'file:///etc/passwd',
    ]) {
      const res = await get(url);
      assert.equal(res.status, 404, url);
      assert.equal(res.headers.get('content-security-policy'), packagedCsp(), url);
    }
    assert.equal((await get('app://tandem/index.html', 'POST')).status, 405);
  });

  it('rendererFile keeps every path inside the root', () => {
    assert.equal(rendererFile(root, 'app://tandem/'), path.join(root, 'index.html'));
    assert.equal(rendererFile(root, 'app://tandem/assets/app.js'), path.join(root, 'assets', 'app.js'));
    assert.equal(rendererFile(root, 'app://tandem/..%2Frenderer-secret%2Fsecret.txt'), null);
    assert.equal(rendererFile(root, 'app://tandem/..%2F..%2F..%2Fetc%2Fpasswd'), null);
    assert.equal(rendererFile(root, 'app://tandem/a%00b'), null);
    assert.equal(rendererFile(root, 'https://tandem/index.html'), null);
  });
});

describe('main.ts and preload.ts, as source', () => {
  const main = readFileSync(path.join(DESKTOP, 'src/electron/main.ts'), 'utf8');
  const preload = readFileSync(path.join(DESKTOP, 'src/electron/preload.ts'), 'utf8');

  it('preload exposes one object, window.tandem, with invoke and onEvent only, and never ipcRenderer itself', () => {
    assert.equal([...preload.matchAll(/exposeInMainWorld\(/g)].length, 1);
    assert.match(preload, /exposeInMainWorld\('tandem', bridge\)/);
    assert.doesNotMatch(preload, /exposeInMainWorld\([^)]*ipcRenderer/);
    const bridge = /const bridge: TandemBridge = \{([\s\S]*?)\n\};/.exec(preload)?.[1] ?? '';
    const members = [...bridge.matchAll(/^ {2}(\w+)[:(]/gm)].map((m) => m[1]);
    assert.deepEqual(members, ['invoke', 'onEvent']);
    // The page gets the payload, never the IpcRendererEvent (whose `sender` is ipcRenderer).
    assert.match(preload, /\(_event: IpcRendererEvent, e: UiEvent\) => listener\(e\)/);
    assert.match(preload, /removeListener\(EVENT_CHANNEL, handler\)/);
  });

  it('preload and main use the same channel names', () => {
    assert.ok(preload.includes(`const INVOKE_CHANNEL = '${IPC_INVOKE}';`));
    assert.ok(preload.includes(`const EVENT_CHANNEL = '${IPC_EVENT}';`));
    assert.match(main, /ipcMain\.handle\(IPC_INVOKE,/);
    assert.match(main, /webContents\.send\(IPC_EVENT, e\)/);
  });

  it('main wires the hardening in the order Electron needs', () => {
    const at = (s: string) => {
      const i = main.indexOf(s);
      assert.ok(i >= 0, s);
      return i;
    };
    assert.ok(at('registerSchemesAsPrivileged(') < at('whenReady()'), 'privileged before ready');
    assert.ok(at('requestSingleInstanceLock()') < at('whenReady()'));
    assert.ok(at("app.on('web-contents-created'") < at('new BrowserWindow('), 'hardened before any window');
    assert.match(main, /'web-contents-created', \(_event, contents\) =>\s*hardenContents\(contents,/);
    assert.match(main, /new BrowserWindow\(windowOptions\(\{ preload, release \}\)\)/);
    assert.match(main, /const release = app\.isPackaged;/);
    assert.match(main, /senderInfo\(event\)/);
    assert.match(main, /protocol\.handle\(APP_SCHEME, rendererHandler\(/);
    assert.match(main, /loadURL\(`\$\{APP_ORIGIN\}\/index\.html`\)/);
    assert.ok(main.split('\n').length <= 130, 'main.ts stays glue');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A scan of desktop's own code for what must never appear in it: Electronegativity's checks that apply to an app
// like ours (ids in brackets), plus the DOM sinks a React renderer must not use. Every rule carries samples that
// must trip it and near-misses that must not, so a broken regex fails here instead of passing silently.

interface Rule {
  id: string;
  pattern: RegExp;
  /** Files (path suffixes, '/'-separated) where the pattern is the point, e.g. the one place that opens links. */
  allowIn?: string[];
  bad: string[];
  good?: string[];
}

const RULES: Rule[] = [
  {
    id: 'NODE_INTEGRATION_JS_CHECK',
    pattern: /\bnodeIntegration(InWorker|InSubFrames)?\s*:\s*true\b/,
    bad: ['{ nodeIntegration: true }', 'nodeIntegrationInWorker:true', 'nodeIntegrationInSubFrames : true'],
    good: ['nodeIntegration: false'],
  },
  {
    id: 'NODE_INTEGRATION_ATTACH_EVENT_JS_CHECK',
    pattern: /\bwebPreferences\.nodeIntegration\w*\s*=[^=]/,
    bad: ['webPreferences.nodeIntegration = true'],
  },
  {
    id: 'NODE_INTEGRATION_HTML_CHECK / webview',
    pattern: /<webview\b|\bnodeintegration(insubframes)?\s*=|\bwebviewTag\s*:\s*true\b|\ballowpopups\b/i,
    bad: ['<webview src="x">', '<WebView nodeintegration="on">', 'webviewTag: true', 'allowpopups'],
    good: ['webviewTag: false'],
  },
  {
    id: 'CONTEXT_ISOLATION_JS_CHECK',
    pattern: /\bcontextIsolation\s*:\s*false\b/,
    bad: ['contextIsolation: false'],
    good: ['contextIsolation: true'],
  },
  {
    id: 'SANDBOX_JS_CHECK',
    pattern: /\bsandbox\s*:\s*false\b|no-sandbox/,
    bad: ['sandbox: false', "appendSwitch('no-sandbox')"],
    good: ['sandbox: true'],
  },
  {
    id: 'WEB_SECURITY_JS_CHECK',
    pattern: /\bwebSecurity\s*:\s*false\b|disablewebsecurity|disable-web-security/i,
    bad: ['webSecurity: false', '<webview disablewebsecurity>'],
    good: ['webSecurity: true'],
  },
  {
    id: 'INSECURE_CONTENT_JS_CHECK',
    pattern: /\ballowRunningInsecureContent\s*:\s*true\b|allow-running-insecure-content/,
    bad: ['allowRunningInsecureContent: true'],
    good: ['allowRunningInsecureContent: false'],
  },
  {
    id: 'REMOTE_MODULE_JS_CHECK',
    pattern: /\benableRemoteModule\b|@electron\/remote/,
    bad: ['enableRemoteModule: false', "import remote from '@electron/remote'"],
  },
  {
    id: 'BLINK_FEATURES_JS_CHECK / EXPERIMENTAL_FEATURES_JS_CHECK',
    pattern: /\benableBlinkFeatures\s*:|\bblinkFeatures\s*:|\bexperimentalFeatures\s*:\s*true\b/,
    bad: ["enableBlinkFeatures: 'X'", 'experimentalFeatures: true'],
    good: ['experimentalFeatures: false'],
  },
  {
    id: 'BYPASS_CSP (privileged scheme)',
    pattern: /\bbypassCSP\s*:\s*true\b/,
    bad: ['bypassCSP: true'],
  },
  {
    id: 'CERTIFICATE_ERROR_EVENT_JS_CHECK / CERTIFICATE_VERIFY_PROC_JS_CHECK',
    pattern: /['"]certificate-error['"]|\bsetCertificateVerifyProc\b|\bimportCertificate\b|ignore-certificate-errors/,
    bad: ["app.on('certificate-error', f)", 'ses.setCertificateVerifyProc(f)'],
  },
  {
    id: 'CUSTOM_ARGUMENTS_JS_CHECK',
    pattern: /\bappendSwitch\s*\(|\bappendArgument\s*\(|remote-debugging-port|--inspect/,
    bad: ["app.commandLine.appendSwitch('js-flags', '')", "appendArgument('x')"],
  },
  {
    id: 'SECURITY_WARNINGS_DISABLED_JS_CHECK',
    pattern: /ELECTRON_DISABLE_SECURITY_WARNINGS/,
    bad: ["process.env['ELECTRON_DISABLE_SECURITY_WARNINGS'] = 'true'"],
  },
  {
    id: 'PROTOCOL_HANDLER_JS_CHECK',
    pattern:
      /\bregister(File|Http|String|Buffer|Stream)Protocol\b|\bintercept\w*Protocol\b|\bsetAsDefaultProtocolClient\b/,
    bad: ["protocol.registerFileProtocol('app', f)", "app.setAsDefaultProtocolClient('tandem')"],
    good: ["protocol.handle('app', f)"],
  },
  {
    id: 'HTTP_RESOURCES_JS_CHECK',
    pattern: /\bloadURL\s*\(\s*[`'"]http:/i,
    bad: ["win.loadURL('http://example.com')"],
    good: ['win.loadURL(`${APP_ORIGIN}/index.html`)'],
  },
  {
    id: 'OPEN_EXTERNAL_JS_CHECK',
    pattern: /\bshell\s*\.\s*openExternal\b/,
    allowIn: ['src/electron/main.ts', 'src/electron/security.ts'],
    bad: ['shell.openExternal(url)'],
  },
  {
    id: 'PERMISSION_REQUEST_HANDLER_JS_CHECK',
    pattern: /\bsetPermission(Request|Check)Handler\b|\bsetDevicePermissionHandler\b|\bsetDisplayMediaRequestHandler\b/,
    allowIn: ['src/electron/security.ts'],
    bad: ['ses.setPermissionRequestHandler((wc, p, cb) => cb(true))'],
  },
  {
    id: 'LIMIT_NAVIGATION_JS_CHECK',
    pattern:
      /['"]will-(navigate|redirect|frame-navigate|attach-webview)['"]|\bsetWindowOpenHandler\b|['"]new-window['"]/,
    allowIn: ['src/electron/security.ts'],
    bad: ["contents.on('will-navigate', f)", 'contents.setWindowOpenHandler(f)'],
  },
  {
    id: 'WINDOW_WITHOUT_windowOptions (CONTEXT_ISOLATION/NODE_INTEGRATION/SANDBOX at the source)',
    pattern: /\bnew\s+(BrowserWindow|BrowserView|WebContentsView)\s*\((?!\s*windowOptions\()/,
    bad: ['new BrowserWindow({ width: 10 })', 'new WebContentsView()'],
    good: ['new BrowserWindow(windowOptions({ preload, release }))'],
  },
  {
    id: 'PRELOAD bridge only in preload.ts',
    pattern: /\bexposeInMainWorld\b|\bipcRenderer\b/,
    allowIn: ['src/electron/preload.ts'],
    bad: ["contextBridge.exposeInMainWorld('x', ipcRenderer)"],
  },
  {
    id: 'DANGEROUS_FUNCTIONS_JS_CHECK',
    pattern: /\beval\s*\(|\bnew\s+Function\s*\(|\bexecuteJavaScript\w*\s*\(|\binsertCSS\s*\(/,
    bad: ['eval(code)', 'window.eval(x)', "new Function('return 1')", 'wc.executeJavaScript(s)', 'wc.insertCSS(s)'],
    good: ['new Worker(boot, { eval: true })', 'retrieval(x)', 'evaluate(x)'],
  },
  {
    id: 'DOM sinks (XSS)',
    pattern:
      /\bdangerouslySetInnerHTML\b|\binsertAdjacentHTML\b|\.(inner|outer)HTML\s*\+?=(?!=)|\bdocument\.write(ln)?\s*\(/,
    bad: [
      '<div dangerouslySetInnerHTML={x} />',
      'el.insertAdjacentHTML("x", y)',
      'el.innerHTML = s',
      'el.outerHTML += s',
    ],
    good: ['el.textContent = s', 'if (el.innerHTML === s) {}'],
  },
  {
    id: 'CSP weakening',
    pattern: /'unsafe-(inline|eval|hashes)'|'wasm-unsafe-eval'/,
    bad: ["script-src 'self' 'unsafe-inline'"],
  },
];

const SCANNED = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs|html)$/;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => SCANNED.test(f) && !f.split(path.sep).includes('node_modules'))
    .map((f) => path.join(dir, f));
}

interface Finding {
  rule: string;
  file: string;
  line: number;
  text: string;
}

function scan(root: string): Finding[] {
  const files = [
    ...filesUnder(path.join(root, 'src')),
    ...filesUnder(path.join(root, 'renderer', 'src')),
    ...[path.join(root, 'renderer', 'index.html')].filter((f) => existsSync(f)),
  ];
  const findings: Finding[] = [];
  for (const file of files) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const rule of RULES) {
      if (rule.allowIn?.some((a) => rel.endsWith(a))) continue;
      lines.forEach((text, i) => {
        if (rule.pattern.test(text)) findings.push({ rule: rule.id, file: rel, line: i + 1, text: text.trim() });
      });
    }
  }
  return findings;
}

describe('dangerous-pattern scan', () => {
  it("finds none in desktop's main, preload, worker and renderer code", () => {
    const findings = scan(DESKTOP);
    assert.deepEqual(
      findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.text}`),
      [],
    );
    // The scan really looked at the shell (a wrong root would make it pass vacuously).
    assert.ok(filesUnder(path.join(DESKTOP, 'src')).some((f) => f.endsWith(path.join('electron', 'main.ts'))));
  });

  it('every rule trips on its samples and not on its near-misses', () => {
    for (const rule of RULES) {
      for (const s of rule.bad) assert.match(s, rule.pattern, `${rule.id} should match ${s}`);
      for (const s of rule.good ?? []) assert.doesNotMatch(s, rule.pattern, `${rule.id} should not match ${s}`);
    }
  });

  it('negative control: finds patterns planted in a temporary tree, and honours allowIn', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tandem-scan-'));
    try {
      mkdirSync(path.join(root, 'src', 'electron'), { recursive: true });
      mkdirSync(path.join(root, 'renderer', 'src', 'screens'), { recursive: true });
      writeFileSync(
        path.join(root, 'src', 'electron', 'rogue.ts'),
        [
          'const w = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false } });',
          'shell.openExternal(url);',
        ].join('\n'),
      );
      writeFileSync(path.join(root, 'src', 'electron', 'main.ts'), 'shell.openExternal(url);\n');
      writeFileSync(
        path.join(root, 'renderer', 'src', 'screens', 'Evil.tsx'),
        'export const Evil = (p: { html: string }) => <div dangerouslySetInnerHTML={{ __html: p.html }} />;\n',
      );
      writeFileSync(path.join(root, 'renderer', 'index.html'), '<webview src="https://evil.example"></webview>\n');
      const found = scan(root).map((f) => `${f.file}:${f.line} ${f.rule}`);
      assert.deepEqual(found.sort(), [
        'renderer/index.html:1 NODE_INTEGRATION_HTML_CHECK / webview',
        'renderer/src/screens/Evil.tsx:1 DOM sinks (XSS)',
        'src/electron/rogue.ts:1 CONTEXT_ISOLATION_JS_CHECK',
        'src/electron/rogue.ts:1 NODE_INTEGRATION_JS_CHECK',
        'src/electron/rogue.ts:1 WINDOW_WITHOUT_windowOptions (CONTEXT_ISOLATION/NODE_INTEGRATION/SANDBOX at the source)',
        'src/electron/rogue.ts:2 OPEN_EXTERNAL_JS_CHECK',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
