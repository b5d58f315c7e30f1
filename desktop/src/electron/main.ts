// The Electron main process, as glue only: every trust decision (window flags, navigation, permissions, CSP, file
// serving, who sent an IPC call) lives in security.ts and every behaviour in app.ts, both tested without Electron.
// This file only hands them to Electron, in the order Electron needs.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Notification, protocol, session, shell, utilityProcess } from 'electron';
import { utilityWorker } from './utilityWorker.ts';
import { type DesktopApp, createDesktopApp } from '../main/app.ts';
import { type UiEventSink, type UpdateService, startUpdates } from '../main/updateService.ts';
import {
  APP_ORIGIN,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  IPC_EVENT,
  IPC_INVOKE,
  cspHeaders,
  hardenContents,
  rendererHandler,
  senderInfo,
  windowOptions,
} from './security.ts';

const release = app.isPackaged;
// All built by the packager under dist/; getAppPath() is desktop/ from source and the asar root when packaged. The
// worker is passed explicitly because its default (p2Worker.ts beside client.ts) does not exist in a bundle.
const built = (...parts: string[]) => path.join(app.getAppPath(), 'dist', ...parts);
const rendererDir = built('renderer');
const preload = built('electron', 'preload.cjs');
const workerUrl = pathToFileURL(built('worker', 'p2Worker.js'));

// Before 'ready', and in a single call (a second call replaces the first): app:// must be privileged before any page.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);
// Every renderer sandboxed, whatever options created it.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // A second copy would share the profile (vault, device key) with the first: the first one is focused instead.
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  let desktop: DesktopApp | null = null;
  let updates: UpdateService | null = null;
  let closing: Promise<void> | null = null;
  let closed = false;

  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  // Registered before any window exists, so no web contents (devtools included) ever runs unhardened.
  app.on('web-contents-created', (_event, contents) =>
    hardenContents(contents, {
      appOrigin: APP_ORIGIN,
      release,
      openExternal: (url) => shell.openExternal(url),
      onRenderProcessGone: (d) => console.error(`Tandem: the window's renderer stopped (${d.reason}, ${d.exitCode})`),
    }),
  );

  // One window: closing it ends the app everywhere (macOS too), so no session outlives what the user sees.
  app.on('window-all-closed', () => app.quit());

  // Quitting first waits for desktop.close() (its timers and coordinator socket), then quits for real.
  app.on('before-quit', (event) => {
    if (closed || !desktop) return;
    event.preventDefault();
    closing ??= desktop
      .close()
      // Last, with the session closed: the update installer the user chose, if still intact, goes to the OS.
      .then(() => updates?.close())
      .catch((e: unknown) => console.error('Tandem: closing failed', e))
      .finally(() => {
        closed = true;
        app.quit();
      });
  });

  app
    .whenReady()
    .then(async () => {
      protocol.handle(APP_SCHEME, rendererHandler(rendererDir));
      // Nothing should load over http(s); should anything, it gets the same policy.
      session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
        callback({ responseHeaders: cspHeaders(details.responseHeaders) }),
      );

      // Development and QA runs (never a packaged app) may point each instance at its own profile.
      const profileDir = (!release && process.env['TANDEM_PROFILE_DIR']) || app.getPath('userData');
      const d = await createDesktopApp({
        profileDir,
        appOrigin: APP_ORIGIN,
        workerUrl,
        // One OS process per key job, as the packaged app runs it.
        spawnWorker: utilityWorker((modulePath, args, options) => utilityProcess.fork(modulePath, args, options)),
        notify: (title: string, body: string) => {
          if (Notification.isSupported()) new Notification({ title, body }).show();
        },
      });
      desktop = d;
      // dispatch validates the channel and request and refuses any sender but the app's own top frame.
      ipcMain.handle(IPC_INVOKE, (event, channel: unknown, request: unknown) =>
        d.dispatch(channel, request, senderInfo(event)),
      );
      const send: UiEventSink = (e) => win?.isDestroyed() === false && win.webContents.send(IPC_EVENT, e);
      d.onEvent(send);
      updates = startUpdates({
        profileDir,
        currentVersion: app.getVersion(),
        emit: send,
        ask: (q) => dialog.showMessageBox(q).then((r) => r.response === 0),
        openInstaller: (file) => shell.openPath(file),
        quit: () => app.quit(),
      });

      win = new BrowserWindow(windowOptions({ preload, release }));
      win.once('ready-to-show', () => win?.show());
      win.on('closed', () => {
        win = null;
      });
      await win.loadURL(`${APP_ORIGIN}/index.html`);
    })
    .catch((e: unknown) => {
      dialog.showErrorBox('Tandem could not start', e instanceof Error ? e.message : String(e));
      app.exit(1);
    });
}
