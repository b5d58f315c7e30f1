// The development shell: the built renderer served on 127.0.0.1 to any browser, and the same channel table as the
// Electron shell over a local WebSocket. Used where no Electron binary exists (this machine, CI) and by the Playwright
// specs.
//
// Who may call: the WebSocket upgrade must carry this launch's random secret (as the subprotocol 'k.<secret>', so it
// never sits in a URL the server logs or a Referer) and come from this server's own origin; anything else is refused
// before a socket exists. The page gets the secret from the URL fragment the shell prints, which browsers never send
// to a server. Every call then goes through dispatch with the server's own origin as the sender, exactly as Electron's
// IPC does with the window's.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type DesktopApp } from './app.ts';

export interface DevShellOptions {
  /** The built renderer (desktop/dist/renderer). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Makes the app once the origin is known. */
  createApp: (appOrigin: string) => Promise<DesktopApp>;
  /** The CSP the renderer's index.html declares; the shell sends it as a header too, with its own ws:// origin. */
  csp?: string;
}

export interface DevShell {
  /** Open this in a browser: it carries the launch secret in its fragment. */
  url: string;
  origin: string;
  app: DesktopApp;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const MAX_FRAME_BYTES = 2 * 1024 * 1024;

export async function startDevShell(opts: DevShellOptions): Promise<DevShell> {
  const root = resolve(opts.rendererDir);
  const secret = randomBytes(24).toString('base64url');
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  let app: DesktopApp | undefined;
  let origin = '';

  const server = createServer((req, res) => void serveFile(req, res));
  async function serveFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string> = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
    };
    if (opts.csp) headers['content-security-policy'] = opts.csp;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    const file = resolve(join(root, path === '/' ? 'index.html' : path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(404, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, headers).end();
    }
  }

  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', origin).pathname !== '/ipc') return refuse(socket, 404, 'Not Found');
    if (req.headers.origin !== origin) return refuse(socket, 403, 'Forbidden');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const key = offered.find((p) => p.startsWith('k.'))?.slice(2) ?? '';
    const want = Buffer.from(secret);
    const got = Buffer.from(key);
    if (!offered.includes('tandem-ipc') || got.length !== want.length || !timingSafeEqual(got, want))
      return refuse(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => connected(ws));
  });
  // The server must name one of the offered subprotocols: never the secret.
  wss.options.handleProtocols = () => 'tandem-ipc';

  function connected(ws: WebSocket): void {
    const off = app!.onEvent((event) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event }));
    });
    ws.on('close', off);
    ws.on('message', (data, isBinary) => {
      let msg: { id?: unknown; channel?: unknown; request?: unknown };
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(data.toString()) as typeof msg;
        if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'number') throw new Error('shape');
      } catch {
        ws.close(1003, 'not a call');
        return;
      }
      const id = msg.id;
      void app!.dispatch(msg.channel, msg.request, { url: origin, topFrame: true }).then((reply) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, reply }));
      });
    });
  }

  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as { port: number }).port;
  origin = `http://127.0.0.1:${port}`;
  if (opts.csp) opts.csp = opts.csp.replace('ws://127.0.0.1:*', `ws://127.0.0.1:${port}`);
  try {
    app = await opts.createApp(origin);
  } catch (e) {
    server.close();
    throw e;
  }
  const theApp = app;

  return {
    url: `${origin}/#k=${secret}`,
    origin,
    app: theApp,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await theApp.close();
    },
  };
}
