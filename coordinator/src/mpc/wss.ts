// The WSS endpoint (/api/v1/mpc) on the coordinator's HTTPS server. An upgrade needs a valid
// bearer token (401 otherwise) and, when the client sends an Origin, an allowed one (403); each
// message re-checks the token, so a revoked or expired token stops working at once, and a
// revocation closes its sockets. Frames are size-capped and parsed strictly; every failure
// becomes an {"type":"error"} frame with a stable code, and the socket stays usable.

import { type IncomingMessage, type Server } from 'node:http';
import { type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser, userFromToken } from '../auth/guard.ts';
import { authEvents } from '../auth/events.ts';
import { type Connection, type EventHub } from '../events/hub.ts';
import { SignerCallError } from '../signer/signerClient.ts';
import { MAX_FRAME_BYTES, type MpcMessage, parseMpcMessage } from './messages.ts';
import { type DkgRelay } from './dkgRelay.ts';

export const MPC_PATH = '/api/v1/mpc';

export interface MpcHandlers {
  dkg: DkgRelay;
  sign?: {
    start(socket: WebSocket, user: AuthenticatedUser, m: Extract<MpcMessage, { type: 'sign_start' }>): Promise<object>;
    round(socket: WebSocket, user: AuthenticatedUser, m: Extract<MpcMessage, { type: 'sign_round' }>): Promise<object>;
  };
  onSocketClosed(socket: WebSocket): void;
}

function refuse(socket: Duplex, status: number, text: string, code: string): void {
  const body = JSON.stringify({ error: { code, message: text } });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Any failure as an error frame: our codes pass through, the signer's keep theirs, the rest is INTERNAL. */
function errorFrame(ctx: CoordinatorContext, e: unknown, id: string | undefined, sessionId?: string): string {
  let code: string;
  let message: string;
  if (e instanceof ApiError) [code, message] = [e.code, e.message];
  else if (e instanceof SignerCallError) {
    ctx.log.warn({ code: e.code, grpcStatus: e.grpcStatus, reason: e.message }, 'signer call failed');
    [code, message] =
      e.code === 'SIGNER_UNAVAILABLE' || e.code === 'SIGNER_TIMEOUT'
        ? ['SIGNER_UNAVAILABLE', 'the bank signer is unreachable; try again shortly']
        : [e.code, `the bank signer refused: ${e.message}`];
  } else {
    ctx.log.error({ err: e }, 'internal error in the MPC endpoint');
    [code, message] = ['INTERNAL', 'internal error'];
  }
  ctx.metrics.inc('coordinator_mpc_errors_total', 'MPC messages refused or failed', { code });
  return JSON.stringify({ type: 'error', ...(id ? { id } : {}), ...(sessionId ? { sessionId } : {}), code, message });
}

export function attachMpcEndpoint(ctx: CoordinatorContext, server: Server, hub: EventHub, handlers: MpcHandlers) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const allowed = new Set(ctx.config.allowedOrigins);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://coordinator');
    if (url.pathname !== MPC_PATH) return refuse(socket, 404, 'Not Found', 'NOT_FOUND');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(origin)) return refuse(socket, 403, 'Forbidden', 'ORIGIN_NOT_ALLOWED');
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) return refuse(socket, 401, 'Unauthorized', 'UNAUTHENTICATED');
    const token = m[1]!;
    // The token check reads the database, so the socket waits for it. The HTTP server stopped
    // listening for the socket's errors when it handed it over, and ws listens only once it has
    // it: until then a client that resets the connection must not become an unhandled 'error'.
    const onEarlyError = () => socket.destroy();
    socket.on('error', onEarlyError);
    void (async () => {
      let user: AuthenticatedUser;
      try {
        user = await userFromToken(ctx, token);
      } catch (e) {
        if (!(e instanceof ApiError)) ctx.log.warn({ err: e }, 'the WSS upgrade could not check its token');
        if (!socket.destroyed) refuse(socket, 401, 'Unauthorized', e instanceof ApiError ? e.code : 'UNAUTHENTICATED');
        return;
      }
      socket.off('error', onEarlyError);
      if (socket.destroyed) return; // the client left while the token was checked
      wss.handleUpgrade(req, socket, head, (ws) => connected(ws, user, token));
    })().catch((err: unknown) => {
      ctx.log.error({ err }, 'the WSS upgrade failed');
      socket.destroy();
    });
  };

  let closed = false;
  const connected = (ws: WebSocket, first: AuthenticatedUser, token: string) => {
    const conn: Connection = { socket: ws, userId: first.id, tokenHash: first.tokenHash };
    hub.add(conn);
    ctx.metrics.inc('coordinator_wss_connections_total', 'WSS connections opened');
    // A revocation announced while the upgrade waited for its token check found no socket to
    // close: checked once more now that the hub holds it, so a revoked token never stays connected.
    void userFromToken(ctx, token).catch((e: unknown) => {
      if (e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.code === 'TOKEN_EXPIRED'))
        ws.close(4401, 'token no longer valid');
      else if (!closed) ctx.log.warn({ err: e }, 'the WSS connection could not re-check its token');
    });
    ws.on('message', (data, isBinary) => {
      if (closed) return; // shutting down: the database may already be gone
      void (async () => {
        let id: string | undefined;
        let sessionId: string | undefined;
        try {
          if (isBinary) throw new ApiError('BAD_REQUEST', 'send JSON text frames');
          const user = await userFromToken(ctx, token); // revoked or expired since the upgrade?
          const msg = parseMpcMessage(data.toString('utf8'));
          id = msg.id;
          sessionId = 'sessionId' in msg ? msg.sessionId : undefined;
          let reply: object;
          switch (msg.type) {
            case 'dkg_start':
              reply = await handlers.dkg.start(ws, user, msg);
              break;
            case 'dkg_round':
              reply = await handlers.dkg.round(ws, user, msg);
              break;
            case 'sign_start':
            case 'sign_round':
              if (!handlers.sign) throw new ApiError('BAD_REQUEST', 'signing is not available on this coordinator');
              reply =
                msg.type === 'sign_start'
                  ? await handlers.sign.start(ws, user, msg)
                  : await handlers.sign.round(ws, user, msg);
              break;
          }
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(id ? { ...reply, id } : reply));
        } catch (e) {
          if (e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.code === 'TOKEN_EXPIRED')) {
            ws.close(4401, 'token no longer valid');
            return;
          }
          if (ws.readyState === ws.OPEN) ws.send(errorFrame(ctx, e, id, sessionId));
        }
      })().catch((err: unknown) => ctx.log.error({ err }, 'an MPC message could not be answered'));
    });
    ws.on('close', () => {
      hub.remove(conn);
      if (!closed) handlers.onSocketClosed(ws);
    });
    ws.on('error', (err) => ctx.log.warn({ err: err.message }, 'websocket error'));
  };

  const onRevoked = ({ userId, tokenHashes }: { userId: string; tokenHashes: string[] }) =>
    hub.closeTokens(userId, tokenHashes);
  authEvents(ctx).on('tokensRevoked', onRevoked);
  server.on('upgrade', onUpgrade);

  return {
    close() {
      closed = true;
      server.off('upgrade', onUpgrade);
      authEvents(ctx).off('tokensRevoked', onRevoked);
      for (const c of wss.clients) c.close(1001, 'coordinator shutting down');
      wss.close();
    },
  };
}
