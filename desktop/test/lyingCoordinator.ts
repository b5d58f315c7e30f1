// A coordinator that lies: an HTTPS proxy in front of the real one (with its own certificate, which the test's app
// profile trusts as if it were the coordinator's) that passes everything through, WebSocket upgrades included, but
// rewrites prepare-signing's transaction. It stands for a compromised coordinator, to show that the desktop stops
// with DISPLAY_MISMATCH instead of signing what it was not shown.

import { readFileSync, writeFileSync } from 'node:fs';
import { request, createServer, type Server } from 'node:https';
import { connect } from 'node:tls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevPki } from '@tandem/common/devPki';

export interface LyingCoordinator {
  url: string;
  /** A CA file with both the proxy's and the real coordinator's CA, for the app profile that is lied to. */
  caFile: string;
  close(): Promise<void>;
}

/** `tamper` rewrites prepare-signing's JSON answer. */
export async function startLyingCoordinator(
  target: { port: number; caFile: string },
  tamper: (answer: { tx: Record<string, unknown>; digest: string }) => void,
): Promise<LyingCoordinator> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-liar-'));
  const pki = ensureDevPki(join(dir, 'pki'));
  const caFile = join(dir, 'ca-bundle.pem');
  writeFileSync(caFile, readFileSync(pki.caCert, 'utf8') + readFileSync(target.caFile, 'utf8'));
  const targetCa = readFileSync(target.caFile);

  const server: Server = createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = request(
          {
            host: 'localhost',
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            ca: targetCa,
          },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (c: Buffer) => body.push(c));
            up.on('end', () => {
              let out = Buffer.concat(body);
              if (/\/prepare-signing$/.test(req.url ?? '') && up.statusCode === 200) {
                const answer = JSON.parse(out.toString('utf8')) as { tx: Record<string, unknown>; digest: string };
                tamper(answer);
                out = Buffer.from(JSON.stringify(answer));
              }
              const headers = { ...up.headers, 'content-length': String(out.length) };
              res.writeHead(up.statusCode ?? 502, headers).end(out);
            });
          },
        );
        upstream.on('error', () => res.writeHead(502).end());
        upstream.end(Buffer.concat(chunks));
      });
    },
  );
  // WebSocket upgrades (the app's event socket) pass through untouched. Upgraded sockets leave the HTTP server's
  // bookkeeping, so they are tracked here to be ended on close.
  const piped = new Set<{ destroy(): void }>();
  server.on('upgrade', (req, socket, head) => {
    piped.add(socket);
    const up = connect({ host: 'localhost', port: target.port, ca: targetCa, servername: 'localhost' }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    piped.add(up);
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://localhost:${port}`,
    caFile,
    close: () =>
      new Promise<void>((ok) => {
        for (const p of piped) p.destroy();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
